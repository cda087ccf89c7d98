/**
 * The Lua scripts of the alert store: each runs atomically in Redis, so a record, a decision to
 * drop a due entry or an acknowledgement is all-or-nothing, whatever other replicas do meanwhile.
 */

/** Entries kept in `recent:<env>` (for `status`), and for how long. */
export const RECENT_KEEP = 50;
export const RECENT_TTL_SECONDS = 7 * 24 * 3600;

/**
 * Records one event. KEYS: seen, inst, ev, due, recent, int. ARGV: 1 dedupe TTL, 2 event id,
 * 3 event JSON, 4 event time, 5 due member, 6 due at, 7 state TTL, 8 recent entry ('' = none),
 * 9 interruption ('1'/'0'), 10 now, 11 instance id, 12… facts as field/value pairs.
 */
export const RECORD = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
for i = 12, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('HINCRBY', KEYS[2], 'version', 1)
redis.call('EXPIRE', KEYS[2], ARGV[7])
redis.call('EXPIRE', KEYS[3], ARGV[7])
redis.call('ZADD', KEYS[4], 'LT', ARGV[6], ARGV[5])
if ARGV[8] ~= '' then
  redis.call('ZADD', KEYS[5], ARGV[4], ARGV[8])
  redis.call('ZREMRANGEBYRANK', KEYS[5], 0, -${RECENT_KEEP + 1})
  redis.call('EXPIRE', KEYS[5], ${RECENT_TTL_SECONDS})
end
if ARGV[9] == '1' then
  redis.call('ZADD', KEYS[6], ARGV[10], ARGV[11])
  redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', ARGV[10] - 86400000)
  redis.call('EXPIRE', KEYS[6], 86400)
end
return 1`;

/** Drops the due entry if nothing changed since `version` was read; otherwise keeps it, due at ARGV[4]. */
export const FINISH = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if (v or '0') == ARGV[2] then redis.call('ZREM', KEYS[2], ARGV[3]) return 1 end
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
return 0`;

/** The first acknowledgement wins; KEYS: inst, due. Returns {0} (no alert), {1,…} (this one), {2, by, at}. */
export const ACK = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
if redis.call('HSETNX', KEYS[1], 'ackBy', ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'ackAt', ARGV[2])
  redis.call('HINCRBY', KEYS[1], 'version', 1)
  redis.call('ZADD', KEYS[2], 'LT', ARGV[2], ARGV[3])
  return {1, ARGV[1], ARGV[2]}
end
return {2, redis.call('HGET', KEYS[1], 'ackBy'), redis.call('HGET', KEYS[1], 'ackAt') or '0'}`;

/** Extends a lock held with token ARGV[1]. */
export const REFRESH = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
/** Releases a lock held with token ARGV[1]. */
export const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
