package fleet

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Boot checks. A phone GeeLark accepted is StateBooting, in the booting
// index scored by when it is next due for a check. Any worker claims the
// due ones (ClaimBoots), which bumps each record's version; the settle of
// the check (SettleBoots) takes effect only for a phone still booting at
// that version, so a worker whose claim lapsed, and was taken over, cannot
// settle a boot a second time.

// claimBootsScript takes up to ARGV[8] phones due at now whose age has
// reached the first check (the poll, ARGV[10], more for a phone checked
// before), and makes them due again at ARGV[9], so that no other worker
// takes them meanwhile; each claimed record's version is bumped. A due
// phone younger than that is made due when it reaches it. The first check
// is the learned one (pace key), within ARGV[10] and ARGV[11] (ms); a
// phone with a callback's verdict is taken at once. It returns the first
// check, then ID and record of each phone claimed. At most 50 rounds of
// ARGV[8] phones are looked at in one call.
var claimBootsScript = script(`
local n, lease, lo, hi = tonumber(ARGV[8]), ARGV[9], tonumber(ARGV[10]), tonumber(ARGV[11])
local first = tonumber(redis.call("HGET", P .. "booting:pace", "first") or "") or lo
first = math.max(lo, math.min(hi, first))
local out = {first}
local taken = 0
for round = 1, 50 do
  local ids = redis.call("ZRANGEBYSCORE", P .. "booting", "-inf", NOW, "LIMIT", 0, n)
  if #ids == 0 then break end
  for _, id in ipairs(ids) do
    local k = P .. "phone:" .. id
    local v = redis.call("HMGET", k, "st", "bt_at", "bt_fc", "bt_seen", "bt_v")
    if v[1] ~= "booting" then
      redis.call("ZREM", P .. "booting", id)
    else
      local at = 0
      if not v[5] then
        at = (tonumber(v[2] or "") or 0) + first
        if (tonumber(v[3] or "") or 0) > 0 or (v[4] and v[4] ~= "") then at = at + lo end
      end
      if at > NOW then
        redis.call("ZADD", P .. "booting", at, id)
      else
        redis.call("ZADD", P .. "booting", lease, id)
        redis.call("HINCRBY", k, "ver", 1)
        out[#out + 1] = id
        out[#out + 1] = redis.call("HGETALL", k)
        taken = taken + 1
        if taken == n then flush() return out end
      end
    end
  end
end
flush()
return out`)

// ClaimBoots returns up to n booting phones due now and at least as old as
// the fleet's first check (see Checks), and holds them for lease: no other
// worker claims them until then. It also returns the first check in
// force.
func (s *Store) ClaimBoots(ctx context.Context, n int, lease time.Duration, c Checks) ([]Phone, time.Duration, error) {
	now := s.Now()
	lo, hi := c.bounds()
	v, err := s.run(ctx, claimBootsScript, now, n, now.Add(lease).UnixMilli(), lo, hi)
	if err != nil {
		return nil, 0, err
	}
	a, _ := v.([]any)
	if len(a) == 0 {
		return nil, 0, fmt.Errorf("fleet: claim of boots answered nothing")
	}
	msFirst, _ := a[0].(int64)
	var out []Phone
	for i := 1; i+1 < len(a); i += 2 {
		id, _ := a[i].(string)
		fields, _ := a[i+1].([]any)
		out = append(out, phoneOf(id, pairs(fields)))
	}
	return out, time.Duration(msFirst) * time.Millisecond, nil
}

// Where a boot settle takes a booting phone.
const (
	// BootReady: GeeLark reports it Started (or a callback said so).
	BootReady = "ready"
	// BootLater: check it again at Due.
	BootLater = "later"
	// BootRetry: it failed to boot; started again as a new attempt at Due,
	// by a new task.
	BootRetry = "retry"
	// BootDead: it failed to boot and its attempts ran out.
	BootDead = "dead"
)

// BootSettle is a check's word on one claimed phone.
type BootSettle struct {
	ID string
	// Ver is the record's version as the claim left it.
	Ver int64
	To  string
	// Reason, Code and Msg say why a boot failed.
	Reason string
	Code   int
	Msg    string
	// Due is the next check (BootLater) or when the new start is due
	// (BootRetry).
	Due time.Time
	// Seen and FirstCheck are what a check saw (BootLater).
	Seen       string
	FirstCheck time.Duration
}

