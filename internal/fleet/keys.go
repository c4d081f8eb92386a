package fleet

import "strconv"

// Prefix starts every Redis key phonestart owns (asynq's keys start with
// "asynq:").
const Prefix = "phonestart:"

// Redis keys of the fleet-wide pause. Every worker obeys them before it
// calls the API.
const (
	// PauseKey holds the active pause: code, msg, until and since (Unix
	// ms), by (who set it).
	PauseKey = Prefix + "pause"
	// BlockedKey holds the account-wide error streak: code, msg and since,
	// from the first account-wide error until a phone starts again.
	BlockedKey = Prefix + "blocked"
	// liftedKey records the last pause a person lifted.
	liftedKey = Prefix + "pause:lifted"
)

// budgetKey names the Redis keys of one endpoint's budget:
// phonestart:budget:<endpoint>:<what>.
func budgetKey(endpoint, what string) string { return Prefix + "budget:" + endpoint + ":" + what }

// callsKey counts the calls granted to endpoint in one calendar minute.
func callsKey(endpoint string, unixMinute int64) string {
	return budgetKey(endpoint, "calls:"+strconv.FormatInt(unixMinute, 10))
}

// Keys of the dead-letter ledger: a hash of entries by phone ID, a sorted
// set of the IDs (all scored 0, so ordered by ID, for paging) and one by
// failure time (for retention and newest-first views).
const (
	deadKey     = Prefix + "dead"
	deadIDsKey  = Prefix + "dead:ids"
	deadTimeKey = Prefix + "dead:time"
)

// Endpoint names of the budgets: GeeLark meters each endpoint on its own.
const (
	EndpointStart  = "start"
	EndpointList   = "list"
	EndpointStatus = "status"
	EndpointStop   = "stop"
)
