// Package fleet owns phonestart's own state in Redis: everything that the
// workers, schedulers, the CLI and the admin server of one deployment share
// besides asynq's queue. That is the API budget of each GeeLark endpoint,
// the fleet-wide pause, worker heartbeats, the dead-letter ledger, the
// phones whose last start call ended without an answer, the events stream
// and each phone's state, the booting phones and when the fleet's phones
// are usually up (Checks), the stopping phones, and fleet time.
//
// Every key phonestart writes outside asynq's is named here, under the
// prefix "phonestart:". Fleet time is Redis's clock (TIME), so that a worker
// whose own clock is off neither overspends the budget nor ends a pause
// early.
//
// Types in this package are safe for simultaneous use by multiple
// goroutines, and by any number of processes sharing the Redis.
package fleet