// BootSettled is what a boot settle did to one phone.
type BootSettled struct {
	ID string
	// OK is false when the phone was no longer booting at the claimed
	// version: another worker, a callback or a stop got there first, and
	// nothing was written.
	OK bool
	// Gen and Task name the new task of a BootRetry.
	Gen  int64
	Task int
	// Guard is when the billing guard stops a phone settled ready (zero:
	// none): its stop task is the caller's to write.
	Guard time.Time
}

// settleBootsScript: ARGV[8] the max runtime (ms), then 9 values a phone:
// ID, version, to, reason, code, msg, due, seen, first check (ms).
var settleBootsScript = script(`
local maxrt = tonumber(ARGV[8])
local out = {}
for i = 9, #ARGV, 9 do
  local r = load(ARGV[i])
  local ver, to, reason, code, msg = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  local due, seen, fc = tonumber(ARGV[i + 6]), ARGV[i + 7], ARGV[i + 8]
  local ok = r.st == "booting" and r.ver == ver
  local guard = 0
  if ok then
    local boot = {bt_at = false, bt_dl = false, bt_seen = false, bt_fc = false, bt_v = false}
    if to == "ready" then
      guard = guardof(r, maxrt)
      if guard > 0 then boot.guard = guard end
      move(r, "ready", boot, "ready", {url = r.url})
      if guard > 0 then live(r, NOW + GRACE) end
    elseif to == "later" then
      move(r, nil, {bt_seen = seen ~= "" and seen or false, bt_fc = tonumber(fc) > 0 and fc or false, bt_v = false})
      redis.call("ZADD", P .. "booting", due, r._id)
    elseif to == "retry" then
      boot.tk, boot.due, boot.reason, boot.msg, boot.code = num(r.tk) + 1, due, reason, msg, code
      move(r, "retry", boot, "retry")
      live(r, due + GRACE)
    elseif to == "dead" then
      boot.reason, boot.msg, boot.code = reason, msg, code
      move(r, "dead", boot, "dead")
      bury(r)
    end
  end
  out[#out + 1] = ok and "1" or "0"
  out[#out + 1] = r.gen or "0"
  out[#out + 1] = r.tk or "1"
  out[#out + 1] = tostring(guard)
end
flush()
return out`)

// SettleBoots writes the word of a check on claimed boots. maxRuntime is
// the billing guard of a phone settled ready without a stop-after of its
// own (0: none).
func (s *Store) SettleBoots(ctx context.Context, maxRuntime time.Duration, ss []BootSettle) ([]BootSettled, error) {
	if len(ss) == 0 {
		return nil, nil
	}
	args := make([]any, 0, 1+9*len(ss))
	args = append(args, maxRuntime.Milliseconds())
	for _, x := range ss {
		args = append(args, x.ID, strconv.FormatInt(x.Ver, 10), x.To, x.Reason, strconv.Itoa(x.Code), x.Msg,
			ms(x.Due), x.Seen, msDur(x.FirstCheck))
	}
	v, err := s.run(ctx, settleBootsScript, s.Now(), args...)
	if err != nil {
		return nil, err
	}
	res := strs(v)
	out := make([]BootSettled, len(ss))
	for i, x := range ss {
		out[i] = BootSettled{ID: x.ID, OK: res[4*i] == "1", Gen: atoi64(res[4*i+1]), Task: atoi(res[4*i+2]),
			Guard: msTime(res[4*i+3])}
	}
	return out, nil
}

// verdictScript records a callback's verdict ARGV[9] on booting phone
// ARGV[8] and makes it due at once, whatever its age.
var verdictScript = script(`
local r = load(ARGV[8])
if r.st ~= "booting" then return 0 end
move(r, nil, {bt_v = ARGV[9]})
redis.call("ZADD", P .. "booting", NOW, r._id)
flush()
return 1`)

// Verdict records GeeLark's word on a booting phone (from a callback):
// ready or not. The next worker to look settles it without a status call.
// It reports whether the phone was booting.
func (s *Store) Verdict(ctx context.Context, id string, ready bool) (bool, error) {
	v := VerdictFailed
	if ready {
		v = VerdictReady
	}
	n, err := s.run(ctx, verdictScript, s.Now(), id, v)
	return n == int64(1), err
}
