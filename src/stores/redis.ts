import { createHash } from 'node:crypto';
import { systemClock, type Clock } from '../clock';
import {
  RevocationStoreError, sessionAlive, type NewSession, type RefreshOutcome, type RefreshUse, type RevocationStore, type RevokedAll,
  type SessionEnd, type SessionUse, type StartedSession, type StoredSession, type StoredToken, type TokenRevocation, type TokenStatus,
} from './store';

/**
 * The commands the store sends, as ioredis' `Redis` and `Cluster` clients (v5
 * and v6) have them; ioredis itself stays an optional peer dependency.
 */
export interface RedisClientLike {
  mget(...keys: string[]): Promise<Array<string | null>>;
  eval(script: string, numberOfKeys: number, ...args: Array<string | number>): Promise<unknown>;
  /**
   * `EVALSHA`: runs a script from Redis' script cache by its SHA-1, so a script's
   * text crosses the wire once per server instead of with every call. Optional:
   * without it, every script is sent whole with `EVAL`.
   */
  evalsha?(sha1: string, numberOfKeys: number, ...args: Array<string | number>): Promise<unknown>;
  /** `CONFIG GET maxmemory-policy`, to warn when Redis may evict revocations. */
  config?(subcommand: 'GET', parameter: string): Promise<unknown>;
  /** The connection's state (`'ready'` once connected), so the policy is read once there is a connection. */
  readonly status?: string;
  once?(event: 'ready', listener: () => void): unknown;
}

/** Options of {@link RedisRevocationStore}. */
export interface RedisRevocationStoreOptions {
  /** Prefix of every key, without `{` or `}` (the hash tag is the identity's). Default `'rcjwt'`. */
  prefix?: string;
  /**
   * Called with a warning when Redis' `maxmemory-policy` is not `noeviction` (an
   * evicting Redis may drop a revocation and so accept a revoked token again), or
   * when it cannot be read. Default: `process.emitWarning`.
   */
  onWarning?: (message: string) => void;
  /**
   * This instance's clock, for the one thing the instance decides itself: whether
   * a token's session is within its limits when the token is checked. Give it the
   * manager's `clock`. Everything else (expiry, rotation, cut-offs) is on Redis'
   * own time, TIME and key expiry, so that every instance agrees. Default `Date`.
   */
  clock?: Clock;
}

