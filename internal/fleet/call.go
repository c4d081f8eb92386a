package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"time"
)

// Claims and settles of calls: a worker's batch of phones goes to GeeLark
// only after one script moved each phone from a waiting state at its
// task's generation into the call (StateSending for a start), under a
// token that only this call holds. The call's answer is settled by one
// more script, which takes effect only for phones still in the call of that
// token: a phone whose task is stale, or that another request took over
// meanwhile, is not touched by it.

// Verdicts of a claim.
const (
	// ClaimGo: the phone is in the call; send it.
	ClaimGo = "go"
	// ClaimCheck: a start call of the phone went out and its answer was
	// lost; it is in the call, but GeeLark's status endpoint is asked
	// first whether that call started it.
	ClaimCheck = "check"
	// ClaimWait: the phone's other action is in a call (or an earlier
	// start's call is out: its answer may start the phone); its task waits.
	ClaimWait = "wait"
	// ClaimNoop: the task is stale (another generation, or the phone is
	// no longer waiting): acknowledge it and do nothing.
	ClaimNoop = "noop"
)

// Claim is one phone of a call's claim: its ID, and the generation and
// number of its task (a task that is not the record's current one is
// stale).
type Claim struct {
	ID   string
	Gen  int64
	Task int
}

// Claimed is the claim's word on one phone.
type Claimed struct {
	ID      string
	Verdict string
	// Attempt is the phone's attempt this call is, from 1 (for ClaimGo).
	Attempt int
}

// NewToken returns a fresh call token for action.
func NewToken(action string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return action + ":" + hex.EncodeToString(b[:])
}

// claimScript: ARGV[8] action, [9] token, then triples of ID, generation,
// task number.
var claimScript = script(`
local act, token = ARGV[8], ARGV[9]
local out = {}
for i = 10, #ARGV, 3 do
  local r = load(ARGV[i])
  local gen, tk = ARGV[i + 1], ARGV[i + 2]
  local v = "noop"
  local st = r.st
  if st and r.gen == gen and (r.tk or "1") == tk then
    -- a start's own call leaves it sending; a start call out while it
    -- waits is an earlier start's, whose answer it waits for
    local mine = owncall(r, act) and (act ~= "start" or st == "sending")
    local other = r.call and r.call ~= "" and not mine
    if act == "start" and r.act == "start" and (TASKED[st] and st ~= "stopping") then
      if other then
        v = "wait"
      elseif r.unans == "1" or st == "sending" then
        v = "check"
        move(r, "sending", {call = token, unans = 1, waits = false})
      else
        v = "go"
        move(r, "sending", {call = token, att = num(r.att) + 1, waits = false})
      end
    elseif act == "stop" and ((r.act == "stop" and st == "stopping") or (st == "ready" and num(r.guard) > 0)) then
      if other then
        v = "wait"
      else
        v = "go"
        local att = num(r.att) + 1
        if st == "ready" then att = 1 end
        move(r, "stopping", {act = "stop", call = token, att = att, guard = false, due = false, waits = false})
      end
    end
  elseif st and owncall(r, act) and not (act == "start" and st == "sending") then
    -- a task of an earlier generation came round again: the call it
    -- made is over (its worker is gone, or could not settle it). A start
    -- it may have made is checked before the phone is started again.
    redis.call("HDEL", r._k, "call")
    if act == "start" and r.act == "start" then redis.call("HSET", r._k, "unans", 1) end
  end
  if v ~= "wait" and r.waits then redis.call("ZREM", P .. "parked", r._id) end
  out[#out + 1] = v
  out[#out + 1] = r.att or "0"
end
flush()
return out`)

// ClaimCall claims phones for one call of action under token. Phones not
// claimed (ClaimWait, ClaimNoop) are not in the call.
func (s *Store) ClaimCall(ctx context.Context, action, token string, cs []Claim) ([]Claimed, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	args := make([]any, 0, 2+3*len(cs))
	args = append(args, action, token)
	for _, c := range cs {
		args = append(args, c.ID, strconv.FormatInt(c.Gen, 10), strconv.Itoa(max(c.Task, 1)))
	}
	v, err := s.run(ctx, claimScript, s.Now(), args...)
	if err != nil {
		return nil, err
	}
	res := strs(v)
	out := make([]Claimed, len(cs))
	for i, c := range cs {
		out[i] = Claimed{ID: c.ID, Verdict: res[2*i], Attempt: atoi(res[2*i+1])}
	}
	return out, nil
}

