package fleet

import (
	"context"
	"math"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/geelark"
)

// Pacing of the status checks of booting phones. A status call checks up
// to 100 phones, and the status endpoint has its own budget: a check of a
// phone that is still booting spends a share of a call and confirms
// nothing. So the fleet learns the age at which its phones are usually up
// (the first check, kept in Redis for every worker) and checks no phone
// younger than that:
//
//   - It starts at the poll: a fresh fleet checks a phone a poll after its
//     start, as the poll says.
//   - A call with at least 10 phones at their first check, most of them
//     (more than half) still Starting, moves it at once to a poll past the
//     oldest of those: the phones of that age were not up, and younger
//     ones are less likely to be. A burst of phones on a fresh fleet spends
//     one call a poll finding their boot time this way, not a call per
//     phone and poll. When an earlier call of 10 or more found most up at
//     their first check, all of them younger than some age between the
//     two, it moves only to that age.
//   - Over each poll, the phones confirmed at their first check (when it
//     came within a poll of the first check in force) and those that
//     needed a later one (their first check came no sooner than the first
//     check in force at this call) are counted. When more than one in ten needed a
//     later check, the first check moves up by that share (less the one in
//     ten) of a poll; otherwise, if any was confirmed, it comes 2% sooner. So it settles where
//     about nine phones in ten are up at their first check, and follows a
//     fleet that boots faster again.
//   - It stays between the poll and Checks.Max (or the poll, if longer).
//
// A phone still Starting at its first check is checked again no sooner
// than a poll after the first check in force, and a poll after its last
// check.
//
// Only phones that came up count toward the slow moves: a phone that never
// leaves Starting (or falls back) does not hold the others back. Only the
// majority rule counts phones still Starting, once each, at their first
// check: phones that stick make the first check later only when they are
// most of the phones being started.

// Checks is how the status checks of booting phones are paced.
type Checks struct {
	// Poll is the least time from a phone's start to its first check, and
	// the time between two checks of a phone.
	Poll time.Duration
	// Max is the latest the first check can learn to come after a start;
	// at least Poll. 0: no limit.
	Max time.Duration
}

// bounds returns Poll and Max in ms, Max at least Poll.
func (c Checks) bounds() (int64, int64) {
	lo := max(c.Poll.Milliseconds(), 1)
	if c.Max == 0 {
		return lo, math.MaxInt64 / 2
	}
	return lo, max(c.Max.Milliseconds(), lo)
}

// Observed is what one status call learned about the boot time.
type Observed struct {
	// First is the phones at their first check that GeeLark reported
	// Started or Starting; FirstReady those of them Started.
	First, FirstReady int
	// FirstOldest is the age (time since its start) of the oldest phone
	// still Starting at its first check.
	FirstOldest time.Duration
	// FirstMaxAge is the age of the oldest phone at its first check,
	// Started or Starting.
	FirstMaxAge time.Duration
	// OnTime is the phones Started at a first check that came within a
	// poll of the first check in force: a phone first checked later (the
	// status budget held it back) says nothing of whether its check could
	// have come sooner.
	OnTime int
	// Late is the phones confirmed at a later check whose first check
	// came at the first-check age in force now, or later.
	Late int
}

// Add counts one phone a status call found in state at now, under the
// first check first and the poll. Phones that fell back or expired count
// for nothing.
func (o *Observed) Add(p Phone, state geelark.PhoneState, now time.Time, first, poll time.Duration) {
	bt := p.Boot
	up := state == geelark.StateStarted
	if !up && state != geelark.StateStarting {
		return
	}
	switch {
	case bt.FirstCheck == 0 && bt.Seen == "": // its first check
		o.First++
		o.FirstMaxAge = max(o.FirstMaxAge, now.Sub(bt.StartedAt))
		if up {
			o.FirstReady++
			if now.Sub(bt.StartedAt) <= first+poll {
				o.OnTime++
			}
		} else {
			o.FirstOldest = max(o.FirstOldest, now.Sub(bt.StartedAt))
		}
	case up && bt.FirstCheck >= first:
		o.Late++
	}
}

// learnPace applies one status call's Observed to the learned first check
// and returns it (ms); see Checks for the rules. KEYS[1] is the pace key; ARGV: now, poll, max (ms),
// first, first ready, oldest still starting at its first check (ms), late,
// on time, oldest at its first check (ms). The field "up" keeps the least
// age at which a call found most phones up at their first check.
var learnPace = redis.NewScript(`
local now, poll, hi = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local k, r, oldest, late, ontime = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local maxage = tonumber(ARGV[9])
local f = tonumber(redis.call("HGET", KEYS[1], "first") or "") or poll
local up = tonumber(redis.call("HGET", KEYS[1], "up") or "")
if k >= 10 and 2 * r < k and oldest + poll > f then
  if up and up > oldest then
    f = math.max(f, math.min(oldest + poll, up))
  else
    f = oldest + poll
    redis.call("HDEL", KEYS[1], "up")
  end
elseif k >= 10 and 2 * r >= k and (not up or maxage < up) then
  redis.call("HSET", KEYS[1], "up", maxage)
end
local u = redis.call("HINCRBY", KEYS[1], "late", late)
local d = redis.call("HINCRBY", KEYS[1], "ready", ontime)
local since = tonumber(redis.call("HGET", KEYS[1], "since") or "")
if not since then
  redis.call("HSET", KEYS[1], "since", now)
elseif now - since >= poll then
  if u + d > 0 then
    local share = u / (u + d)
    if share > 0.1 then
      f = f + (share - 0.1) * poll
    else
      f = f - f / 50
    end
  end
  redis.call("HSET", KEYS[1], "late", 0, "ready", 0, "since", now)
end
f = math.floor(math.max(poll, math.min(hi, f)))
redis.call("HSET", KEYS[1], "first", f)
return f`)

// Learn applies what one status call observed to the fleet's first check,
// and returns the first check now in force.
func (s *Store) Learn(ctx context.Context, now time.Time, c Checks, o Observed) (time.Duration, error) {
	lo, hi := c.bounds()
	ms, err := learnPace.Run(ctx, s.rdb, []string{s.sp.Key("booting", "pace")}, now.UnixMilli(), lo, hi,
		o.First, o.FirstReady, o.FirstOldest.Milliseconds(), o.Late, o.OnTime, o.FirstMaxAge.Milliseconds()).Int64()
	return time.Duration(ms) * time.Millisecond, err
}

// FirstCheck returns how long after its start a booting phone is first
// checked now: what the fleet learned, within c, and whether it learned
// anything yet (c.Poll when not).
func (s *Store) FirstCheck(ctx context.Context, c Checks) (time.Duration, bool, error) {
	lo, hi := c.bounds()
	ms, err := s.rdb.HGet(ctx, s.sp.Key("booting", "pace"), "first").Int64()
	if err == redis.Nil {
		return time.Duration(lo) * time.Millisecond, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return time.Duration(min(max(ms, lo), hi)) * time.Millisecond, true, nil
}
