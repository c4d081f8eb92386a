package fleet

import (
	"context"
	"errors"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/tasks"
)

// The reconciler keeps asynq's tasks and the records in step. A record is
// written before its task (a producer, a failed boot, the billing guard),
// so a process that dies in between leaves a phone waiting for a task that
// does not exist. Every phone that waits for a task is in the live index,
// scored by when to look whether its task exists: a grace after the task
// was due to be written. The reconciler (one worker at a time, at its
// heartbeat) looks at the phones whose look is due: a task found pushes
// the look later; a task missing is written again (the next task number;
// a phone whose start call was out is marked unanswered, so it is checked
// before a second start). Tasks whose record has moved on need no
// reconciling: a worker acknowledges them without doing anything.

// Recheck is how long after finding a phone's task the reconciler looks
// again, while the phone still waits for it.
const Recheck = 5 * time.Minute

// dueLiveScript returns, of up to ARGV[8] phones whose look is due, those
// that wait for a task: ID, version, action, generation, task number, due,
// guard; the others leave the index.
var dueLiveScript = script(`
local out = {}
for _, id in ipairs(redis.call("ZRANGEBYSCORE", P .. "live", "-inf", NOW, "LIMIT", 0, tonumber(ARGV[8]))) do
  local r = load(id)
  if r.st and tasked(r) then
    local act = r.act or "start"
    if r.st == "ready" then act = "stop" end
    out[#out + 1] = id
    out[#out + 1] = r.ver or "0"
    out[#out + 1] = act
    out[#out + 1] = r.gen or "0"
    out[#out + 1] = r.tk or "1"
    out[#out + 1] = r.due or r.guard or "0"
    out[#out + 1] = r.guard or "0"
  else
    redis.call("ZREM", P .. "live", id)
  end
end
flush()
return out`)

// relookScript: pairs of ID, version, then ARGV[8] when to look again (ms):
// the phones whose task was found, if unchanged since.
var relookScript = script(`
local at = ARGV[8]
for i = 9, #ARGV, 2 do
  local v = redis.call("HGET", P .. "phone:" .. ARGV[i], "ver")
  if v == ARGV[i + 1] then redis.call("ZADD", P .. "live", at, ARGV[i]) end
end
flush()
return 1`)

// redoScript gives each phone ARGV[8..] (pairs of ID, version), whose task
// is missing, the next task number, if unchanged since it was read; a
// phone whose start call was out is marked unanswered. It returns per
// phone "1" and the new task number, or "0".
var redoScript = script(`
local out = {}
for i = 8, #ARGV, 2 do
  local r = load(ARGV[i])
  if r.ver == ARGV[i + 1] and r.st and tasked(r) then
    local f = {tk = num(r.tk) + 1}
    local st = nil
    if r.st == "sending" then
      st, f.unans, f.call, f.due = "retry", 1, false, NOW
    end
    move(r, st, f)
    live(r, NOW + GRACE)
    out[#out + 1] = "1"
    out[#out + 1] = r.tk
  else
    out[#out + 1] = "0"
    out[#out + 1] = "0"
  end
end
flush()
return out`)

// ReconcileStats is what one round of the reconciler did.
type ReconcileStats struct {
	// Looked counts the phones whose task was looked up; Rewritten those
	// whose task was missing and was written again.
	Looked, Rewritten int
}

// Reconcile looks at up to n phones whose look is due and writes the tasks
// that are missing. One process at a time should run it (see Lease).
func (s *Store) Reconcile(ctx context.Context, n int) (ReconcileStats, error) {
	var st ReconcileStats
	v, err := s.run(ctx, dueLiveScript, s.Now(), n)
	if err != nil {
		return st, err
	}
	res := strs(v)
	if len(res) == 0 {
		return st, nil
	}
	insp := asynq.NewInspectorFromRedisClient(s.rdb)
	type due struct {
		id, ver, act string
		gen          int64
		task         int
		at           time.Time
	}
	var found []any
	var missing []due
	for i := 0; i+6 < len(res); i += 7 {
		d := due{id: res[i], ver: res[i+1], act: res[i+2], gen: atoi64(res[i+3]), task: atoi(res[i+4]), at: msTime(res[i+5])}
		queue := s.sp.StartQueue()
		if d.act == ActionStop {
			queue = s.sp.StopQueue()
		}
		st.Looked++
		_, err := insp.GetTaskInfo(queue, tasks.TaskID(d.id, d.gen, d.task))
		switch {
		case err == nil:
			found = append(found, d.id, d.ver)
		case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
			missing = append(missing, d)
		default:
			return st, err
		}
	}
	now := s.Now()
	if len(found) > 0 {
		if _, err := s.run(ctx, relookScript, now, append([]any{now.Add(Recheck).UnixMilli()}, found...)...); err != nil {
			return st, err
		}
	}
	if len(missing) == 0 {
		return st, nil
	}
	args := make([]any, 0, 2*len(missing))
	for _, d := range missing {
		args = append(args, d.id, d.ver)
	}
	v, err = s.run(ctx, redoScript, now, args...)
	if err != nil {
		return st, err
	}
	redo := strs(v)
	aq := asynq.NewClientFromRedisClient(s.rdb)
	for i, d := range missing {
		if redo[2*i] != "1" {
			continue
		}
		task := atoi(redo[2*i+1])
		at := d.at
		if at.Before(now) {
			at = now
		}
		if err := s.writeTask(ctx, aq, d.act, d.id, d.gen, task, at); err != nil {
			return st, err
		}
		st.Rewritten++
	}
	return st, nil
}

