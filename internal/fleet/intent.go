package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/tasks"
)

// Intent asks for phones to be started or stopped: the producer's side of
// a request. One script call moves a chunk of its phones.
type Intent struct {
	// Action is ActionStart or ActionStop.
	Action string
	// Request and Label name the request the phones join ("" for none).
	Request, Label string
	// Due, when after now, is when the phones are due.
	Due time.Time
	// Options and StopAfter are a start's.
	Options   geelark.StartOptions
	StopAfter time.Duration
	// Event is the step recorded for each phone given a new intent:
	// default EventEnqueued for a start, EventStopEnqueued for a stop
	// (EventRequeued for a person's requeue).
	Event string
	// Notify, when set, is the URL told when the request has ended; with
	// Each, it is also told of each phone's end.
	Notify string
	Each   bool
	// More says that more phones of the request follow in a later call of
	// Place: the request cannot end before they joined.
	More bool
}

// Placed is what an intent did to one phone.
type Placed struct {
	ID string
	// New is true when the phone took the intent (a new generation);
	// false when it already had the same intent under way (a duplicate,
	// which joins the request all the same).
	New bool
	// Gen and Task name the task to write for a new intent.
	Gen  int64
	Task int
	// Superseded is the task of the other action's intent that this one
	// replaced before it reached GeeLark ("" when none): it will do
	// nothing, and may be deleted.
	Superseded string
}

// TaskID is the asynq task ID of the placed intent's task.
func (p Placed) TaskID() string { return tasks.TaskID(p.ID, p.Gen, p.Task) }

// placeScript gives each phone of ARGV[18..] the intent: ARGV[8] action,
// [9] request, [10] label, [11] due (ms, 0: now), [12] options (JSON), [13]
// stop-after (ms), [14] event, [15] notify URL, [16] "1" to notify each
// phone's end, [17] "1" for the request's last chunk (the request can end
// only once all its phones joined). A phone with the same intent under way
// joins the request as a duplicate; a phone whose other intent waits has
// it cancelled (its requests end "cancelled"); one whose other intent is at
// GeeLark carries that intent's requests to its next end. It returns per
// phone: "new"/"dup", generation, task number, superseded task.
var placeScript = script(`
local act, rid, label, due, opts, sa, ev = ARGV[8], ARGV[9], ARGV[10], tonumber(ARGV[11]), ARGV[12], ARGV[13], ARGV[14]
local notify, each, last = ARGV[15], ARGV[16], ARGV[17]
local out, joined, ids = {}, 0, {}
-- One generation a phone of the chunk, taken at once: a phone that turns
-- out a duplicate leaves its number unused, which is harmless.
local nextgen = redis.call("INCRBY", P .. "gen", #ARGV - 17) - (#ARGV - 17)
for i = 18, #ARGV do
  local id = ARGV[i]
  local r = load(id)
  local st = r.st
  local dup
  if act == "start" then
    dup = st ~= nil and LIVE[st] and st ~= "stopping"
  else
    dup = st == "stopping"
  end
  if dup then
    if rid ~= "" and not has(r.reqs, rid) then
      redis.call("HSET", r._k, "reqs", add(r.reqs, rid), "labels", add(r.labels, label))
      joined = joined + 1
      ids[#ids + 1] = id
    end
    out[#out + 1] = "dup"; out[#out + 1] = r.gen or "0"; out[#out + 1] = r.tk or "1"; out[#out + 1] = ""
  else
    local f = {}
    local superseded = ""
    if st and LIVE[st] then
      if (r.call and r.call ~= "") or st == "booting" then
        -- at GeeLark: its requests end with the phone's next end
        local carried = r.oreqs or ""
        for _, x in ipairs(words(r.reqs)) do carried = add(carried, x) end
        f.oreqs = carried
      else
        finish(r, words(r.reqs), "cancelled", {reason = "superseded", code = "0",
          msg = "a later " .. act .. " request replaced it before it reached GeeLark"})
        superseded = taskid(r)
      end
    end
    nextgen = nextgen + 1
    local gen = nextgen
    f.act, f.gen, f.tk, f.att = act, gen, 1, 0
    f.code, f.reason, f.msg, f.unans, f.waits, f.guard = false, false, false, false, false, false
    f.bt_at, f.bt_dl, f.bt_seen, f.bt_fc, f.bt_v = false, false, false, false, false
    f.due = due > NOW and due or false
    f.reqs = rid ~= "" and rid or false
    f.labels = label ~= "" and label or false
    local to = "stopping"
    if act == "start" then
      f.opts, f.sa, f.url = opts, sa, false
      to = due > NOW and "scheduled" or "queued"
    end
    unbury(id, act)
    move(r, to, f, ev)
    live(r, math.max(due, NOW) + GRACE)
    if rid ~= "" then joined = joined + 1; ids[#ids + 1] = id end
    out[#out + 1] = "new"; out[#out + 1] = tostring(gen); out[#out + 1] = "1"; out[#out + 1] = superseded
  end
end
if rid ~= "" then
  local rk = P .. "req:" .. rid
  if redis.call("HSETNX", rk, "action", act) == 1 then
    redis.call("HSET", rk, "label", label, "at", AT, "open", 0, "n", 0, "notify", notify, "each", each)
  end
  redis.call("HINCRBY", rk, "n", joined)
  local open = redis.call("HINCRBY", rk, "open", joined)
  if #ids > 0 then redis.call("RPUSH", rk .. ":ids", unpack(ids)) end
  if last == "1" then
    redis.call("HSET", rk, "sealed", 1)
    if open <= 0 then endreq(rk, rid) end
  end
end
flush()
return out`)

