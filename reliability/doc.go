// Package reliability holds phonestart's reliability suite: tests that run
// the real phonestart binary against Redis and the fake GeeLark API, break
// something on purpose (a worker killed mid-call, Redis restarted mid-run,
// API calls that fail or lie, SIGTERM with calls in flight, bad input), and
// then check the final state of every phone: started (its task completed)
// or dead (archived), none lost.
//
// The tests run with `go test ./...` on the embedded Redis, or on a real one
// with REDIS_URL set; a case that needs a tool the machine lacks (the Redis
// restart needs redis-server) skips and says why.
package reliability
