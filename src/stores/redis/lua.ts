import { MEMBER_PLAYER_FROM } from "./member";

/**
 * Lua sources of the Redis rank store. Each script touches only the keys it is given (one
 * board-period, one hash-tag slot) and runs atomically, so readers never see the ZSET and the
 * HASHes disagree. Read scripts run as EVALSHA_RO (allowed on replicas). Numbers go in and out as
 * strings or integers, never as Lua floats formatted by Lua (which would print 1e+15).
 */

/** A script's source and whether it only reads (EVALSHA_RO/EVAL_RO). */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly readonly: boolean;
}

/** The error reply of a read script whose board-period has no ready marker (see RankKeys.ready). */
export const NOT_READY_REPLY = "NOTREADY";

// Shared guard of every read script (KEYS: z, m, ready): without the ready marker the keys may
// hold only part of the board-period, so the script refuses instead of answering from them. It
// refuses the same way when the marker trails the oldest watermark the reader accepts (the last
// ARGV; '0' accepts any: keys that missed writes the reader knows of), and when the ZSET and the
// HASH disagree on how many players there are (one of them evicted or lost: they are written
// together, one entry each per player).
const READY_GUARD = `
local marker = redis.call('GET', KEYS[3])
if not marker then
  return redis.error_reply('${NOT_READY_REPLY} this board-period is not loaded in Redis yet')
end
if (tonumber(marker) or 0) < (tonumber(ARGV[#ARGV]) or 0) then
  return redis.error_reply('${NOT_READY_REPLY} this board-period trails writes already applied elsewhere')
end
if redis.call('ZCARD', KEYS[1]) ~= redis.call('HLEN', KEYS[2]) then
  return redis.error_reply('${NOT_READY_REPLY} this board-period lost part of its keys')
end
`;

// Shared helper: the member inside a `${version}|${member}` hash value (ids may contain '|', the
// version never does, so split at the first one).
const MEMBER_OF = `
local function member_of(record)
  local sep = string.find(record, '|', 1, true)
  if not sep then return nil end
  return string.sub(record, sep + 1)
end
`;

// Shared by read scripts whose KEYS[4] is the display HASH: a member's display JSON, '' for none
// (Lua arrays end at the first nil, so every entry gets a string).
const DISPLAY_OF = `
local function display_of(member)
  return redis.call('HGET', KEYS[4], string.sub(member, ${MEMBER_PLAYER_FROM})) or ''
end
`;

// Shared by page, after and around: appends member, score, display of each ZRANGE WITHSCORES item.
const PUSH_ENTRIES = `
local function push_entries(out, items)
  for i = 1, #items, 2 do
    out[#out + 1] = items[i]
    out[#out + 1] = items[i + 1]
    out[#out + 1] = display_of(items[i])
  end
  return out
end
`;

// Shared by apply and build: the version-guarded upsert of (playerId, version, sortScore, member,
// display) records read from ARGV[from..] (display: JSON of the display fields, '' for none).
// Returns how many were applied.
const APPLY_FN = `
local function apply(z, m, d, from)
  local applied = 0
  for i = from, #ARGV, 5 do
    local player, version, score, member = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
    local display = ARGV[i + 4]
    local record = redis.call('HGET', m, player)
    local fresh = true
    if record then
      local sep = string.find(record, '|', 1, true)
      if sep and tonumber(string.sub(record, 1, sep - 1)) >= tonumber(version) then
        fresh = false
      elseif sep then
        local old = string.sub(record, sep + 1)
        if old ~= member then redis.call('ZREM', z, old) end
      end
    end
    if fresh then
      redis.call('ZADD', z, score, member)
      redis.call('HSET', m, player, version .. '|' .. member)
      if display == '' then redis.call('HDEL', d, player) else redis.call('HSET', d, player, display) end
      applied = applied + 1
    end
  end
  return applied
end
`;

// Shared by apply, swap and clear: ARGV[n] is when the board-period's keys expire (epoch ms; '0'
// = never, the all-time period). Every writer sets it on all the keys, so they go together;
// one in the past deletes them at once (a late write to a period Redis already dropped).
const EXPIRE_FN = `
local function expire_at(at, keys)
  if tonumber(at) > 0 then
    for _, key in ipairs(keys) do redis.call('PEXPIREAT', key, at) end
  end
end
`;