// placeChunk is how many phones one script call takes.
const placeChunk = 500

// Place gives ids the intent, placeChunk phones a script call, and returns
// what it did to each, in order. On an error part way, the phones of the
// chunks before it are placed and returned.
func (s *Store) Place(ctx context.Context, in Intent, ids []string) ([]Placed, error) {
	if in.Action != ActionStart && in.Action != ActionStop {
		return nil, fmt.Errorf("fleet: place: action %q", in.Action)
	}
	ev := in.Event
	if ev == "" {
		ev = EventEnqueued
		if in.Action == ActionStop {
			ev = EventStopEnqueued
		}
	}
	opts := ""
	if in.Action == ActionStart {
		b, err := json.Marshal(in.Options)
		if err != nil {
			return nil, err
		}
		opts = string(b)
	}
	out := make([]Placed, 0, len(ids))
	err := chunks(len(ids), placeChunk, func(lo, hi int) error {
		now := s.Now()
		args := []any{in.Action, in.Request, in.Label, ms(in.Due), opts, msDur(in.StopAfter), ev, in.Notify, flag(in.Each),
			flag(!in.More && hi == len(ids))}
		for _, id := range ids[lo:hi] {
			args = append(args, id)
		}
		v, err := s.run(ctx, placeScript, now, args...)
		if err != nil {
			return err
		}
		res := strs(v)
		for i, id := range ids[lo:hi] {
			r := res[4*i : 4*i+4]
			out = append(out, Placed{ID: id, New: r[0] == "new", Gen: atoi64(r[1]), Task: atoi(r[2]), Superseded: r[3]})
		}
		return nil
	})
	return out, err
}

// Cancelled is what a cancel did to one phone.
type Cancelled struct {
	ID string
	// Outcome is "cancelled" (its waiting start or stop was called off),
	// "active" (it is in a call right now, or a start call's answer was
	// lost and its status check is to come: not called off) or "none"
	// (nothing waiting: never asked for, started, stopped or dead).
	Outcome string
	// Task is the cancelled intent's task, which will do nothing.
	Task string
}

// cancelScript calls off the waiting start or stop of each phone of
// ARGV[8..]; see Cancelled.
var cancelScript = script(`
local out = {}
for i = 8, #ARGV do
  local r = load(ARGV[i])
  local st = r.st
  local res, task = "none", ""
  if st == "queued" or st == "scheduled" or st == "retry" or st == "stopping" then
    if owncall(r, r.act or "start") or r.unans == "1" then
      -- in a call, or its start call's answer was lost: the phone may be
      -- running, and its status check decides
      res = "active"
    else
      task = taskid(r)
      move(r, "cancelled", {due = false, waits = false, code = false, reason = false, msg = false}, "cancelled")
      res = "cancelled"
    end
  elseif st == "sending" then
    res = "active"
  end
  out[#out + 1] = res
  out[#out + 1] = task
end
flush()
return out`)

// Cancel calls off the waiting starts and stops of ids.
func (s *Store) Cancel(ctx context.Context, ids []string) ([]Cancelled, error) {
	out := make([]Cancelled, 0, len(ids))
	err := chunks(len(ids), placeChunk, func(lo, hi int) error {
		args := make([]any, 0, hi-lo)
		for _, id := range ids[lo:hi] {
			args = append(args, id)
		}
		v, err := s.run(ctx, cancelScript, s.Now(), args...)
		if err != nil {
			return err
		}
		res := strs(v)
		for i, id := range ids[lo:hi] {
			out = append(out, Cancelled{ID: id, Outcome: res[2*i], Task: res[2*i+1]})
		}
		return nil
	})
	return out, err
}
