package fleet

// luaLib is the part every script that moves phones' records shares: how a
// record is read, how it moves from one state to another, and what moves
// with it (the counts by state, the index of phones with a task to come,
// the booting index, the events stream, the dead-letter ledger and the
// requests the phone belongs to). One script runs for all the phones of
// one call, one chunk of a request or one status check: each phone's step
// is atomic with everything it touches.
//
// The keys are those of one Space and share its hash tag. Scripts that
// find their phones in an index (the booting phones due, the parked ones)
// cannot name every key in KEYS; they build them from the prefix, which
// is safe because every key they touch is in the slot of KEYS[1].
//
// What a step touches beside the record is gathered while the script runs
// and written once at its end (flush, which every script calls before it
// returns): the counts by state, the live and booting indexes, and the
// requests' outcomes, so that a call's 200 phones cost a few commands
// each, not a dozen. A field a step clears is written empty: an empty
// field reads as an absent one.
//
// ARGV[1..7], common to all: the prefix, now (Unix ms), now (RFC 3339, the
// events' "at"), the events stream's cap, how long ended records and
// requests are kept (s), the grace after which the reconciler looks for a
// tasked phone's task (ms), and the dead-letter retention (ms, 0: none).
const luaLib = `
local P, NOW, NOWS, AT, EVMAX = ARGV[1], tonumber(ARGV[2]), ARGV[2], ARGV[3], ARGV[4]
local RET, GRACE, DEADRET = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local LIVE = {queued=true, scheduled=true, retry=true, sending=true, booting=true, stopping=true}
local ENDS = {ready=true, dead=true, cancelled=true, stopped=true}
local TASKED = {queued=true, scheduled=true, retry=true, sending=true, stopping=true}

-- Written by flush: count deltas by state; live index members to add
-- (score, member) and to remove; booting and parked members to remove; the
-- requests' outcomes, by request ID.
local CNT, LIVEADD, LIVEREM, BOOTREM, PARKREM, REQS = {}, {}, {}, {}, {}, {}

local function load(id)
  local k = P .. "phone:" .. id
  local a = redis.call("HGETALL", k)
  local r = {}
  for i = 1, #a, 2 do
    if a[i + 1] ~= "" then r[a[i]] = a[i + 1] end
  end
  r._k, r._id = k, id
  return r
end

local function num(v) return tonumber(v or "") or 0 end

local function words(s)
  local t = {}
  if s then for w in string.gmatch(s, "%S+") do t[#t + 1] = w end end
  return t
end

local function has(s, w)
  for x in string.gmatch(s or "", "%S+") do if x == w then return true end end
  return false
end

local function add(s, w)
  if w == "" or has(s, w) then return s or "" end
  if not s or s == "" then return w end
  return s .. " " .. w
end

-- tasked: whether r waits for a task of its own (a start or stop to come,
-- or the billing guard's stop).
local function tasked(r)
  return TASKED[r.st] or (r.st == "ready" and num(r.guard) > 0)
end

-- emit appends one step of r's life to the events stream.
local function emit(r, name, e)
  e = e or {}
  local req = r.reqs or ""
  if r.oreqs then req = (req == "" and r.oreqs) or (req .. " " .. r.oreqs) end
  redis.call("XADD", P .. "events", "MAXLEN", "~", EVMAX, "*",
    "id", r._id, "event", name, "action", r.act or "start", "attempt", tostring(e.att or r.att or 0),
    "code", tostring(e.code or r.code or 0), "reason", e.reason or r.reason or "", "msg", e.msg or r.msg or "",
    "url", e.url or "", "at", AT, "req", req, "label", r.labels or "")
end

-- endreq marks request rid (key rk) ended, keeps it RET seconds more, and
-- queues its notification when it has a URL to tell.
local function endreq(rk, rid, notify)
  redis.call("HSET", rk, "ended", AT)
  if notify and notify ~= "" then
    redis.call("RPUSH", P .. "outbox", "request " .. rid)
  end
  redis.call("EXPIRE", rk, RET)
  redis.call("EXPIRE", rk .. ":ids", RET)
  redis.call("EXPIRE", rk .. ":out", RET)
end

-- jstr is s as a JSON string: quoted as it is when nothing in it needs
-- escaping, which is most of the time.
local function jstr(s)
  if string.find(s, '[%c"\\\128-\255]') then return cjson.encode(s) end
  return '"' .. s .. '"'
end

-- finish records the phone's outcome st for each request of list (written
-- by flush).
local function finish(r, list, st, e)
  if #list == 0 then return end
  e = e or {}
  local out = '{"state":"' .. st .. '","action":"' .. (e.act or r.act or "start") .. '","code":' .. num(e.code or r.code) ..
    ',"reason":' .. jstr(e.reason or r.reason or "") .. ',"msg":' .. jstr(e.msg or r.msg or "") ..
    ',"url":' .. jstr(e.url or r.url or "") .. ',"at":"' .. AT .. '"}'
  for _, rid in ipairs(list) do
    local b = REQS[rid]
    if not b then b = {}; REQS[rid] = b end
    b[#b + 1] = r._id
    b[#b + 1] = out
  end
end

-- move sets r's fields f (false clears one), moves r to state st (nil: it
-- stays), bumps its version, and keeps the counts, indexes and lifetime;
-- ev, when set, is the step appended to the events stream (with e's
-- fields; "a+b" appends two). Entering an end state ends r's requests with
-- it.
local function move(r, st, f, ev, e)
  local old, wastasked, waited = r.st, r.st and tasked(r), r.waits ~= nil
  st = st or old
  local set, n = {}, 0
  for k, v in pairs(f) do
    if v == false then
      if r[k] then set[n + 1] = k; set[n + 2] = ""; n = n + 2 end
      r[k] = nil
    else
      if type(v) ~= "string" then v = tostring(v) end
      r[k] = v
      set[n + 1] = k
      set[n + 2] = v
      n = n + 2
    end
  end
  r.ver = tostring(num(r.ver) + 1)
  set[n + 1] = "ver"
  set[n + 2] = r.ver
  n = n + 2
  if st ~= old then
    r.st, r.since = st, NOWS
    set[n + 1] = "st"
    set[n + 2] = st
    set[n + 3] = "since"
    set[n + 4] = NOWS
    n = n + 4
    if old and LIVE[old] then CNT[old] = (CNT[old] or 0) - 1 end
    if LIVE[st] then CNT[st] = (CNT[st] or 0) + 1 end
    if old == "booting" then BOOTREM[#BOOTREM + 1] = r._id end
  end
  if wastasked and not tasked(r) then LIVEREM[#LIVEREM + 1] = r._id end
  if waited and not r.waits then PARKREM[#PARKREM + 1] = r._id end
  if ev then
    for name in string.gmatch(ev, "[^+]+") do emit(r, name, e) end
  end
  if ENDS[st] and st ~= old then
    local list = words(r.reqs)
    for _, x in ipairs(words(r.oreqs)) do list[#list + 1] = x end
    finish(r, list, st, e)
    for _, k in ipairs({"reqs", "labels", "oreqs"}) do
      if r[k] then set[n + 1] = k; set[n + 2] = ""; n = n + 2; r[k] = nil end
    end
  end
  redis.call("HSET", r._k, unpack(set))
  if ENDS[st] then
    redis.call("EXPIRE", r._k, RET)
  elseif old and ENDS[old] then
    redis.call("PERSIST", r._k)
  end
end

-- live makes r due for the reconciler's look at at (ms).
local function live(r, at)
  LIVEADD[#LIVEADD + 1] = at
  LIVEADD[#LIVEADD + 1] = r._id
end

-- batched runs cmd on key with the items of list, a few thousand a call.
local function batched(cmd, key, list)
  for i = 1, #list, 4000 do
    redis.call(cmd, key, unpack(list, i, math.min(i + 3999, #list)))
  end
end

-- flush writes what the script's steps gathered: the counts, the indexes,
-- and each request's outcomes (a request whose last phone ended is marked
-- ended, and its notification queued, in this same script). Every script
-- calls it before it returns.
local function flush()
  for st, d in pairs(CNT) do
    if d ~= 0 then redis.call("HINCRBY", P .. "count", st, d) end
  end
  batched("ZREM", P .. "live", LIVEREM)
  batched("ZADD", P .. "live", LIVEADD)
  batched("ZREM", P .. "booting", BOOTREM)
  batched("ZREM", P .. "parked", PARKREM)
  for rid, b in pairs(REQS) do
    local rk = P .. "req:" .. rid
    local meta = redis.call("HMGET", rk, "action", "each", "sealed", "notify")
    if meta[1] then
      local n = 0
      for i = 1, #b, 4000 do
        n = n + redis.call("HSET", rk .. ":out", unpack(b, i, math.min(i + 3999, #b)))
      end
      if meta[2] == "1" then
        for i = 1, #b, 2 do redis.call("RPUSH", P .. "outbox", "phone " .. rid .. " " .. b[i]) end
      end
      if n > 0 and redis.call("HINCRBY", rk, "open", -n) <= 0 and meta[3] == "1" then
        endreq(rk, rid, meta[4])
      end
    end
  end
  CNT, LIVEADD, LIVEREM, BOOTREM, PARKREM, REQS = {}, {}, {}, {}, {}, {}
end

-- bury writes r's entry in the dead-letter ledger, one per phone and
-- action, and drops up to 500 entries older than the retention.
local function bury(r)
  local act = r.act or "start"
  local m = r._id .. "/" .. act
  redis.call("HSET", P .. "dead", m, cjson.encode({id = r._id, action = act, code = num(r.code),
    reason = r.reason or "", msg = r.msg or "", attempts = num(r.att), failed_at = AT,
    opts = r.opts or "", stop_after = num(r.sa)}))
  redis.call("ZADD", P .. "dead:ids", 0, m)
  redis.call("ZADD", P .. "dead:time", NOW, m)
  if DEADRET > 0 then
    local old = redis.call("ZRANGEBYSCORE", P .. "dead:time", "-inf", "(" .. (NOW - DEADRET), "LIMIT", 0, 500)
    for _, x in ipairs(old) do
      redis.call("HDEL", P .. "dead", x)
      redis.call("ZREM", P .. "dead:ids", x)
      redis.call("ZREM", P .. "dead:time", x)
    end
  end
end

-- unbury drops the phone's ledger entry for act, if any.
local function unbury(id, act)
  local m = id .. "/" .. act
  if redis.call("HDEL", P .. "dead", m) == 1 then
    redis.call("ZREM", P .. "dead:ids", m)
    redis.call("ZREM", P .. "dead:time", m)
    return true
  end
  return false
end

-- guardof is when the billing guard stops r once it is ready now: its
-- stop-after, or maxrt (ms) without one; 0 for none.
local function guardof(r, maxrt)
  local d = num(r.sa)
  if d <= 0 then d = maxrt or 0 end
  if d <= 0 then return 0 end
  return NOW + d
end

-- taskid is the asynq task ID of r's current task.
local function taskid(r)
  return r._id .. ":" .. (r.gen or "0") .. ":" .. (r.tk or "1")
end

-- owncall reports whether r is in a call of action act.
local function owncall(r, act)
  return r.call ~= nil and string.sub(r.call, 1, #act + 1) == act .. ":"
end
`