/**
 * How far a ready marker may trail the watermark a projection expects before the keys count as
 * behind (a restore, lost writes) rather than as still receiving in-flight writes: the projection
 * of an earlier batch can land after a later one, by up to a write timeout and a batch.
 */
export const WATERMARK_TOLERANCE_MS = 15_000;

/**
 * KEYS: z, m, ready, d. ARGV: expire-at ms ('0' = never), written-at ms (the batch's Postgres
 * time; '0': none), expected-at ms (the watermark the board-period's object had before this
 * batch; '0': unknown), then (playerId, version, sortScore, member, display) per change. Applies a change only
 * when its version is newer than the recorded one (repeats and out-of-order deliveries are no-ops,
 * on every operator), removes the player's previous member, and (re)sets the keys' expiry. The
 * ready marker holds the keys' watermark: it moves up to written-at, unless it trails expected-at
 * by more than the tolerance, in which case the keys missed writes and the marker is dropped
 * (readers then refuse them until the cron reloads); it is dropped as well when the ZSET and the
 * HASH disagree on the number of players (one of them was evicted or lost). Returns
 * {applied, behind (0/1)}.
 */
export const APPLY_SCRIPT: LuaScript = {
  name: "apply",
  readonly: false,
  source: `${APPLY_FN}${EXPIRE_FN}
local behind = 0
local marker = redis.call('GET', KEYS[3])
if marker and redis.call('ZCARD', KEYS[1]) ~= redis.call('HLEN', KEYS[2]) then
  redis.call('DEL', KEYS[3])
  marker = false
  behind = 1
end
local applied = apply(KEYS[1], KEYS[2], KEYS[4], 4)
if marker then
  local at, written, expected = tonumber(marker) or 0, tonumber(ARGV[2]), tonumber(ARGV[3])
  if expected > 0 and at + ${WATERMARK_TOLERANCE_MS} < expected then
    redis.call('DEL', KEYS[3])
    behind = 1
  elseif written > at then
    redis.call('SET', KEYS[3], ARGV[2])
  end
end
expire_at(ARGV[1], {KEYS[1], KEYS[2], KEYS[3], KEYS[4]})
return {applied, behind}
`,
};

/** The error a build chunk gets when its build keys are gone (expired, or swapped in already). */
export const BUILD_GONE_REPLY = "BUILDGONE";

/**
 * KEYS: build z, build m, build d. ARGV: ttl ms, resumed ('1': the build must exist already, '0':
 * it may start here), then records as APPLY_SCRIPT. Fills the keys of a rebuild and (re)arms their
 * TTL, so an abandoned rebuild cleans itself up. A resumed build whose keys are gone (their TTL
 * ran out while it stalled, or another run swapped them in) refuses, writing nothing: the rows
 * would otherwise start a partial build that a later swap would publish as whole.
 */
export const BUILD_SCRIPT: LuaScript = {
  name: "build",
  readonly: false,
  source: `${APPLY_FN}
if ARGV[2] == '1' and redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('${BUILD_GONE_REPLY} rank rebuild keys are gone')
end
local applied = apply(KEYS[1], KEYS[2], KEYS[3], 3)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[1])
return applied
`,
};

/**
 * KEYS: z, m, ready, d. ARGV: playerIds..., min watermark. Returns {total, r1, r2, ...}: per
 * player nil (not on the board) or {rank0, score, member, display}. One call for any number of
 * players (friends), so Upstash runs one script, not one per player.
 */
export const RANK_SCRIPT: LuaScript = {
  name: "rank",
  readonly: true,
  source: `${MEMBER_OF}${DISPLAY_OF}${READY_GUARD}
local out = {redis.call('ZCARD', KEYS[1])}
for i = 1, #ARGV - 1 do
  local found = false
  local record = redis.call('HGET', KEYS[2], ARGV[i])
  local member = record and member_of(record)
  if member then
    local rank = redis.call('ZRANK', KEYS[1], member)
    if rank then
      found = {rank, redis.call('ZSCORE', KEYS[1], member), member, display_of(member)}
    end
  end
  out[i + 1] = found
end
return out
`,
};

