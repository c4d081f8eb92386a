package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/clock"
)

// Pause is a fleet-wide stop of API calls.
type Pause struct {
	// ID names this pause: every Set that changes it gives it a new one,
	// so that a lift can name the pause it read and never end a newer one.
	ID    string
	Code  int
	Msg   string
	Until time.Time // calls resume then
	Since time.Time // for account-wide codes: when the streak began
	By    string    // who set it: host:pid of the worker
}

// Class is the class of the pause's code.
func (p Pause) Class() geelark.Class { return geelark.Lookup(p.Code).Class }

// Pauses reads and writes the fleet-wide pause, with a short in-process
// cache so that hundreds of handlers don't each ask Redis.
type Pauses struct {
	st  *Store
	rdb redis.UniversalClient
	sp  Space
	now func() time.Time
	ttl time.Duration
	by  string

	mu      sync.Mutex
	cached  Pause
	epoch   int64 // lifts so far, as last read
	fetched time.Time
}

// Pauses returns the fleet-wide pause of the store's deployment, read and
// ended by now (default: the store's clock).
func (s *Store) Pauses(now func() time.Time) *Pauses {
	if now == nil {
		now = s.cfg.Now
	}
	return &Pauses{st: s, rdb: s.rdb, sp: s.sp, now: now, ttl: time.Second, by: Self()}
}

