// Package bench holds phonestart's benchmarks: pipeline throughput against
// raw asynq on the same Redis, API calls against their floor, and the memory
// of a worker holding 10,000 phones. Each is a `go test -bench` function
// that prints its figures and never fails on a time; BENCHMARKS.md at the
// repository root gives the commands and the figures measured.
//
// They run on the embedded Redis, or on a real one with REDIS_URL set (each
// run claims an empty database of that server and empties it after).
package bench