/**
 * KEYS: z, m, ready. ARGV: playerIds. The reconciliation's sample of a board-period, read in one
 * atomic step: {marker or nil, ZCARD, HLEN, then per player its HASH record (`version|member`) or
 * nil and that member's ZSET score or nil}. No ready guard: it reports the keys as they are, and
 * the caller compares them with Postgres (services/projection/rank-check.ts).
 */
export const SAMPLE_SCRIPT: LuaScript = {
  name: "sample",
  readonly: true,
  source: `${MEMBER_OF}
local out = {redis.call('GET', KEYS[3]), redis.call('ZCARD', KEYS[1]), redis.call('HLEN', KEYS[2])}
for i = 1, #ARGV do
  local record = redis.call('HGET', KEYS[2], ARGV[i])
  local member = record and member_of(record)
  out[#out + 1] = record
  out[#out + 1] = member and redis.call('ZSCORE', KEYS[1], member) or false
end
return out
`,
};

/**
 * KEYS: z, m, ready, d. ARGV: offset, limit (>= 1), min watermark. Returns {total, start,
 * member1, score1, display1, ...}.
 */
export const PAGE_SCRIPT: LuaScript = {
  name: "page",
  readonly: true,
  source: `${DISPLAY_OF}${PUSH_ENTRIES}${READY_GUARD}
local start = tonumber(ARGV[1])
local out = {redis.call('ZCARD', KEYS[1]), start}
return push_entries(out,
  redis.call('ZRANGE', KEYS[1], start, start + tonumber(ARGV[2]) - 1, 'WITHSCORES'))
`,
};

/**
 * KEYS: z, m, ready, d. ARGV: cursor sortScore, cursor member, limit (>= 1), min watermark.
 * Returns {total, start, member1, score1, display1, ...}: the entries strictly after (score,
 * member). The start
 * index is ZCOUNT(-inf, (score) plus the members of equal score that are <= the cursor member,
 * found by a binary search over that run (BYLEX ranges are undefined when scores differ). The
 * cursor's player need not still be there. Members are compared byte-wise: Lua's '<' uses
 * strcoll, i.e. the server's locale.
 */
export const AFTER_SCRIPT: LuaScript = {
  name: "after",
  readonly: true,
  source: `${DISPLAY_OF}${PUSH_ENTRIES}${READY_GUARD}
local function bytes_le(a, b)
  if a == b then return true end
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a <= #b
end
local key, score, cursor = KEYS[1], ARGV[1], ARGV[2]
local lo = redis.call('ZCOUNT', key, '-inf', '(' .. score)
local hi = redis.call('ZCOUNT', key, '-inf', score)
while lo < hi do
  local mid = math.floor((lo + hi) / 2)
  if bytes_le(redis.call('ZRANGE', key, mid, mid)[1], cursor) then lo = mid + 1 else hi = mid end
end
local out = {redis.call('ZCARD', key), lo}
return push_entries(out, redis.call('ZRANGE', key, lo, lo + tonumber(ARGV[3]) - 1, 'WITHSCORES'))
`,
};

/**
 * KEYS: z, m, ready, d. ARGV: playerId, n, min watermark. Returns nil, or {total, start, rank0,
 * member1, score1, display1, ...}.
 */
export const AROUND_SCRIPT: LuaScript = {
  name: "around",
  readonly: true,
  source: `${MEMBER_OF}${DISPLAY_OF}${PUSH_ENTRIES}${READY_GUARD}local record = redis.call('HGET', KEYS[2], ARGV[1])
if not record then return false end
local member = member_of(record)
if not member then return false end
local rank = redis.call('ZRANK', KEYS[1], member)
if not rank then return false end
local n = tonumber(ARGV[2])
local start = math.max(0, rank - n)
local out = {redis.call('ZCARD', KEYS[1]), start, rank}
return push_entries(out, redis.call('ZRANGE', KEYS[1], start, rank + n, 'WITHSCORES'))
`,
};

/**
 * KEYS: z, m, ready. ARGV: sortScore, min watermark. Returns {entries with score <= sortScore,
 * total}.
 */
