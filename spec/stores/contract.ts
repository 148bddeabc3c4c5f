import { expect } from 'chai';
import type { NewSession, RefreshUse, RevocationStore, StoredToken, TokenRevocation } from '../../src/stores/store';
import type { TestTime } from '../clock';

/** A store under test: how many entries (memory) or keys (Redis) it holds, how time passes for it, and a second client on its storage. */
export interface StoreUnderTest {
  readonly store: RevocationStore;
  held(): Promise<number>;
  readonly time: TestTime;
  /** Another store on the same storage (a second app instance); the memory store answers itself. */
  another(): Promise<RevocationStore>;
}

/** Long enough that nothing given it expires during a test. */
const LONG = 600_000;

const token = (identity: string, jti?: string, family?: string, generation = 0): StoredToken => ({ identity, jti, family, generation });
const limits = (ttl: number | undefined = LONG, maxPerIdentity = 10, cutoffTtl: number | undefined = LONG): TokenRevocation => ({ ttl, maxPerIdentity, cutoffTtl });
const session = (id: string, options: Partial<NewSession> = {}): NewSession => ({
  id, refreshJti: `${id}-r0`, maxAge: undefined, idleTimeout: undefined, ttl: LONG, metadata: '{}', maxPerIdentity: 10, ...options,
});
const rotation = (grace = LONG, mark = limits()): RefreshUse => ({ rotation: true, grace, mark });
const noRotation: RefreshUse = { rotation: false, grace: 0, mark: limits() };

/**
 * The contract every {@link RevocationStore} keeps, asserted on the store itself
 * (no HTTP, no manager): one line per store runs all of it. Time passes through
 * `time.pass`: the memory store's clock moves; Redis keeps its own time (TIME, key
 * expiry), so there it is a real wait, and every such wait below is tens of
 * milliseconds (a few hundred where a use must land inside a window: the idle test).
 */