// Self names this process for records other processes read: host:pid.
func Self() string {
	host, _ := os.Hostname()
	return host + ":" + strconv.Itoa(os.Getpid())
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// setPause extends the pause (KEYS[1]) to ARGV[3] unless one already runs
// longer, and for account-wide codes opens the streak (KEYS[2]) if none is
// open. ARGV: code, msg, until, now (ms), account ("1"), by, new ID. The
// boots the pause in force put off until its end (in KEYS[3], scored at its
// until) move to the new end, so that the pause's end, or its lift, finds
// them. It returns 1 when it changed the pause.
var setPause = redis.NewScript(`
local since = ARGV[4]
if ARGV[5] == "1" then
  redis.call("HSETNX", KEYS[2], "since", ARGV[4])
  redis.call("HSET", KEYS[2], "code", ARGV[1], "msg", ARGV[2])
  since = redis.call("HGET", KEYS[2], "since")
end
local cur = tonumber(redis.call("HGET", KEYS[1], "until") or "0")
if cur >= tonumber(ARGV[3]) then return 0 end
if cur > 0 then
  for _, id in ipairs(redis.call("ZRANGEBYSCORE", KEYS[3], cur, cur)) do
    redis.call("ZADD", KEYS[3], ARGV[3], id)
  end
end
redis.call("HSET", KEYS[1], "code", ARGV[1], "msg", ARGV[2], "until", ARGV[3], "since", since, "by", ARGV[6], "id", ARGV[7])
redis.call("PEXPIREAT", KEYS[1], ARGV[3])
return 1`)

// Set pauses all calls until until because of code. It reports whether the
// pause is new or longer than the one in force, and so worth a log line.
func (p *Pauses) Set(ctx context.Context, code int, msg string, until time.Time) (Pause, bool, error) {
	now := p.now()
	account := "0"
	if geelark.Lookup(code).Class == geelark.ClassAccount {
		account = "1"
	}
	n, err := setPause.Run(ctx, p.rdb, []string{p.sp.Key("pause"), p.sp.Key("blocked"), p.sp.Key("booting")},
		code, msg, until.UnixMilli(), now.UnixMilli(), account, p.by, newID()).Int()
	if err != nil {
		return Pause{}, false, err
	}
	p.forget()
	cur, _, err := p.Current(ctx)
	return cur, n == 1, err
}

func (p *Pauses) forget() {
	p.mu.Lock()
	p.fetched = time.Time{} // read it back on next use
	p.mu.Unlock()
}

// Unblock ends the account-wide streak: a phone started, so whatever was
// wrong with the account is fixed.
func (p *Pauses) Unblock(ctx context.Context) error {
	return p.rdb.Del(ctx, p.sp.Key("blocked")).Err()
}

// ErrPauseChanged is Lift's error when the pause in force is not the one
// named: it was extended or replaced since it was read.
var ErrPauseChanged = errors.New("the fleet pause changed since it was read")

// liftScript ends the pause KEYS[1] if its ID is ARGV[8], with the streak,
// records the lift, bumps the lift epoch, makes the boots whose check the
// pause put off until its end (scored at its until) due now, and returns
// the tasks of the phones parked for that pause (their waits cleared), each as action and
// task ID, after "lifted"; "none" when no pause is in force, "changed" and
// the ID in force when another. ARGV[9] who lifts.
var liftScript = script(`
local want, by = ARGV[8], ARGV[9]
local cur = redis.call("HGETALL", P .. "pause")
local pz = {}
for i = 1, #cur, 2 do pz[cur[i]] = cur[i + 1] end
if not pz.id or tonumber(pz["until"] or "0") <= NOW then return {"none"} end
if want ~= "" and pz.id ~= want then return {"changed", pz.id} end
redis.call("DEL", P .. "pause", P .. "blocked")
redis.call("HSET", P .. "pause:lifted", "by", by, "at", NOW, "code", pz.code or "0", "msg", pz.msg or "")
redis.call("EXPIRE", P .. "pause:lifted", 3600)
redis.call("INCR", P .. "pause:epoch")
for _, id in ipairs(redis.call("ZRANGEBYSCORE", P .. "booting", pz["until"], pz["until"])) do
  redis.call("ZADD", P .. "booting", NOW, id)
end
local out = {"lifted", pz.id}
for _, id in ipairs(redis.call("ZRANGE", P .. "parked", 0, -1)) do
  local r = load(id)
  if r.waits == pz.id and TASKED[r.st] and not (r.call and r.call ~= "") then
    move(r, nil, {waits = false})
    redis.call("ZREM", P .. "parked", id)
    out[#out + 1] = r.act or "start"
    out[#out + 1] = taskid(r)
  elseif not r.waits then
    redis.call("ZREM", P .. "parked", id)
  end
end
flush()
return out`)

// LiftResult is what a lift did.
type LiftResult struct {
	// Lifted is the pause ended; zero when none was.
	Lifted Pause
	// Ran counts the phones parked for it that were sent back to the
	// queue at once.
	Ran int
}

// Lift ends the pause named id ("" for whichever is in force), and the
// account-wide streak, at once, records who lifted it (kept an hour, for
// status), tells every worker (a worker GeeLark refused on its own probes
// again at once), has the boots whose check the pause put off until its end
// checked at once, and sends the phones parked for that pause back to the
// queue (a phone whose handler still holds its task as it parks it, as
// soon as the handler lets go: Lift waits up to about two seconds for
// that). It returns ErrPauseChanged, with the pause in force, when that is
// not id: it never ends a pause its caller has not seen. With no pause in
// force it returns a zero LiftResult.
func (p *Pauses) Lift(ctx context.Context, id, by string) (LiftResult, Pause, error) {
	cur, on, err := p.Fresh(ctx)
	if err != nil {
		return LiftResult{}, Pause{}, err
	}
	v, err := p.st.run(ctx, liftScript, p.now(), id, by)
	p.forget()
	if err != nil {
		return LiftResult{}, Pause{}, err
	}
	res := strs(v)
	switch res[0] {
	case "none":
		return LiftResult{}, Pause{}, nil
	case "changed":
		now, _, err := p.Fresh(ctx)
		if err != nil {
			return LiftResult{}, Pause{}, err
		}
		return LiftResult{}, now, ErrPauseChanged
	}
	if !on || cur.ID != res[1] {
		cur = Pause{ID: res[1]}
	}
	out := LiftResult{Lifted: cur}
	var parked []queuedTask
	for i := 2; i+1 < len(res); i += 2 {
		queue := p.sp.StartQueue()
		if res[i] == ActionStop {
			queue = p.sp.StopQueue()
		}
		parked = append(parked, queuedTask{queue: queue, id: res[i+1]})
	}
	out.Ran = runParked(ctx, asynq.NewInspectorFromRedisClient(p.rdb), parked)
	return out, cur, nil
}

// queuedTask names an asynq task.
type queuedTask struct{ queue, id string }

// Tries of a lift to run a parked task still held by its handler.
const (
	liftTries = 20
	liftRetry = 100 * time.Millisecond
)

// runParked runs the tasks of the phones a lift sent back, and returns how
// many it ran. Each waits in asynq's retry set for the pause's end; one that
// is gone has nothing to hurry. One still active may be held by the handler
// that parked it a moment ago, which hands it to asynq's retry set, for the
// lifted pause's end, as it returns: it is run again once it is there, for
// up to liftTries tries. (Running a task whose phone has moved on is
// harmless: the task is stale and does nothing.)
func runParked(ctx context.Context, insp *asynq.Inspector, ts []queuedTask) int {
	ran := 0
	for try := 1; len(ts) > 0; try++ {
		var held []queuedTask
		for _, t := range ts {
			if err := insp.RunTask(t.queue, t.id); err == nil {
				ran++
				continue
			}
			if ti, err := insp.GetTaskInfo(t.queue, t.id); err == nil && ti.State == asynq.TaskStateActive {
				held = append(held, t)
			}
		}
		if len(held) == 0 || try == liftTries || clock.Sleep(ctx, liftRetry) != nil {
			break
		}
		ts = held
	}
	return ran
}

// parkScript records that phone ARGV[8], at generation ARGV[9], waits out
// pause ARGV[10], so that a lift of that pause runs it at once. It returns
// -1, recording nothing, when that pause is no longer in force.
var parkScript = script(`
local pz = redis.call("HMGET", P .. "pause", "id", "until")
if pz[1] ~= ARGV[10] or (tonumber(pz[2] or "") or 0) <= NOW then return -1 end
local r = load(ARGV[8])
if r.gen ~= ARGV[9] or not TASKED[r.st] or r.st == "sending" then return 0 end
if r.waits ~= ARGV[10] then move(r, nil, {waits = ARGV[10]}) end
redis.call("ZADD", P .. "parked", NOW, r._id)
flush()
return 1`)

// Park records that phone id, whose task of generation gen waits in
// asynq's retry set for pause to end, waits for it. It returns
// ErrPauseChanged when pause is no longer in force (lifted, or replaced,
// since it was read): the phone must not wait for it.
func (s *Store) Park(ctx context.Context, id string, gen int64, pause string) error {
	n, err := s.run(ctx, parkScript, s.Now(), id, strconv.FormatInt(gen, 10), pause)
	if err == nil && n == int64(-1) {
		err = ErrPauseChanged
	}
	return err
}

// Lifted is a pause a person ended early.
type Lifted struct {
	Code int
	Msg  string
	By   string
	At   time.Time
}

// LastLift returns the pause lifted within the last hour, if any.
func LastLift(ctx context.Context, rdb redis.UniversalClient, sp Space) (Lifted, bool, error) {
	v, err := rdb.HGetAll(ctx, sp.Key("pause", "lifted")).Result()
	if err != nil || len(v) == 0 {
		return Lifted{}, false, err
	}
	ms, _ := strconv.ParseInt(v["at"], 10, 64)
	code, _ := strconv.Atoi(v["code"])
	return Lifted{Code: code, Msg: v["msg"], By: v["by"], At: time.UnixMilli(ms)}, true, nil
}

// Current returns the pause in force, if any, as read from Redis at most
// a second ago. Handlers use it to skip the batcher during a pause.
func (p *Pauses) Current(ctx context.Context) (Pause, bool, error) {
	return p.read(ctx, false)
}

// Fresh returns the pause in force, read from Redis now. Calls are
// admitted on it, so that a pause set by any worker stops every worker's
// next call.
func (p *Pauses) Fresh(ctx context.Context) (Pause, bool, error) {
	return p.read(ctx, true)
}

// Last returns the pause as last read from Redis, and whether it is in force
// now. It does not touch Redis.
func (p *Pauses) Last() (Pause, bool) {
	p.mu.Lock()
	c := p.cached
	p.mu.Unlock()
	return c, c.Until.After(p.now())
}

// Epoch returns how many lifts the fleet has seen, as last read with the
// pause: a worker that sees it change knows a pause was lifted.
func (p *Pauses) Epoch() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.epoch
}