// Helpers every script shares. Times are Redis' own clock, so every instance agrees.
// Out of memory under noeviction, Redis refuses a script whose first write is one that
// allocates (SET, ZADD), and runs it whole otherwise: every script that adds data writes
// that way first, so it fails whole (503); ending a session or reuse detection only deletes.
// `extend` makes a key live at least `ttl` ms ('' for ever); a key without expiry keeps none.
const LIB = `
local function now()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
local function extend(key, ttl, existed)
  if ttl == '' then redis.call('PERSIST', key) return end
  local left = redis.call('PTTL', key)
  if not existed or (left ~= -1 and left < tonumber(ttl)) then redis.call('PEXPIRE', key, ttl) end
end
local function setFor(key, value, ttl)
  if ttl == '' then redis.call('SET', key, value) else redis.call('SET', key, value, 'PX', ttl) end
end
-- Moves the cut-off past every generation handed out (monotonic: at least now, on Redis' clock),
-- for at least ttl, the horizon and every mark it replaces; ends every session but 'except'.
local function revokeAll(cutKey, horizonKey, sessionsKey, marksKey, base, ttl, except)
  local t = now()
  local generation = math.max(tonumber(redis.call('GET', cutKey) or '0') + 1, t)
  local forever = ttl == ''
  local keep = forever and 0 or tonumber(ttl)
  local horizon = redis.call('PTTL', horizonKey)
  if horizon == -1 then forever = true elseif horizon > keep then keep = horizon end
  local current = redis.call('PTTL', cutKey)
  if current == -1 then forever = true elseif current > keep then keep = current end
  local last = redis.call('ZRANGE', marksKey, -1, -1, 'WITHSCORES')
  if last[2] == 'inf' then forever = true elseif last[2] then keep = math.max(keep, tonumber(last[2]) - t) end
  -- The write Redis refuses when out of memory comes first: the script then changes nothing (503).
  if forever then redis.call('SET', cutKey, generation) else redis.call('SET', cutKey, generation, 'PX', math.max(1, math.ceil(keep))) end
  for _, mark in ipairs(redis.call('ZRANGE', marksKey, 0, -1)) do redis.call('DEL', base .. 'j:' .. mark) end
  redis.call('DEL', marksKey)
  local result = { generation }
  for _, member in ipairs(redis.call('ZRANGE', sessionsKey, 0, -1)) do
    local key = base .. 's:' .. member
    local raw = redis.call('GET', key)
    if raw then
      local session = cjson.decode(raw)
      if session.i == except then
        session.g = generation
        redis.call('SET', key, cjson.encode(session), 'KEEPTTL')
      else
        redis.call('DEL', key)
        redis.call('ZREM', sessionsKey, member)
        table.insert(result, session.i)
      end
    else
      redis.call('ZREM', sessionsKey, member)
    end
  end
  return result
end
-- Marks a jti (value '1': revoked; a time: used up by a refresh then) among the identity's bounded
-- marks; beyond the bound they collapse into a cut-off (revokeAll's answer). 0 otherwise.
local function mark(markKey, marksKey, cutKey, horizonKey, sessionsKey, base, ttl, max, cutoffTtl, member, value)
  local t = now()
  local live = redis.call('ZCOUNT', marksKey, '(' .. t, '+inf')
  if not redis.call('ZSCORE', marksKey, member) and live >= tonumber(max) then
    local keep = ''
    if ttl ~= '' and cutoffTtl ~= '' then keep = math.max(tonumber(ttl), tonumber(cutoffTtl)) end
    return revokeAll(cutKey, horizonKey, sessionsKey, marksKey, base, tostring(keep), '')
  end
  local existed = redis.call('EXISTS', marksKey) == 1
  if ttl == '' then
    redis.call('SET', markKey, value)
    redis.call('ZADD', marksKey, 'inf', member)
  else
    redis.call('ZADD', marksKey, 'GT', t + tonumber(ttl), member)
    local left = redis.call('PTTL', markKey)
    if left ~= -1 and left < tonumber(ttl) then redis.call('SET', markKey, value, 'PX', ttl) end
  end
  redis.call('ZREMRANGEBYSCORE', marksKey, '-inf', t)
  extend(marksKey, ttl, existed)
  return 0
end
`;

/** A Lua script and its SHA-1, computed once: the name Redis caches it under. */
interface Script {
  readonly text: string;
  readonly sha: string;
}

function script(text: string): Script {
  return { text, sha: createHash('sha1').update(text).digest('hex') };
}

// KEYS: cut-off, horizon, sessions index, marks index; ARGV: base, ttl, except.
const REVOKE_ALL = script(`${LIB}
return revokeAll(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3])`);

// KEYS: mark, marks index, cut-off, horizon, sessions index; ARGV: base, ttl, max per identity, cut-off ttl, encoded jti.
const REVOKE_TOKEN = script(`${LIB}
return mark(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], '1')`);

// A refresh token outside sessions used up under rotation, in one step: the first use marks it
// with its time; a later one is a race within the grace interval, reuse after it.
// KEYS: as REVOKE_TOKEN; ARGV: as REVOKE_TOKEN, then the token's generation and the grace interval.
const USE_UP = script(`${LIB}
local used = redis.call('GET', KEYS[1])
if used == '1' then return 'revoked' end
if used then
  if now() - tonumber(used) < tonumber(ARGV[7]) then return 'concurrent' end
  return 'reused'
end
if tonumber(ARGV[6]) < tonumber(redis.call('GET', KEYS[3]) or '0') then return 'revoked' end
mark(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tostring(now()))
return 'active'`);