export const FOR_SCORE_SCRIPT: LuaScript = {
  name: "for-score",
  readonly: true,
  source: `${READY_GUARD}
return {redis.call('ZCOUNT', KEYS[1], '-inf', ARGV[1]), redis.call('ZCARD', KEYS[1])}
`,
};

/**
 * KEYS: z, m, built z, built m, ready, d, built d. ARGV: loaded-at (epoch ms), expire-at ms ('0'
 * = never). Renames the built keys over the live ones in one atomic step (the display HASH only
 * exists when some record has display fields) (a reader sees the old set or the
 * new one, never a mix), replaces the build TTL by the board-period's expiry and sets the ready
 * marker. Errors (BUILDGONE) when a built key is gone (it expired: the rebuild stalled too long;
 * or another run swapped it in already), leaving the live keys and the marker untouched.
 */
export const SWAP_SCRIPT: LuaScript = {
  name: "swap",
  readonly: false,
  source: `${EXPIRE_FN}
if redis.call('EXISTS', KEYS[3]) == 0 or redis.call('EXISTS', KEYS[4]) == 0 then
  return redis.error_reply('${BUILD_GONE_REPLY} rank rebuild keys are gone (expired or swapped)')
end
redis.call('RENAME', KEYS[3], KEYS[1])
redis.call('RENAME', KEYS[4], KEYS[2])
if redis.call('EXISTS', KEYS[7]) == 1 then
  redis.call('RENAME', KEYS[7], KEYS[6])
  redis.call('PERSIST', KEYS[6])
else
  redis.call('DEL', KEYS[6])
end
redis.call('PERSIST', KEYS[1])
redis.call('PERSIST', KEYS[2])
redis.call('SET', KEYS[5], ARGV[1])
local total = redis.call('ZCARD', KEYS[1])
expire_at(ARGV[2], {KEYS[1], KEYS[2], KEYS[5], KEYS[6]})
return total
`,
};

/**
 * KEYS: z, m, ready, d. ARGV: loaded-at (epoch ms), expire-at ms ('0' = never). Loaded and empty.
 */
export const CLEAR_SCRIPT: LuaScript = {
  name: "clear",
  readonly: false,
  source: `${EXPIRE_FN}
redis.call('DEL', KEYS[1], KEYS[2], KEYS[4])
redis.call('SET', KEYS[3], ARGV[1])
expire_at(ARGV[2], {KEYS[3]})
return 0
`,
};

/**
 * KEYS: z, m, ready. ARGV: loaded-at (epoch ms), expire-at ms ('0' = never). Marks a board-period
 * that Postgres holds no record of (a period about to start) loaded and empty, only if it has no
 * marker and no member yet: a projection that landed first means the keys need a load instead.
 * Projections write to ready keys like any other, so the period stays whole as it fills. Returns
 * 1 when marked, 0 when left alone.
 */
export const PREPARE_SCRIPT: LuaScript = {
  name: "prepare",
  readonly: false,
  source: `${EXPIRE_FN}
if redis.call('EXISTS', KEYS[1], KEYS[2], KEYS[3]) > 0 then return 0 end
redis.call('SET', KEYS[3], ARGV[1])
expire_at(ARGV[2], {KEYS[3]})
return 1
`,
};

/**
 * KEYS: z, m, ready, d. ARGV: (playerId, version) pairs. Removes each player whose recorded
 * version is at most the given one (a moderator's removal: the last version Postgres had), from
 * the ZSET and both HASHes together, so ZCARD and HLEN stay equal and the ready marker stays
 * true. A newer recorded version is a record written after the removal: it stays. Returns how
 * many were removed.
 */
export const REMOVE_SCRIPT: LuaScript = {
  name: "remove",
  readonly: false,
  source: `${MEMBER_OF}
local removed = 0
for i = 1, #ARGV, 2 do
  local player, version = ARGV[i], tonumber(ARGV[i + 1])
  local record = redis.call('HGET', KEYS[2], player)
  local sep = record and string.find(record, '|', 1, true)
  if sep and tonumber(string.sub(record, 1, sep - 1)) <= version then
    redis.call('ZREM', KEYS[1], member_of(record))
    redis.call('HDEL', KEYS[2], player)
    redis.call('HDEL', KEYS[4], player)
    removed = removed + 1
  end
end
return removed
`,
};
