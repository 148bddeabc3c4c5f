import type { ConsumeOptions, RevocationStore, StoredToken, TokenStatus } from './store';

/**
 * The two commands the store sends, as ioredis' `Redis` and `Cluster` clients
 * (v5 and v6) have them; ioredis itself stays an optional peer dependency.
 */
export interface RedisClientLike {
  mget(...keys: string[]): Promise<Array<string | null>>;
  eval(script: string, numberOfKeys: number, ...args: Array<string | number>): Promise<unknown>;
}

/** Options of {@link RedisRevocationStore}. */
export interface RedisRevocationStoreOptions {
  /** Prefix of every key. Default `'rcjwt'`. */
  prefix?: string;
}

// Every script writes with an expiry when given one ('' means none).
const SET_WITH_TTL = `
local function setWithTtl(key, value, ttl)
  if ttl == '' then redis.call('SET', key, value) else redis.call('SET', key, value, 'PX', ttl) end
end
`;

const REVOKE = `${SET_WITH_TTL}
setWithTtl(KEYS[1], '1', ARGV[1])
return 1`;

const REVOKE_ALL = `
local generation = redis.call('INCR', KEYS[1])
if ARGV[1] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return generation`;

// KEYS: jti, family, generation, used; ARGV: token generation, used ttl, grace, family ttl.
// Redis' own clock decides the grace interval, so every instance agrees on it.
const CONSUME = `${SET_WITH_TTL}
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return 'revoked' end
if tonumber(redis.call('GET', KEYS[3]) or '0') > tonumber(ARGV[1]) then return 'revoked' end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local first = tonumber(redis.call('GET', KEYS[4]))
if not first then
  setWithTtl(KEYS[4], now, ARGV[2])
  return 'active'
end
if now - first <= tonumber(ARGV[3]) then return 'concurrent' end
setWithTtl(KEYS[2], '1', ARGV[4])
return 'reused'`;

/**
 * Revocations in Redis, shared by every instance of the app; works with a single
 * server and with Redis Cluster. All keys of one identity carry the same hash
 * tag, so they live in one slot and one command answers a request: an `MGET` of
 * the token's jti, family and the identity's generation, or one script when a
 * refresh token is used up. Each entry expires with what it revokes.
 */
export class RedisRevocationStore implements RevocationStore {
  private readonly prefix: string;

  constructor(private readonly client: RedisClientLike, options: RedisRevocationStoreOptions = {}) {
    this.prefix = options.prefix ?? 'rcjwt';
  }

  async status(token: StoredToken, consume?: ConsumeOptions): Promise<TokenStatus> {
    const { identity, jti, family } = token;
    if (consume && jti !== undefined) {
      const keys = [this.key(identity, 'j', jti), this.key(identity, 'f', family ?? ''), this.key(identity, 'g'), this.key(identity, 'u', jti)];
      const args = [token.generation, ttlArg(consume.ttl), consume.grace, ttlArg(consume.familyTtl)];
      return (await this.client.eval(CONSUME, keys.length, ...keys, ...args)) as TokenStatus;
    }
    const keys = [this.key(identity, 'g')];
    if (jti !== undefined) keys.push(this.key(identity, 'j', jti));
    if (family !== undefined) keys.push(this.key(identity, 'f', family));
    const [generation, ...revoked] = await this.client.mget(...keys);
    return revoked.some((value) => value !== null) || Number(generation ?? 0) > token.generation ? 'revoked' : 'active';
  }

  async revokeToken(identity: string, jti: string, ttl: number | undefined): Promise<void> {
    await this.client.eval(REVOKE, 1, this.key(identity, 'j', jti), ttlArg(ttl));
  }

  async revokeFamily(identity: string, family: string, ttl: number | undefined): Promise<void> {
    await this.client.eval(REVOKE, 1, this.key(identity, 'f', family), ttlArg(ttl));
  }

  async revokeAll(identity: string, ttl: number | undefined): Promise<void> {
    await this.client.eval(REVOKE_ALL, 1, this.key(identity, 'g'), ttlArg(ttl));
  }

  async generation(identity: string): Promise<number> {
    const [generation] = await this.client.mget(this.key(identity, 'g'));
    return Number(generation ?? 0);
  }

  /** `prefix:{identity}:kind[:id]`; the identity is escaped so it can never end the hash tag early. */
  private key(identity: string, kind: 'j' | 'f' | 'u' | 'g', id?: string): string {
    const base = `${this.prefix}:{${encodeURIComponent(identity)}}:${kind}`;
    return id === undefined ? base : `${base}:${id}`;
  }
}

function ttlArg(ttl: number | undefined): string | number {
  return ttl === undefined ? '' : Math.max(1, Math.ceil(ttl));
}