// writeTask writes the task of phone id's intent act, generation gen, number
// n, due at at.
func (s *Store) writeTask(ctx context.Context, aq *asynq.Client, act, id string, gen int64, n int, at time.Time) error {
	ts := TaskSpec{Action: act, ID: id, Gen: gen, Task: n, At: at}
	if act == ActionStart {
		p, err := s.Phone(ctx, id)
		if err != nil {
			return err
		}
		ts.Options = p.Options
	} else {
		ts.NotBefore = at
	}
	t, err := s.sp.NewTask(ts)
	if err != nil {
		return err
	}
	return WriteTask(ctx, aq, t)
}

// TaskSpec describes one task of a phone's intent.
type TaskSpec struct {
	Action string
	ID     string
	Gen    int64
	Task   int
	// At, when set, is when the task comes due (to asynq's second).
	At time.Time
	// Options are a start's.
	Options geelark.StartOptions
	// NotBefore is a stop's exact time (the billing guard's).
	NotBefore time.Time
}

// NewTask returns the asynq task ts describes, in the space's queue.
func (sp Space) NewTask(ts TaskSpec) (*asynq.Task, error) {
	id := tasks.TaskID(ts.ID, ts.Gen, max(ts.Task, 1))
	var extra []asynq.Option
	if !ts.At.IsZero() {
		extra = append(extra, asynq.ProcessAt(ts.At.Truncate(time.Second)))
	}
	if ts.Action == ActionStop {
		return tasks.NewStop(tasks.StopPhone{ID: ts.ID, Gen: ts.Gen, Task: max(ts.Task, 1), NotBefore: ts.NotBefore},
			sp.StopQueue(), id, extra...)
	}
	return tasks.NewStart(tasks.StartPhone{ID: ts.ID, Gen: ts.Gen, Task: max(ts.Task, 1), Options: ts.Options},
		sp.StartQueue(), id, extra...)
}

// WriteTask enqueues t; a task of the same ID written meanwhile (by the
// reconciler, or a producer) is as good.
func WriteTask(ctx context.Context, aq *asynq.Client, t *asynq.Task) error {
	_, err := aq.EnqueueContext(ctx, t)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// Lease is a lease on work one process at a time does (the reconciler),
// taken and released by token.
type Lease struct {
	rdb   redis.UniversalClient
	key   string
	token string
}

// Lease returns the lease named name, held by token holder.
func (s *Store) Lease(name, holder string) *Lease {
	return &Lease{rdb: s.rdb, key: s.sp.Key("lease", name), token: holder}
}

// takeLease takes or renews KEYS[1] for ARGV[1] for ARGV[2] ms, if free or
// already ours.
var takeLease = redis.NewScript(`
local v = redis.call("GET", KEYS[1])
if v and v ~= ARGV[1] then return 0 end
redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
return 1`)

// releaseLease drops KEYS[1] if it is still ARGV[1]'s.
var releaseLease = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0`)

// Take takes (or renews) the lease for ttl; false when another holds it.
func (l *Lease) Take(ctx context.Context, ttl time.Duration) (bool, error) {
	n, err := takeLease.Run(ctx, l.rdb, []string{l.key}, l.token, ttl.Milliseconds()).Int()
	return n == 1, err
}

// Release gives the lease up, if it is still ours.
func (l *Lease) Release(ctx context.Context) error {
	return releaseLease.Run(ctx, l.rdb, []string{l.key}, l.token).Err()
}