// KEYS: cut-off, sessions index, record; ARGV: base, id, refresh jti, max age, ttl, metadata, max per identity, encoded id, idle timeout.
const START_SESSION = script(`${LIB}
local t = now()
local result = { tonumber(redis.call('GET', KEYS[1]) or '0') }
local session = { i = ARGV[2], c = t, u = t, g = result[1], r = ARGV[3], p = '', pa = 0, m = ARGV[6] }
if ARGV[4] ~= '' then session.x = t + tonumber(ARGV[4]) end
if ARGV[9] ~= '' then session.t = tonumber(ARGV[9]) end
setFor(KEYS[3], cjson.encode(session), ARGV[5])
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if redis.call('EXISTS', ARGV[1] .. 's:' .. member) == 0 then redis.call('ZREM', KEYS[2], member) end
end
local count = redis.call('ZCARD', KEYS[2])
while count >= tonumber(ARGV[7]) do
  local oldest = redis.call('ZPOPMIN', KEYS[2])
  local key = ARGV[1] .. 's:' .. oldest[1]
  local raw = redis.call('GET', key)
  if raw then
    table.insert(result, cjson.decode(raw).i)
    redis.call('DEL', key)
  end
  count = count - 1
end
local existed = redis.call('EXISTS', KEYS[2]) == 1
-- Scores strictly increase, so logins within one millisecond still end oldest first.
local newest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
local score = t
if newest[2] and tonumber(newest[2]) >= t then score = tonumber(newest[2]) + 1 end
redis.call('ZADD', KEYS[2], score, ARGV[8])
extend(KEYS[2], ARGV[5], existed)
return result`);

// KEYS: cut-off, mark, record, sessions index; ARGV: generation, jti, grace, rotation, encoded id.
// Answers the outcome, and with 'active' the session's absolute end (-1: none).
// Security-relevant deletions come before any write Redis could refuse when out of memory.
const USE_REFRESH = script(`${LIB}
if redis.call('EXISTS', KEYS[2]) == 1 then return { 'revoked' } end
local raw = redis.call('GET', KEYS[3])
if not raw then return { 'revoked' } end
local session = cjson.decode(raw)
if math.max(tonumber(ARGV[1]), session.g) < tonumber(redis.call('GET', KEYS[1]) or '0') then return { 'revoked' } end
local t = now()
local outcome = 'active'
if session.x and t >= session.x then outcome = 'expired'
elseif session.t and t - session.u > session.t then outcome = 'idle'
elseif ARGV[4] == '1' and ARGV[2] ~= session.r then
  if ARGV[2] == session.p and t - session.pa < tonumber(ARGV[3]) then return { 'concurrent' } end
  outcome = 'reused'
end
if outcome ~= 'active' then
  redis.call('DEL', KEYS[3])
  redis.call('ZREM', KEYS[4], ARGV[5])
  return { outcome }
end
if ARGV[4] == '1' then
  session.p = ARGV[2]
  session.pa = t
  session.r = ''
end
session.u = t
redis.call('SET', KEYS[3], cjson.encode(session), 'KEEPTTL')
return { 'active', session.x or -1 }`);

// KEYS: record, sessions index; ARGV: the successor's jti, ttl. Answers the session's absolute end (-1: none), 0 when it ended or is past its limits.
const ROTATED = script(`${LIB}
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local session = cjson.decode(raw)
local t = now()
if (session.x and t >= session.x) or (session.t and t - session.u > session.t) then return 0 end
session.r = ARGV[1]
redis.call('SET', KEYS[1], cjson.encode(session), 'KEEPTTL')
extend(KEYS[1], ARGV[2], true)
extend(KEYS[2], ARGV[2], true)
return session.x or -1`);

// KEYS: record, sessions index; ARGV: encoded id.
const END_SESSION = script(`
local ended = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return ended`);

