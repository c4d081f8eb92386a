// Package schedule fires named, cron-timed bulk start-ups: at each tick of
// a schedule it selects phones (an ID list, a file of IDs, or a GeeLark
// group/tag/remark/serial selection resolved at run time) and enqueues them.
//
// # Each tick fires once, even with failures
//
// Any number of schedulers (Runners, in one process or many) can run on one
// Redis. Each tick of each schedule fires at least once and at most once:
//
//   - A scheduler about to fire a tick claims it first: the tick's guard key
//     (Runner.GuardKey, in the deployment's namespace) holds a claim with a
//     short lease (Lease), renewed while the scheduler selects and enqueues.
//     Once the enqueue succeeded, the claim becomes a done mark, kept
//     GuardTTL.
//   - A scheduler finding a live claim leaves the tick to its holder and
//     looks again when the lease ends; finding an expired claim (its holder
//     was killed, or lost Redis), it takes the tick over; finding the done
//     mark, it does nothing.
//   - A tick whose selection or enqueue fails (a list call or the list
//     budget failing, a Redis error) is retried by any running scheduler
//     with capped, jittered exponential backoff (RetryMin up to RetryMax)
//     until it fires or its catch-up window (Schedule.CatchUp, default
//     DefaultCatchUp after the planned time) has passed. Every failed
//     attempt is logged with the time of the next one; a tick given up is
//     logged too.
//   - A scheduler starting fires the latest tick of each schedule whose
//     catch-up window is still open, unless it already fired: ticks missed
//     while no scheduler ran are made up once, not one by one.
//   - A newer tick of a schedule replaces an older one still being retried:
//     both would start the same phones.
//
// The guard names a tick by its wall time in the schedule's zone, so that the
// hour that repeats when clocks go back fires once, not twice.
//
// One window remains: a scheduler that dies (or loses Redis) after its
// enqueue succeeded but before it wrote the done mark leaves an expired
// claim, and another scheduler fires the tick again. The phones still
// pending, scheduled, retrying or being started from the first fire are then
// reported as duplicates by enqueue, not enqueued twice; only a phone whose
// start already finished in between is enqueued (and started) again. The
// same holds for a holder stalled longer than Lease: the scheduler that took
// over may enqueue too.
//
// Leases are judged by the schedulers' clocks (Config.Now): schedulers whose
// clocks disagree by more than Lease may take a tick over from a live holder,
// with the outcome above.
package schedule