// Now is the pauses' clock.
func (p *Pauses) Now() time.Time { return p.now() }

func (p *Pauses) read(ctx context.Context, fresh bool) (Pause, bool, error) {
	now := p.now()
	p.mu.Lock()
	if age := now.Sub(p.fetched); !fresh && !p.fetched.IsZero() && age >= 0 && age < p.ttl {
		c := p.cached
		p.mu.Unlock()
		return c, c.Until.After(now), nil
	}
	p.mu.Unlock()
	c, epoch, err := readPause(ctx, p.rdb, p.sp)
	if err != nil {
		return Pause{}, false, err
	}
	p.mu.Lock()
	p.cached, p.fetched, p.epoch = c, now, epoch
	p.mu.Unlock()
	return c, c.Until.After(now), nil
}

// CurrentPause reads the pause of sp in force from rdb, for status
// displays.
func CurrentPause(ctx context.Context, rdb redis.UniversalClient, sp Space, now time.Time) (Pause, bool, error) {
	c, _, err := readPause(ctx, rdb, sp)
	if err != nil {
		return Pause{}, false, err
	}
	return c, c.Until.After(now), nil
}

func readPause(ctx context.Context, rdb redis.UniversalClient, sp Space) (Pause, int64, error) {
	pipe := rdb.Pipeline()
	h := pipe.HGetAll(ctx, sp.Key("pause"))
	e := pipe.Get(ctx, sp.Key("pause", "epoch"))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return Pause{}, 0, err
	}
	vals := h.Val()
	msOf := func(k string) time.Time {
		n, err := strconv.ParseInt(vals[k], 10, 64)
		if err != nil || n == 0 {
			return time.Time{}
		}
		return time.UnixMilli(n)
	}
	code, _ := strconv.Atoi(vals["code"])
	epoch, _ := strconv.ParseInt(e.Val(), 10, 64)
	return Pause{ID: vals["id"], Code: code, Msg: vals["msg"], Until: msOf("until"), Since: msOf("since"), By: vals["by"]}, epoch, nil
}