// KEYS: horizon; ARGV: ttl.
const EXTEND_HORIZON = script(`${LIB}
local existed = redis.call('EXISTS', KEYS[1]) == 1
if ARGV[1] == '' then redis.call('SET', KEYS[1], '1') return 0 end
if not existed then redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) else extend(KEYS[1], ARGV[1], true) end
return 0`);

// KEYS: sessions index; ARGV: base. Drops index entries whose record expired.
const SESSIONS = script(`
local found = {}
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local raw = redis.call('GET', ARGV[1] .. 's:' .. member)
  if raw then table.insert(found, raw) else redis.call('ZREM', KEYS[1], member) end
end
return found`);

/**
 * Revocations and sessions in Redis, shared by every instance of the app; works
 * with a single server and with Redis Cluster. All keys of one identity carry the
 * same hash tag, so they live in one slot and one command answers a request: an
 * `MGET` of the identity's cut-off, the token's revoked mark and its session on
 * the hot path, one script for everything else (by SHA with `EVALSHA` when the
 * client has it: a script's text is sent only to a node that lacks it). Each identity holds at most
 * `maxSessionsPerIdentity` sessions and as many revoked-token marks.
 *
 * Revocation needs `maxmemory-policy noeviction`: an evicting Redis may drop a
 * revocation under memory pressure. Under `noeviction` a full Redis refuses
 * writes (503) and keeps every revocation. The store checks the policy at start
 * and warns when it is not `noeviction` or cannot be read.
 */
export class RedisRevocationStore implements RevocationStore {
  private readonly prefix: string;
  private readonly onWarning: (message: string) => void;
  private readonly clock: Clock;
  /** Settles once the eviction policy has been checked (never rejects). */
  readonly evictionPolicyChecked: Promise<void>;

  constructor(private readonly client: RedisClientLike, options: RedisRevocationStoreOptions = {}) {
    this.prefix = options.prefix ?? 'rcjwt';
    // A brace in the prefix would make it the hash tag: every identity in one slot, or none in its own.
    if (/[{}]/.test(this.prefix)) throw new Error('RedisRevocationStore: `prefix` may not hold `{` or `}` (the hash tag is the identity\'s)');
    this.onWarning = options.onWarning ?? ((message) => process.emitWarning(message, 'RevocationStoreWarning'));
    this.clock = options.clock ?? systemClock;
    this.evictionPolicyChecked = this.checkEvictionPolicy();
  }

  async status(token: StoredToken): Promise<TokenStatus> {
    const base = this.base(token.identity);
    const keys = [`${base}c`, token.jti === undefined ? `${base}j` : `${base}j:${keyPart(token.jti)}`];
    if (token.family !== undefined) keys.push(`${base}s:${keyPart(token.family)}`);
    const [cutoff, mark, session] = await this.run(() => this.client.mget(...keys));
    if (mark !== null || session === null) return 'revoked';
    const record = session === undefined ? undefined : JSON.parse(session) as RecordJson;
    // The session's limits, on this instance's clock (the record's times are Redis'; they differ by the clocks' skew).
    if (record && !sessionAlive(storedSession(record), this.clock.now())) return 'revoked';
    const cut = Number(cutoff ?? 0);
    if (token.generation >= cut) return 'active';
    // Older than the cut-off: only a session the wholesale revocation spared keeps it.
    return record !== undefined && record.g >= cut ? 'active' : 'revoked';
  }

  async useRefreshToken(token: StoredToken, use: RefreshUse): Promise<SessionUse> {
    if (token.family === undefined) {
      if (!use.rotation || token.jti === undefined) return { outcome: await this.status(token), expiresAt: undefined };
      return { outcome: await this.useUp(token.identity, token.jti, token.generation, use), expiresAt: undefined };
    }
    const base = this.base(token.identity);
    const id = keyPart(token.family);
    const keys = [`${base}c`, token.jti === undefined ? `${base}j` : `${base}j:${keyPart(token.jti)}`, `${base}s:${id}`, `${base}sx`];
    const args = [token.generation, token.jti ?? '', use.grace, use.rotation ? '1' : '0', id];
    const [outcome, end] = (await this.eval(USE_REFRESH, keys, args)) as [RefreshOutcome, number?];
    return { outcome, expiresAt: sessionEnd(end) };
  }

