// Package reliability holds phonestart's reliability suite: tests that run
// the real phonestart binary against Redis and the fake GeeLark API, break
// something on purpose (a worker killed mid-call, Redis restarted mid-run,
// API calls that fail or lie, SIGTERM with calls in flight, bad input), and
// then check the final state of every phone: started (its task completed)
// or dead (archived), none lost.
//
// Every test file builds only with the build tag reliability: without it,
// as in a plain `go test ./...` or `go vet ./...`, this file alone builds
// and the package is empty. The suite builds the binary and takes 70 to
// 90 s, mostly waiting out asynq's recovery of a killed worker's tasks, so
// it runs on request:
//
//	go test -tags reliability ./reliability
//	REDIS_URL=redis://127.0.0.1:6379/0 go test -tags reliability ./reliability
//
// It runs on the embedded Redis, or on a real one with REDIS_URL set; a
// case that needs a tool the machine lacks (the Redis restart and the
// Sentinel failover need redis-server) skips and says why. .ci/run runs it
// once, on the real redis-server it starts.
package reliability