// Where a settle takes a phone in a call.
const (
	// ToBooting: GeeLark accepted the start; confirm the boot.
	ToBooting = "booting"
	// ToReady: GeeLark accepted the start (boot confirmation off), or a
	// check found the phone Started.
	ToReady = "ready"
	// ToRetry: the attempt failed; tried again at Due.
	ToRetry = "retry"
	// ToDead: it will not start (or stop) without a person.
	ToDead = "dead"
	// ToParked: a fleet pause holds the call; the phone waits it out.
	ToParked = "parked"
	// ToStopped: GeeLark stopped it.
	ToStopped = "stopped"
	// ToSend: a check found the phone shut down: the unanswered call did
	// not start it, and it goes on to this call.
	ToSend = "send"
)

// Settle is a call's word on one phone.
type Settle struct {
	ID  string
	Gen int64
	// To is where the phone goes (ToBooting, ...).
	To string
	// Event, when set, overrides the step recorded ("started+ready" for a
	// phone a check found Started).
	Event string
	Code  int
	// Reason and Msg say why it failed.
	Reason, Msg string
	URL         string
	// Due is when a retry comes due, or a booting phone's first check.
	Due time.Time
	// Deadline is a booting phone's boot deadline.
	Deadline time.Time
	// Unanswered marks a retry whose call's answer was lost.
	Unanswered bool
	// Refund gives back the attempt the claim counted: the phone waits for
	// a reason that is not its own.
	Refund bool
	// Pause names the pause a parked phone waits out.
	Pause string
}

// Settled is what a settle did to one phone.
type Settled struct {
	ID string
	// Outcome is "ok" (moved as asked; also for a start the phone was given
	// again while the call was out, which waited for the call: the call
	// started the phone for it), "superseded" (a later request took the
	// phone over while it was in the call: the call's outcome is recorded
	// as an event only) or "lost" (the phone is in no call of this token:
	// nothing was written).
	Outcome string
	// Attempt is the phone's attempts so far.
	Attempt int
	// Guard is when the billing guard stops a phone settled ready (zero:
	// none): its stop task is the caller's to write, of generation Gen and
	// number Task.
	Guard time.Time
	// Gen and Task are the record's: a later start that waited for the
	// call is settled by it, under its own generation.
	Gen  int64
	Task int
}

// Settle outcomes.
const (
	SettledOK         = "ok"
	SettledSuperseded = "superseded"
	SettledLost       = "lost"
)