  private async useUp(identity: string, jti: string, generation: number, use: RefreshUse): Promise<RefreshOutcome> {
    const base = this.base(identity);
    const mark = keyPart(jti);
    const keys = [`${base}j:${mark}`, `${base}jx`, `${base}c`, `${base}h`, `${base}sx`];
    const { ttl, maxPerIdentity, cutoffTtl } = use.mark;
    return (await this.eval(USE_UP, keys, [base, ttlArg(ttl), maxPerIdentity, ttlArg(cutoffTtl), mark, generation, use.grace])) as RefreshOutcome;
  }

  async startSession(identity: string, session: NewSession): Promise<StartedSession> {
    const base = this.base(identity);
    const id = keyPart(session.id);
    const args = [
      base, session.id, session.refreshJti, ttlArg(session.maxAge), ttlArg(session.ttl), session.metadata, session.maxPerIdentity, id, ttlArg(session.idleTimeout),
    ];
    const [generation, ...evicted] = (await this.eval(START_SESSION, [`${base}c`, `${base}sx`, `${base}s:${id}`], args)) as [number, ...string[]];
    return { generation: Number(generation), evicted: evicted.map((ended) => ({ identity, id: ended })) };
  }

  async rotated(identity: string, sessionId: string, jti: string, ttl: number | undefined): Promise<SessionEnd | undefined> {
    const base = this.base(identity);
    const end = Number(await this.eval(ROTATED, [`${base}s:${keyPart(sessionId)}`, `${base}sx`], [jti, ttlArg(ttl)]));
    return end === 0 ? undefined : { expiresAt: sessionEnd(end) };
  }

  async endSession(identity: string, sessionId: string): Promise<boolean> {
    const base = this.base(identity);
    const id = keyPart(sessionId);
    return (await this.eval(END_SESSION, [`${base}s:${id}`, `${base}sx`], [id])) === 1;
  }

  async revokeToken(identity: string, jti: string, limits: TokenRevocation): Promise<RevokedAll | undefined> {
    const base = this.base(identity);
    const mark = keyPart(jti);
    const keys = [`${base}j:${mark}`, `${base}jx`, `${base}c`, `${base}h`, `${base}sx`];
    const answer = await this.eval(REVOKE_TOKEN, keys, [base, ttlArg(limits.ttl), limits.maxPerIdentity, ttlArg(limits.cutoffTtl), mark]);
    return Array.isArray(answer) ? revokedAll(answer) : undefined;
  }

  async revokeAll(identity: string, ttl: number | undefined, except?: string): Promise<RevokedAll> {
    const base = this.base(identity);
    const keys = [`${base}c`, `${base}h`, `${base}sx`, `${base}jx`];
    return revokedAll((await this.eval(REVOKE_ALL, keys, [base, ttlArg(ttl), except ?? ''])) as unknown[]);
  }

  async generation(identity: string): Promise<number> {
    const [cutoff] = await this.run(() => this.client.mget(`${this.base(identity)}c`));
    return Number(cutoff ?? 0);
  }

  async extendHorizon(identity: string, ttl: number | undefined): Promise<void> {
    await this.eval(EXTEND_HORIZON, [`${this.base(identity)}h`], [ttlArg(ttl)]);
  }

  async sessions(identity: string): Promise<StoredSession[]> {
    const base = this.base(identity);
    const found = (await this.eval(SESSIONS, [`${base}sx`], [base])) as string[];
    return found.map((raw) => storedSession(JSON.parse(raw) as RecordJson));
  }