export function storeContract(name: string, make: (ctx: Mocha.Context) => Promise<StoreUnderTest>): void {
  describe(`the RevocationStore contract: ${name}`, function () {
    // Starting a Redis Cluster in the first test's hook takes long on a loaded machine.
    this.timeout(60_000);
    let store: RevocationStore;
    let held: () => Promise<number>;
    let time: TestTime;
    let another: () => Promise<RevocationStore>;
    beforeEach(async function () {
      ({ store, held, time, another } = await make(this));
    });

    const status = async (t: StoredToken) => store.status(t);
    const use = async (t: StoredToken, how: RefreshUse) => (await store.useRefreshToken(t, how)).outcome;
    const ids = async (identity: string) => (await store.sessions(identity)).map((s) => s.id);

    describe('status and revokeToken', () => {
      it('an identity never seen: its tokens are active; a token of a session that does not exist is revoked', async () => {
        expect(await status(token('alice', 'j1'))).to.equal('active');
        expect(await status(token('alice'))).to.equal('active');
        expect(await status(token('alice', 'j1', 'no-such-session'))).to.equal('revoked');
      });

      it('revokeToken revokes that jti alone, of that identity alone, refresh tokens outside sessions too', async () => {
        expect(await store.revokeToken('alice', 'j1', limits())).to.equal(undefined);
        expect(await status(token('alice', 'j1'))).to.equal('revoked');
        expect(await status(token('alice', 'j2'))).to.equal('active');
        expect(await status(token('bob', 'j1'))).to.equal('active');
        expect(await use(token('alice', 'j1'), noRotation)).to.equal('revoked');
        expect(await use(token('alice', 'j1'), rotation())).to.equal('revoked');
        expect(await use(token('alice', 'j2'), noRotation)).to.equal('active');
      });

      it('a mark lives its ttl: a short one expires, a long one stays, revoking again never shortens it', async () => {
        await store.revokeToken('alice', 'short', limits(40));
        await store.revokeToken('alice', 'long', limits());
        await store.revokeToken('alice', 'long', limits(40));
        await store.revokeToken('alice', 'forever', limits(undefined));
        await time.pass(80);
        expect(await status(token('alice', 'short'))).to.equal('active');
        expect(await status(token('alice', 'long'))).to.equal('revoked');
        expect(await status(token('alice', 'forever'))).to.equal('revoked');
      });

      it('beyond maxPerIdentity the marks collapse into a cut-off: bounded, nothing revoked comes back, sessions end, new tokens work', async () => {
        await store.startSession('mallory', session('s1'));
        for (const jti of ['j0', 'j1', 'j2']) expect(await store.revokeToken('mallory', jti, limits(LONG, 3))).to.equal(undefined);
        const full = await held();
        const collapsed = await store.revokeToken('mallory', 'j3', limits(LONG, 3));
        expect(collapsed?.ended).to.deep.equal(['s1']);
        for (const jti of ['j4', 'j5', 'j6', 'j7']) await store.revokeToken('mallory', jti, limits(LONG, 3));
        expect(await held()).to.be.at.most(full);
        for (let i = 0; i < 8; i++) expect(await status(token('mallory', `j${i}`)), `j${i}`).to.equal('revoked');
        expect(await status(token('mallory', 'j1', 's1'))).to.equal('revoked');
        expect(await status(token('bob', 'j0'))).to.equal('active');
        expect(await status(token('mallory', 'new', undefined, await store.generation('mallory')))).to.equal('active');
      });

      it('the collapsed cut-off lives the longer of the marks\' ttl and cutoffTtl', async () => {
        for (const jti of ['j0', 'j1', 'j2']) await store.revokeToken('mallory', jti, limits(40, 2, LONG));
        for (const jti of ['j0', 'j1', 'j2']) await store.revokeToken('trudy', jti, limits(LONG, 2, 40));
        await time.pass(80);
        for (const identity of ['mallory', 'trudy']) {
          for (const jti of ['j0', 'j1', 'j2']) expect(await status(token(identity, jti)), `${identity} ${jti}`).to.equal('revoked');
        }
      });
    });

    describe('revokeAll and generation', () => {
      it('every token issued so far is refused, the generation stamps new ones, a second revokeAll catches those; others untouched', async () => {
        expect(await store.generation('alice')).to.equal(0);
        const { generation, ended } = await store.revokeAll('alice', LONG);
        expect(ended).to.deep.equal([]);
        expect(await store.generation('alice')).to.equal(generation);
        expect(await status(token('alice', 'old'))).to.equal('revoked');
        expect(await status(token('alice'))).to.equal('revoked');
        expect(await use(token('alice', 'old-refresh'), noRotation)).to.equal('revoked');
        expect(await status(token('bob', 'old'))).to.equal('active');
        expect(await status(token('alice', 'new', undefined, generation))).to.equal('active');
        const second = await store.revokeAll('alice', LONG);
        expect(second.generation).to.be.above(generation);
        expect(await status(token('alice', 'new', undefined, generation))).to.equal('revoked');
        const started = await store.startSession('alice', session('s1'));
        expect(started.generation).to.equal(second.generation);
        expect(await status(token('alice', 'a1', 's1', started.generation))).to.equal('active');
      });

      it('is monotonic: the generation grows, also once the earlier cut-off has expired', async () => {
        const first = await store.revokeAll('alice', 40);
        await time.pass(80);
        expect(await store.generation('alice')).to.equal(0);
        expect(await status(token('alice', 'old'))).to.equal('active');
        expect(await status(token('alice', 'later', undefined, first.generation))).to.equal('active');
        const second = await store.revokeAll('alice', 40);
        expect(second.generation).to.be.above(first.generation);
        expect(await status(token('alice', 'later', undefined, first.generation))).to.equal('revoked');
      });

      it('the cut-off lives at least the horizon (extendHorizon) and as long as the marks it replaces', async () => {
        await store.extendHorizon('alice', LONG);
        await store.extendHorizon('carol', undefined);
        await store.revokeToken('bob', 'remember-me', limits(LONG));
        for (const identity of ['alice', 'bob', 'carol', 'dave']) await store.revokeAll(identity, 40);
        await time.pass(80);
        expect(await status(token('alice', 'j'))).to.equal('revoked');
        expect(await status(token('bob', 'remember-me'))).to.equal('revoked');
        expect(await status(token('bob', 'j'))).to.equal('revoked');
        expect(await status(token('carol', 'j'))).to.equal('revoked');
        expect(await status(token('dave', 'j')), 'no horizon: the cut-off expired').to.equal('active');
      });

      it('except: every other session ends (listed in ended), the excepted one lives on with its older tokens', async () => {
        for (const id of ['keep', 'other-1', 'other-2']) await store.startSession('alice', session(id));
        const { generation, ended } = await store.revokeAll('alice', LONG, 'keep');
        expect([...ended].sort()).to.deep.equal(['other-1', 'other-2']);
        expect(await ids('alice')).to.deep.equal(['keep']);
        expect(await status(token('alice', 'a', 'keep'))).to.equal('active');
        expect(await status(token('alice', 'a', 'other-1'))).to.equal('revoked');
        expect(await status(token('alice', 'standalone'))).to.equal('revoked');
        expect(await use(token('alice', 'keep-r0', 'keep'), rotation())).to.equal('active');
        expect(await store.rotated('alice', 'keep', 'keep-r1', LONG)).to.not.equal(undefined);
        expect(await use(token('alice', 'keep-r1', 'keep'), rotation())).to.equal('active');
        expect(await use(token('alice', 'other-1-r0', 'other-1'), rotation())).to.equal('revoked');
        // A revocation of someone else spares it too; one without except ends it.
        await store.revokeAll('bob', LONG);
        expect(await status(token('alice', 'a', 'keep'))).to.equal('active');
        const all = await store.revokeAll('alice', LONG);
        expect(all.generation).to.be.above(generation);
        expect(all.ended).to.deep.equal(['keep']);
        expect(await status(token('alice', 'a', 'keep'))).to.equal('revoked');
        expect(await store.sessions('alice')).to.deep.equal([]);
      });
    });

    describe('sessions', () => {
      it('startSession answers the cut-off as generation; endSession ends every token of it (true), then answers false', async () => {
        const { generation } = await store.revokeAll('alice', LONG);
        const started = await store.startSession('alice', session('s1'));
        expect(started).to.deep.equal({ generation, evicted: [] });
        expect(await status(token('alice', 'a1', 's1', generation))).to.equal('active');
        expect(await store.endSession('alice', 's1')).to.equal(true);
        expect(await status(token('alice', 'a1', 's1', generation))).to.equal('revoked');
        expect(await use(token('alice', 's1-r0', 's1', generation), rotation())).to.equal('revoked');
        expect(await store.endSession('alice', 's1')).to.equal(false);
      });

      it('sessions() lists what exists, oldest first, with its dates, limits and metadata; a use moves lastUsedAt', async () => {
        await store.startSession('alice', session('first', { maxAge: 60_000, idleTimeout: 30_000, metadata: '{"userAgent":"Firefox"}' }));
        await time.pass(5);
        await store.startSession('alice', session('second'));
        await store.startSession('bob', session('bobs'));
        const listed = await store.sessions('alice');
        expect(listed.map((s) => s.id)).to.deep.equal(['first', 'second']);
        const [first, second] = listed;
        expect(first.lastUsedAt).to.equal(first.createdAt);
        expect(first.expiresAt! - first.createdAt).to.equal(60_000);
        expect(first.idleTimeout).to.equal(30_000);
        expect(first.metadata).to.equal('{"userAgent":"Firefox"}');
        expect(second.createdAt).to.be.above(first.createdAt);
        expect(second.expiresAt).to.equal(undefined);
        expect(second.idleTimeout).to.equal(undefined);
        await time.pass(5);
        expect(await use(token('alice', 'first-r0', 'first'), rotation())).to.equal('active');
        const after = (await store.sessions('alice')).find((s) => s.id === 'first')!;
        expect(after.lastUsedAt).to.be.above(after.createdAt);
        expect(after.createdAt).to.equal(first.createdAt);
      });

      it('maxPerIdentity: beyond it the oldest sessions end, reported as evicted; the store holds no more; the kept ones work', async () => {
        const bound = { maxPerIdentity: 3 };
        for (let i = 0; i < 3; i++) expect((await store.startSession('mallory', session(`s${i}`, bound))).evicted).to.deep.equal([]);
        const full = await held();
        const evicted = [];
        for (let i = 3; i < 7; i++) evicted.push(...(await store.startSession('mallory', session(`s${i}`, bound))).evicted);
        expect(evicted).to.deep.equal(['s0', 's1', 's2', 's3'].map((id) => ({ identity: 'mallory', id })));
        expect(await held()).to.equal(full);
        expect(await ids('mallory')).to.deep.equal(['s4', 's5', 's6']);
        for (const id of ['s0', 's1', 's2', 's3']) expect(await status(token('mallory', 'a', id)), id).to.equal('revoked');
        for (const id of ['s4', 's5', 's6']) expect(await use(token('mallory', `${id}-r0`, id), rotation()), id).to.equal('active');
      });

      it('the oldest session ends first, also among sessions started at once', async () => {
        const start = (id: string) => store.startSession('mallory', session(id, { refreshJti: id, ttl: 60_000, maxPerIdentity: 3 }));
        // Started at once, in the reverse of their names' order: the order of starting decides, not the names.
        const started = await Promise.all(['s5', 's4', 's3', 's2', 's1'].map(start));
        expect(started.flatMap((s) => s.evicted.map((ended) => ended.id))).to.deep.equal(['s5', 's4']);
        expect(await ids('mallory')).to.deep.equal(['s3', 's2', 's1']);
      });

      it('a session started again under its id replaces its record: listed once, nothing left once it ends', async () => {
        const empty = await held();
        await store.startSession('alice', session('s1'));
        const once = await held();
        await store.startSession('alice', session('s1', { refreshJti: 'again' }));
        expect(await held()).to.equal(once);
        expect(await ids('alice')).to.deep.equal(['s1']);
        expect(await use(token('alice', 'again', 's1'), rotation())).to.equal('active');
        expect(await store.endSession('alice', 's1')).to.equal(true);
        expect(await store.sessions('alice')).to.deep.equal([]);
        expect(await held()).to.equal(empty);
      });

      it('under rotation a session holds the same entries however often it is refreshed', async () => {
        await store.startSession('alice', session('s1'));
        const afterLogin = await held();
        let jti = 's1-r0';
        for (let i = 1; i <= 60; i++) {
          expect(await use(token('alice', jti, 's1'), rotation())).to.equal('active');
          jti = `s1-r${i}`;
          expect(await store.rotated('alice', 's1', jti, LONG)).to.not.equal(undefined);
        }
        expect(await held()).to.equal(afterLogin);
      });

      it('a record lives its ttl, rotated extends it to the successor\'s; an expired one refuses its tokens and is not listed', async () => {
        await store.startSession('alice', session('short', { ttl: 40 }));
        await store.startSession('alice', session('extended', { ttl: 200 }));
        await store.rotated('alice', 'extended', 'extended-r1', LONG);
        await time.pass(250);
        expect(await ids('alice')).to.deep.equal(['extended']);
        expect(await status(token('alice', 'a', 'short'))).to.equal('revoked');
        expect(await use(token('alice', 'short-r0', 'short'), rotation())).to.equal('revoked');
        expect(await use(token('alice', 'extended-r1', 'extended'), rotation())).to.equal('active');
      });
    });

    describe('useRefreshToken in a session', () => {
      it('under rotation: the current token is active once, its successor next; a replay within grace is concurrent and the session lives on', async () => {
        await store.startSession('alice', session('s1'));
        await store.startSession('alice', session('s2'));
        expect(await use(token('alice', 's1-r0', 's1'), rotation())).to.equal('active');
        expect(await use(token('alice', 's1-r0', 's1'), rotation()), 'within grace, before rotated').to.equal('concurrent');
        expect(await store.rotated('alice', 's1', 's1-r1', LONG)).to.deep.equal({ expiresAt: undefined });
        expect(await use(token('alice', 's1-r0', 's1'), rotation()), 'within grace, after rotated').to.equal('concurrent');
        expect(await use(token('alice', 's1-r1', 's1'), rotation())).to.equal('active');
        await store.rotated('alice', 's1', 's1-r2', LONG);
        // Neither the current nor the one last used: reuse, which ends the session, its newest token and its access tokens.
        expect(await use(token('alice', 's1-r0', 's1'), rotation())).to.equal('reused');
        expect(await use(token('alice', 's1-r2', 's1'), rotation())).to.equal('revoked');
        expect(await status(token('alice', 'a', 's1'))).to.equal('revoked');
        expect(await ids('alice')).to.deep.equal(['s2']);
        expect(await use(token('alice', 's2-r0', 's2'), rotation())).to.equal('active');
      });

      it('past the grace interval the token last used is reused (grace 0: at once); reuse ends the session', async () => {
        await store.startSession('alice', session('s1'));
        expect(await use(token('alice', 's1-r0', 's1'), rotation())).to.equal('active');
        await store.rotated('alice', 's1', 's1-r1', LONG);
        expect(await use(token('alice', 's1-r0', 's1'), rotation(LONG))).to.equal('concurrent');
        await time.pass(40);
        expect(await use(token('alice', 's1-r0', 's1'), rotation(20))).to.equal('reused');
        expect(await use(token('alice', 's1-r1', 's1'), rotation())).to.equal('revoked');
        await store.startSession('alice', session('s2'));
        expect(await use(token('alice', 's2-r0', 's2'), rotation(0))).to.equal('active');
        expect(await use(token('alice', 's2-r0', 's2'), rotation(0))).to.equal('reused');
        expect(await store.sessions('alice')).to.deep.equal([]);
      });

      it('20 uses of one token at once: exactly one active, every other concurrent', async () => {
        await store.startSession('alice', session('s1'));
        const outcomes = await Promise.all(Array.from({ length: 20 }, () => use(token('alice', 's1-r0', 's1'), rotation())));
        expect(outcomes.filter((o) => o === 'active'), outcomes.join()).to.have.length(1);
        expect(outcomes.filter((o) => o !== 'active').every((o) => o === 'concurrent'), outcomes.join()).to.equal(true);
      });

      it('without rotation the same refresh token is used again and again; a revoked jti or a cut-off refuses it', async () => {
        await store.startSession('alice', session('s1'));
        for (let i = 0; i < 3; i++) expect(await use(token('alice', 's1-r0', 's1'), noRotation)).to.equal('active');
        await store.revokeToken('alice', 's1-r0', limits());
        expect(await use(token('alice', 's1-r0', 's1'), noRotation)).to.equal('revoked');
        expect(await use(token('alice', 's1-r0', 's1'), rotation())).to.equal('revoked');
        await store.startSession('alice', session('s2'));
        await store.revokeAll('alice', LONG);
        expect(await use(token('alice', 's2-r0', 's2'), noRotation)).to.equal('revoked');
      });

      it('maxAge: a use answers the session\'s end, which neither uses nor rotated extend; past it the use is expired and ends the session', async () => {
        await store.startSession('alice', session('long', { maxAge: LONG }));
        const [{ expiresAt }] = await store.sessions('alice');
        for (const how of [rotation(), noRotation]) {
          expect(await store.useRefreshToken(token('alice', 'long-r0', 'long'), how)).to.deep.equal({ outcome: 'active', expiresAt });
          expect(await store.rotated('alice', 'long', 'long-r0', LONG)).to.deep.equal({ expiresAt });
        }
        await store.startSession('alice', session('short', { maxAge: 30 }));
        await time.pass(60);
        expect(await store.rotated('alice', 'short', 'short-r1', LONG)).to.equal(undefined);
        expect(await use(token('alice', 'short-r0', 'short'), noRotation)).to.equal('expired');
        expect(await use(token('alice', 'short-r0', 'short'), noRotation), 'it ended').to.equal('revoked');
        expect(await ids('alice')).to.deep.equal(['long']);
        expect(await store.endSession('alice', 'short')).to.equal(false);
      });

      it('idleTimeout: a session not used for that long is idle and ends; a use keeps one alive', async () => {
        // On Redis, real time: the use must land inside the timeout, so the windows are a few hundred ms.
        await store.startSession('alice', session('idle', { idleTimeout: 300 }));
        await store.startSession('alice', session('active', { idleTimeout: 300 }));
        await time.pass(200);
        expect(await use(token('alice', 'active-r0', 'active'), noRotation)).to.equal('active');
        await time.pass(200);
        expect(await use(token('alice', 'active-r0', 'active'), noRotation)).to.equal('active');
        expect(await use(token('alice', 'idle-r0', 'idle'), noRotation)).to.equal('idle');
        expect(await ids('alice')).to.deep.equal(['active']);
        expect(await store.rotated('alice', 'idle', 'idle-r1', LONG)).to.equal(undefined);
      });

      it('status judges a session\'s limits on the store\'s clock (the app\'s): past maxAge or idle timeout its tokens are refused', async () => {
        await store.startSession('alice', session('aged', { maxAge: 60_000 }));
        await store.startSession('alice', session('idle', { idleTimeout: 60_000 }));
        await store.startSession('alice', session('unbounded'));
        // Only the clock the store was given moves (on Redis, Redis' own time does not).
        time.clock.advance(61_000);
        expect(await status(token('alice', 'a', 'aged'))).to.equal('revoked');
        expect(await status(token('alice', 'a', 'idle'))).to.equal('revoked');
        expect(await status(token('alice', 'a', 'unbounded'))).to.equal('active');
      });

      it('rotated answers undefined once the session has ended: endSession, revokeAll, reuse', async () => {
        for (const id of ['ended', 'cut', 'reused']) await store.startSession('alice', session(id));
        await store.endSession('alice', 'ended');
        expect(await store.rotated('alice', 'ended', 'x', LONG)).to.equal(undefined);
        await use(token('alice', 'reused-r0', 'reused'), rotation(0));
        expect(await use(token('alice', 'reused-r0', 'reused'), rotation(0))).to.equal('reused');
        expect(await store.rotated('alice', 'reused', 'x', LONG)).to.equal(undefined);
        await store.revokeAll('alice', LONG);
        expect(await store.rotated('alice', 'cut', 'x', LONG)).to.equal(undefined);
      });
    });

    describe('useRefreshToken outside sessions', () => {
      it('under rotation the token is used up: first active, within grace concurrent, past it reused; revoked or below the cut-off: revoked', async () => {
        expect(await use(token('alice', 'r1'), rotation())).to.equal('active');
        expect(await use(token('alice', 'r1'), rotation())).to.equal('concurrent');
        await time.pass(40);
        expect(await use(token('alice', 'r1'), rotation(20))).to.equal('reused');
        expect(await use(token('alice', 'r1'), rotation(0))).to.equal('reused');
        // Used up means marked: its status is revoked from then on.
        expect(await status(token('alice', 'r1'))).to.equal('revoked');
        await store.revokeToken('alice', 'r2', limits());
        expect(await use(token('alice', 'r2'), rotation())).to.equal('revoked');
        await store.revokeAll('alice', LONG);
        expect(await use(token('alice', 'r3'), rotation())).to.equal('revoked');
        expect(await use(token('bob', 'r1'), rotation())).to.equal('active');
      });

      it('ten uses at once: one active, the others concurrent', async () => {
        const outcomes = await Promise.all(Array.from({ length: 10 }, () => use(token('alice', 'r1'), rotation())));
        expect(outcomes.filter((o) => o === 'active'), outcomes.join()).to.have.length(1);
        expect(outcomes.filter((o) => o !== 'active').every((o) => o === 'concurrent'), outcomes.join()).to.equal(true);
      });

      it('without rotation, or without a jti, the use is the token\'s status and uses nothing up', async () => {
        for (let i = 0; i < 2; i++) {
          expect(await use(token('alice', 'r1'), noRotation)).to.equal('active');
          expect(await use(token('alice'), rotation())).to.equal('active');
        }
        expect(await status(token('alice', 'r1'))).to.equal('active');
        await store.revokeAll('alice', LONG);
        expect(await use(token('alice'), rotation())).to.equal('revoked');
      });
    });

    describe('keys for any identity', () => {
      // '' and '%': an empty hash tag, and the character that marks an escape.
      const identities = ['\uD800', '\uDC00x', 'a\uD83D', '\uFFFD', '{alice}', 'a:b%41', '%uD800', ''.padEnd(300, '\u00e9'), '', '%'];

      it('lone surrogates and key syntax: each identity has its own sessions, marks and cut-off; nothing collides', async () => {
        // The same session id and jti for all: only the identity tells them apart.
        for (const identity of identities) await store.startSession(identity, session('s'));
        for (const identity of identities) expect(await status(token(identity, 'a', 's')), JSON.stringify(identity)).to.equal('active');
        await store.revokeAll(identities[0], LONG);
        await store.endSession(identities[4], 's');
        await store.revokeToken(identities[1], 'standalone', limits());
        expect(await status(token(identities[0], 'a', 's'))).to.equal('revoked');
        expect(await status(token(identities[4], 'a', 's'))).to.equal('revoked');
        expect(await status(token(identities[1], 'standalone'))).to.equal('revoked');
        for (const i of [1, 2, 3, 5, 6, 7, 8, 9]) {
          expect(await status(token(identities[i], 'a', 's')), JSON.stringify(identities[i])).to.equal('active');
          expect(await ids(identities[i])).to.deep.equal(['s']);
          if (i !== 1) expect(await status(token(identities[i], 'standalone')), JSON.stringify(identities[i])).to.equal('active');
        }
        // The empty identity (an empty {} is no hash tag to Redis Cluster) is revocable like any other.
        await store.revokeAll('', LONG);
        expect(await status(token('', 'a', 's'))).to.equal('revoked');
        expect(await status(token('%', 'a', 's'))).to.equal('active');
      });

      it('a refresh token of such an identity is used only once, in a session and outside one', async () => {
        await store.startSession('\uD800', session('s'));
        expect(await use(token('\uD800', 's-r0', 's'), rotation(0))).to.equal('active');
        expect(await use(token('\uD800', 's-r0', 's'), rotation(0))).to.equal('reused');
        expect(await use(token('\uDC00', 'r'), rotation(0))).to.equal('active');
        expect(await use(token('\uDC00', 'r'), rotation(0))).to.equal('reused');
        expect(await use(token('\uFFFD', 'r'), rotation(0)), 'U+FFFD is not a lone surrogate\'s stand-in').to.equal('active');
      });

      it('an identity whose every session ended starts a new one at once', async () => {
        await store.startSession('alice', session('s1'));
        for (let i = 0; i < 10; i++) await store.startSession(`other-${i}`, session('s'));
        await store.endSession('alice', 's1');
        await store.startSession('alice', session('s2'));
        expect(await status(token('alice', 'a', 's2'))).to.equal('active');
        expect(await use(token('alice', 's2-r0', 's2'), rotation(0))).to.equal('active');
        expect(await use(token('alice', 's2-r0', 's2'), rotation(0))).to.equal('reused');
        await store.startSession('alice', session('s3'));
        expect(await status(token('alice', 'a', 's3'))).to.equal('active');
      });
    });

    it('another client on the same storage sees every write at once', async () => {
      const other = await another();
      await store.startSession('alice', session('laptop'));
      await store.startSession('alice', session('phone'));
      expect((await other.sessions('alice')).map((s) => s.id)).to.deep.equal(['laptop', 'phone']);
      await other.endSession('alice', 'laptop');
      expect(await status(token('alice', 'a', 'laptop'))).to.equal('revoked');
      expect(await use(token('alice', 'phone-r0', 'phone'), rotation())).to.equal('active');
      expect(await other.useRefreshToken(token('alice', 'phone-r0', 'phone'), rotation())).to.deep.include({ outcome: 'concurrent' });
      await other.revokeToken('alice', 'j', limits());
      expect(await status(token('alice', 'j'))).to.equal('revoked');
      const { generation } = await other.revokeAll('alice', LONG);
      expect(await store.generation('alice')).to.equal(generation);
      expect(await ids('alice')).to.deep.equal([]);
    });
  });
}