// settleScript: ARGV[8] action, [9] token, [10] the max runtime (ms: the
// billing guard of a phone without a stop-after of its own), then 12
// values a phone: ID, generation, to, event, code, reason, msg, url, due,
// deadline, unanswered, refund; pause travels in the reason of a parked
// phone. It returns per phone the outcome, the attempts, the guard, and the
// record's generation and task number.
var settleScript = script(`
local act, token, maxrt = ARGV[8], ARGV[9], tonumber(ARGV[10])
local out, started = {}, 0
for i = 11, #ARGV, 12 do
  local r = load(ARGV[i])
  local gen, to, ev = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local code, reason, msg, url = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
  local due, deadline = tonumber(ARGV[i + 8]), tonumber(ARGV[i + 9])
  local unans, refund = ARGV[i + 10], ARGV[i + 11]
  local res, guard = "lost", 0
  if r.st and r.call == token then
    local taken = r.gen ~= gen or (r.act or "start") ~= act
    -- a later start that waits for this call (it could not be claimed
    -- while the call was out) is done by it: the phone is started
    local adopt = taken and act == "start" and (to == "booting" or to == "ready") and r.act == "start" and
      (r.st == "queued" or r.st == "scheduled" or r.st == "retry")
    if taken and not adopt then
      -- a later request took the phone over while the call was out
      res = "superseded"
      if to == "booting" or to == "ready" then
        move(r, nil, {call = false, unans = false}, "started", {url = url, act = "start", att = r.att})
      elseif to == "stopped" then
        local list = words(r.oreqs)
        finish(r, list, "stopped", {act = "stop", code = "0", reason = "", msg = ""})
        move(r, nil, {call = false, oreqs = false}, "stopped", {code = 0, reason = "", msg = ""})
      else
        move(r, nil, {call = false})
      end
    else
      res = "ok"
      local clear = {call = false, code = false, reason = false, msg = false, due = false}
      if adopt then clear.waits = false end
      if to == "booting" or to == "ready" then started = started + 1 end
      if to == "booting" then
        clear.unans, clear.url, clear.bt_at, clear.bt_dl = false, url, NOW, deadline
        move(r, "booting", clear, ev ~= "" and ev or "started", {url = url})
        redis.call("ZADD", P .. "booting", due, r._id)
      elseif to == "ready" then
        clear.unans, clear.url = false, url
        guard = guardof(r, maxrt)
        if guard > 0 then clear.guard = guard end
        move(r, "ready", clear, ev ~= "" and ev or "ready", {url = url})
        if guard > 0 then live(r, NOW + GRACE) end
      elseif to == "retry" then
        local st = act == "stop" and "stopping" or "retry"
        local att = num(r.att)
        if refund == "1" and att > 0 then att = att - 1 end
        move(r, st, {call = false, due = due, code = code, reason = reason, msg = msg,
          unans = unans == "1" and 1 or false, att = att}, ev ~= "" and ev or "retry")
        live(r, due + GRACE)
      elseif to == "dead" then
        move(r, "dead", {call = false, due = false, code = code, reason = reason, msg = msg, unans = false},
          "dead")
        bury(r)
      elseif to == "parked" then
        local st = act == "stop" and "stopping" or "queued"
        local att = num(r.att)
        if refund == "1" and att > 0 then att = att - 1 end
        move(r, st, {call = false, waits = reason, att = att, due = due})
        redis.call("ZADD", P .. "parked", NOW, r._id)
        live(r, due + GRACE)
      elseif to == "stopped" then
        move(r, "stopped", {call = false, due = false, code = false, reason = false, msg = false}, "stopped",
          {code = 0, reason = "", msg = ""})
      elseif to == "send" then
        move(r, nil, {unans = false, att = num(r.att) + 1})
      end
    end
  end
  out[#out + 1] = res
  out[#out + 1] = r.att or "0"
  out[#out + 1] = tostring(guard)
  out[#out + 1] = r.gen or "0"
  out[#out + 1] = r.tk or "1"
end
if started > 0 then redis.call("HINCRBY", P .. "count", "started", started) end
flush()
return out`)

// SettleCall writes a call's word on its phones. maxRuntime is the billing
// guard of a phone settled ready without a stop-after of its own (0: none).
func (s *Store) SettleCall(ctx context.Context, action, token string, maxRuntime time.Duration, ss []Settle) ([]Settled, error) {
	if len(ss) == 0 {
		return nil, nil
	}
	args := make([]any, 0, 3+12*len(ss))
	args = append(args, action, token, maxRuntime.Milliseconds())
	for _, x := range ss {
		reason := x.Reason
		if x.To == ToParked {
			reason = x.Pause
		}
		args = append(args, x.ID, strconv.FormatInt(x.Gen, 10), x.To, x.Event, strconv.Itoa(x.Code), reason, x.Msg, x.URL,
			ms(x.Due), ms(x.Deadline), flag(x.Unanswered), flag(x.Refund))
	}
	v, err := s.run(ctx, settleScript, s.Now(), args...)
	if err != nil {
		return nil, err
	}
	res := strs(v)
	out := make([]Settled, len(ss))
	for i, x := range ss {
		r := res[5*i : 5*i+5]
		out[i] = Settled{ID: x.ID, Outcome: r[0], Attempt: atoi(r[1]), Guard: msTime(r[2]), Gen: atoi64(r[3]), Task: atoi(r[4])}
	}
	return out, nil
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