  /**
   * Warns (through `onWarning`) unless Redis' `maxmemory-policy` is `noeviction`,
   * once the client is connected. Managed Redis often refuses `CONFIG`: then it
   * warns that the policy could not be checked. Never throws.
   */
  async checkEvictionPolicy(): Promise<void> {
    const advice = 'revocation needs maxmemory-policy noeviction (an evicting Redis may drop a revocation and accept a revoked token again)';
    try {
      if (!this.client.config) throw new Error('no CONFIG command');
      // A client still connecting (or waiting for the app's connect()) would refuse the command.
      const { status, once } = this.client;
      if (status !== undefined && status !== 'ready' && once) await new Promise<void>((resolve) => once.call(this.client, 'ready', resolve));
      const answer = await this.client.config('GET', 'maxmemory-policy');
      const policy = Array.isArray(answer) ? answer[1] : undefined;
      if (policy !== 'noeviction') this.onWarning(`RedisRevocationStore: maxmemory-policy is ${String(policy)}; ${advice}`);
    } catch {
      this.onWarning(`RedisRevocationStore: could not read maxmemory-policy (CONFIG GET refused?); make sure ${advice}`);
    }
  }

  /** `prefix:{identity}:`: the identity encoded so it can never end the hash tag early, every string to its own key. */
  private base(identity: string): string {
    // Redis Cluster takes an empty `{}` for no hash tag: the empty identity is `%`, which no other encodes to.
    return `${this.prefix}:{${keyPart(identity) || '%'}}:`;
  }

  /**
   * Runs `script` by its SHA, and sends its text only when the node that answers
   * lacks it: on the first call, after `SCRIPT FLUSH` or a failover, on a node new
   * to the Cluster (each node has its own cache, so this is decided per call).
   * A NOSCRIPT answer means the script did not run, so running it again is safe;
   * it is never a store failure. Every other error is the store's (fail closed).
   */
  private eval(script: Script, keys: string[], args: Array<string | number>): Promise<unknown> {
    return this.run(async () => {
      if (this.client.evalsha) {
        try {
          return await this.client.evalsha(script.sha, keys.length, ...keys, ...args);
        } catch (error) {
          if (!isNoScript(error)) throw error;
        }
      }
      // EVAL also caches the script on that node, so the next call goes by SHA again.
      return this.client.eval(script.text, keys.length, ...keys, ...args);
    });
  }

  /** A call to Redis: its failures (connection, timeout, out of memory) are the store's own. */
  private async run<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw new RevocationStoreError('Redis did not answer the revocation store', { cause: error });
    }
  }
}

/** Redis' answer to an EVALSHA of a script it does not hold: `NOSCRIPT No matching script…`. */
function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/** A session record as the scripts keep it (short names: it is stored once per session). */
interface RecordJson {
  i: string;
  c: number;
  u: number;
  x?: number;
  /** Idle timeout, milliseconds. */
  t?: number;
  g: number;
  m: string;
}

function storedSession(record: RecordJson): StoredSession {
  return { id: record.i, createdAt: record.c, lastUsedAt: record.u, expiresAt: record.x, idleTimeout: record.t, metadata: record.m };
}

/** A script's answer for a session's absolute end: -1 for none. */
function sessionEnd(end: number | undefined): number | undefined {
  return end === undefined || end === -1 ? undefined : Number(end);
}

const SAFE_PART = /^[\w.-]*$/;
const UNSAFE_CHARACTER = /[%{}:]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * A total, injective encoding of any string into a key part: `%`, the hash-tag
 * braces, `:` and lone UTF-16 surrogates (which UTF-8 cannot carry: they would
 * all become U+FFFD and collide) become `%` and four hex digits.
 */
export function keyPart(value: string): string {
  if (SAFE_PART.test(value)) return value;
  return value.replace(UNSAFE_CHARACTER, (character) => `%${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function revokedAll([generation, ...ended]: unknown[]): RevokedAll {
  return { generation: Number(generation), ended: ended as string[] };
}

function ttlArg(ttl: number | undefined): string | number {
  return ttl === undefined || ttl === Infinity ? '' : Math.max(1, Math.ceil(ttl));
}
