import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import { UserService } from '../../src/admin/users.ts';
import type { CoreEvent } from '../../src/domain/events.ts';
import type { Client, Environment } from '../../src/domain/model.ts';
import { type BackchannelDeliveryOptions, BackchannelLogoutDeliverer } from '../../src/oauth/openid/logout-delivery.ts';
import { postForm, refusedAddress } from '../../src/oauth/openid/logout-receiver.ts';
import { afterSessionsEnded } from '../../src/oauth/openid/logout-sessions.ts';
import { BACKCHANNEL_LOGOUT_EVENT } from '../../src/oauth/openid/logout-token.ts';
import { subjectFor } from '../../src/oauth/openid/subject.ts';
import { hiddenFields } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { PUBLIC_URL, suiteStore, type TestApp } from '../helpers/fixtures.ts';
import { createEnvironment, createLogoutClient, createUser, familyInSession, idToken, issuerOf, signedInSession } from '../helpers/logout.ts';

/** A back-channel logout receiver on 127.0.0.1, port 0: answers each POST with the next status of `statuses` (then the last). */
class Receiver {
  readonly received: { contentType: string | undefined; body: string }[] = [];
  private server: Server | undefined;
  private waiting: (() => void)[] = [];

  constructor(private readonly statuses: number[] = [200]) {}

  /** Resolves at the next request received. */
  next(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
      });
      request.on('end', () => {
        this.received.push({ contentType: request.headers['content-type'], body });
        const status = this.statuses[Math.min(this.received.length - 1, this.statuses.length - 1)] ?? 200;
        response.writeHead(status, { 'cache-control': 'no-store' }).end();
        for (const resolve of this.waiting.splice(0)) resolve();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/backchannel`;
  }

  /** The logout tokens received, in order. */
  tokens(): string[] {
    return this.received.map((r) => new URLSearchParams(r.body).get('logout_token') ?? '');
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

const silent = { warn() {} };

for (const database of await testDatabases()) {
  describe(`Back-Channel Logout 1.0 (${database.name})`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    const receivers: Receiver[] = [];
    let events: CoreEvent[];

    before(async () => {
      t = await suite.build();
      events = [];
      t.app.events.listen((event) => events.push(event));
    });
    after(async () => {
      for (const receiver of receivers) await receiver.stop();
    });

    async function receiver(statuses?: number[]): Promise<{ receiver: Receiver; url: string }> {
      const r = new Receiver(statuses);
      receivers.push(r);
      return { receiver: r, url: await r.start() };
    }

    const deliverer = (options: Partial<BackchannelDeliveryOptions> = {}) =>
      new BackchannelLogoutDeliverer(t.store, t.app.core.keys, t.clock, t.app.events, silent, {
        publicUrl: PUBLIC_URL,
        allowLoopback: true,
        random: () => 0,
        ...options,
      });

    /** A signed-in user with a session in which `clients` obtained tokens. */
    async function signedIn(env: Environment, clients: Client[]) {
      const userId = await createUser(t.store, env, t.clock.now());
      const { cookie, session } = await signedInSession(t.store, env, userId, t.clock.now());
      const families = new Map<string, string>();
      for (const client of clients) families.set(client.clientId, await familyInSession(t.store, env, client.clientId, userId, session.sid, t.clock.now()));
      return { userId, cookie, session, families };
    }

    /** Ends the session as the end-session endpoint does (in one transaction). */
    const endSessions = (env: Environment, idHash: string) =>
      t.store.transaction(async (tx) => {
        const ended = await tx.browserSessions.end(env.id, idHash);
        return afterSessionsEnded(tx, env, ended ? [ended] : [], t.clock.now());
      });

    async function jwks(env: Environment): Promise<JSONWebKeySet> {
      const res = await t.app.server.inject(`/envs/${env.name}/jwks.json`);
      assert.equal(res.statusCode, 200);
      return res.json() as JSONWebKeySet;
    }

    it('oidcc-backchannel-rp-initiated-logout: a logout at the end-session endpoint POSTs a logout token that verifies against the JWKS (RS256 by default)', async () => {
      const env = await createEnvironment(t.store, 'RS256', t.clock.now());
      const { receiver: rp, url } = await receiver();
      const client = await createLogoutClient(t.store, env, t.clock.now(), { backchannelLogoutUri: url, backchannelLogoutSessionRequired: true });
      const silentClient = await createLogoutClient(t.store, env, t.clock.now());
      const { userId, cookie, session } = await signedIn(env, [client, silentClient]);
      // Another session of the same client is not told of this one's end.
      await signedIn(env, [client]);
      const hint = await idToken(t.store, env, { sub: userId, aud: client.clientId, sid: session.sid as string }, t.clock.now());
      const res = await t.app.server.inject({
        method: 'GET',
        url: `/envs/${env.name}/logout?${new URLSearchParams({ id_token_hint: hint })}`,
        headers: { cookie },
      });
      assert.equal(res.statusCode, 200, res.body);
      // Nothing was sent on the request: the outbox holds it.
      assert.equal(rp.received.length, 0);
      assert.equal(await t.store.backchannelLogouts.pending(), 1);
      events.length = 0;

      assert.deepEqual(await deliverer().deliverDue(), { delivered: 1, failed: 0 });
      assert.equal(rp.received.length, 1);
      assert.equal(rp.received[0]?.contentType, 'application/x-www-form-urlencoded');
      const [token] = rp.tokens() as [string];
      const header = decodeProtectedHeader(token);
      assert.equal(header.typ, 'logout+jwt');
      assert.equal(header.alg, 'RS256');
      const { payload } = await jwtVerify(token, createLocalJWKSet(await jwks(env)), {
        issuer: issuerOf(env.name),
        audience: client.clientId,
        typ: 'logout+jwt',
        algorithms: ['RS256'],
        currentDate: new Date(t.clock.now()),
      });
      assert.equal(payload.sub, userId);
      assert.equal(payload.sid, session.sid);
      assert.deepEqual(payload.events, { [BACKCHANNEL_LOGOUT_EVENT]: {} });
      assert.equal(payload.nonce, undefined);
      assert.equal(payload.iat, Math.floor(t.clock.now() / 1000));
      assert.equal((payload.exp as number) - (payload.iat as number), 120);
      assert.match(String(payload.jti), /^[A-Za-z0-9_-]{22}$/);
      assert.deepEqual(Object.keys(payload).sort(), ['aud', 'events', 'exp', 'iat', 'iss', 'jti', 'sid', 'sub']);
      assert.equal(await t.store.backchannelLogouts.pending(), 0);
      assert.deepEqual(events, [{ type: 'backchannel_logout.delivered', env: { id: env.id, name: env.name }, clientId: client.clientId, attempts: 1 }]);
    });

    it("signs with the client's id_token_signed_response_alg, and gives a pairwise client its pairwise sub", async () => {
      const env = await createEnvironment(t.store, 'ES256', t.clock.now());
      const { receiver: rp, url } = await receiver();
      const client = await createLogoutClient(t.store, env, t.clock.now(), {
        backchannelLogoutUri: url,
        idTokenSignedResponseAlg: 'ES256',
        subjectType: 'pairwise',
      });
      const { userId, session } = await signedIn(env, [client]);
      assert.deepEqual(await endSessions(env, session.idHash), { notified: 1, revoked: 0 });
      await deliverer().deliverDue();
      const [token] = rp.tokens() as [string];
      const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(await jwks(env)), {
        audience: client.clientId,
        typ: 'logout+jwt',
        algorithms: ['ES256'],
        currentDate: new Date(t.clock.now()),
      });
      assert.equal(protectedHeader.alg, 'ES256');
      assert.equal(payload.sub, subjectFor(env, client, userId));
      assert.notEqual(payload.sub, userId);
    });

    it('a receiver answering 500 gets the same logout again after the backoff, and 200 ends it', async () => {
      const env = await createEnvironment(t.store, 'RS256', t.clock.now());
      const { receiver: rp, url } = await receiver([500, 200]);
      const client = await createLogoutClient(t.store, env, t.clock.now(), { backchannelLogoutUri: url });
      const { session } = await signedIn(env, [client]);
      await endSessions(env, session.idHash);
      const worker = deliverer({ baseBackoffMs: 5_000 });
      events.length = 0;
      assert.deepEqual(await worker.deliverDue(), { delivered: 0, failed: 1 });
      assert.equal(await t.store.backchannelLogouts.pending(), 1);
      assert.deepEqual(events, [
        { type: 'backchannel_logout.failed', env: { id: env.id, name: env.name }, clientId: client.clientId, attempts: 1, reason: 'HTTP 500', retry: true },
      ]);
      // Not due before its backoff (half of 5 s with this jitter).
      assert.deepEqual(await worker.deliverDue(), { delivered: 0, failed: 0 });
      t.clock.advance(2_499);
      assert.deepEqual(await worker.deliverDue(), { delivered: 0, failed: 0 });
      t.clock.advance(1);
      assert.deepEqual(await worker.deliverDue(), { delivered: 1, failed: 0 });
      assert.equal(rp.received.length, 2);
      const [first, second] = rp.tokens();
      // Signed anew for each attempt, with the same jti so the receiver can drop a duplicate.
      const jti = (token: string | undefined) => JSON.parse(Buffer.from(String(token).split('.')[1] as string, 'base64url').toString()).jti;
      assert.equal(jti(first), jti(second));
      assert.notEqual(first, second);
      assert.equal(events.at(-1)?.type, 'backchannel_logout.delivered');
      assert.equal(await t.store.backchannelLogouts.pending(), 0);
    });

    it('a 4xx answer is not retried, and network errors are given up after the last attempt', async () => {
      const env = await createEnvironment(t.store, 'RS256', t.clock.now());
      const { receiver: refusing, url } = await receiver([400]);
      const gone = new Receiver();
      const goneUrl = await gone.start();
      await gone.stop();
      const a = await createLogoutClient(t.store, env, t.clock.now(), { backchannelLogoutUri: url });
      const b = await createLogoutClient(t.store, env, t.clock.now(), { backchannelLogoutUri: goneUrl });
      const { session } = await signedIn(env, [a, b]);
      await endSessions(env, session.idHash);
      const worker = deliverer({ maxAttempts: 2, baseBackoffMs: 1_000 });
      events.length = 0;
      assert.deepEqual(await worker.deliverDue(), { delivered: 0, failed: 2 });
      assert.equal(refusing.received.length, 1);
      const failures = events.filter((e) => e.type === 'backchannel_logout.failed');
      assert.deepEqual(
        failures.map((e) => ({ clientId: e.clientId, reason: e.reason, retry: e.retry })).sort((x, y) => Number(x.retry) - Number(y.retry)),
        [
          { clientId: a.clientId, reason: 'HTTP 400', retry: false },
          { clientId: b.clientId, reason: 'ECONNREFUSED', retry: true },
        ],
      );
      assert.equal(await t.store.backchannelLogouts.pending(), 1);
      t.clock.advance(1_000);
      assert.deepEqual(await worker.deliverDue(), { delivered: 0, failed: 1 });
      assert.deepEqual(events.at(-1), {
        type: 'backchannel_logout.failed',
        env: { id: env.id, name: env.name },
        clientId: b.clientId,
        attempts: 2,
        reason: 'ECONNREFUSED',
        retry: false,
      });
      assert.equal(await t.store.backchannelLogouts.pending(), 0);
      assert.equal(refusing.received.length, 1);
    });

    it('two workers delivering at once never send one logout twice', async () => {
      const env = await createEnvironment(t.store, 'RS256', t.clock.now());
      const { receiver: rp, url } = await receiver();
      const client = await createLogoutClient(t.store, env, t.clock.now(), { backchannelLogoutUri: url });
      for (let i = 0; i < 24; i++) {
        const { session } = await signedIn(env, [client]);
        await endSessions(env, session.idHash);
      }
      const [one, two] = [deliverer({ batchSize: 5 }), deliverer({ batchSize: 5 })];
      const delivered = await Promise.all([one.deliverBacklog(), two.deliverBacklog(), one.deliverBacklog()]);
      assert.equal(
        delivered.reduce((a, b) => a + b, 0),
        24,
      );
      const jtis = rp.tokens().map((token) => JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()).jti);
      assert.equal(jtis.length, 24);
      assert.equal(new Set(jtis).size, 24);
      assert.equal(await t.store.backchannelLogouts.pending(), 0);
    });

    it('logoutRevokesTokens revokes the families of that session and client, and only those', async () => {
      const env = await createEnvironment(t.store, 'RS256', t.clock.now());
      const revoking = await createLogoutClient(t.store, env, t.clock.now(), { logoutRevokesTokens: true });
      const keeping = await createLogoutClient(t.store, env, t.clock.now());
      const { userId, cookie, session, families } = await signedIn(env, [revoking, keeping]);
      const second = await familyInSession(t.store, env, revoking.clientId, userId, session.sid, t.clock.now());
      // The same user and client in another session, and a family begun outside any session.
      const otherSession = await signedInSession(t.store, env, userId, t.clock.now());
      const elsewhere = await familyInSession(t.store, env, revoking.clientId, userId, otherSession.session.sid, t.clock.now());
      const noSession = await familyInSession(t.store, env, revoking.clientId, userId, undefined, t.clock.now());
      const hint = await idToken(t.store, env, { sub: userId, aud: revoking.clientId }, t.clock.now());
      const res = await t.app.server.inject({
        method: 'GET',
        url: `/envs/${env.name}/logout?${new URLSearchParams({ id_token_hint: hint })}`,
        headers: { cookie },
      });
      assert.equal(res.statusCode, 200, res.body);
      const revokedAt = async (familyId: string | undefined) => (await t.store.tokenFamilies.find(env.id, familyId as string))?.revokedAt;
      assert.equal(await revokedAt(families.get(revoking.clientId)), t.clock.now());
      assert.equal(await revokedAt(second), t.clock.now());
      assert.equal(await revokedAt(families.get(keeping.clientId)), null);
      assert.equal(await revokedAt(elsewhere), null);
      assert.equal(await revokedAt(noSession), null);
      assert.ok(await t.store.browserSessions.find(env.id, otherSession.session.idHash, t.clock.now()));
      const ended = events.filter((e) => e.type === 'session.ended').at(-1);
      assert.equal(ended?.type === 'session.ended' && ended.revoked, 2);
    });

    it('an operator ending a user’s sessions tells the clients of each session', async () => {
      const env = await createEnvironment(t.store, 'RS256', t.clock.now());
      const { receiver: rp, url } = await receiver();
      const client = await createLogoutClient(t.store, env, t.clock.now(), { backchannelLogoutUri: url });
      const username = `bob-${Date.now()}`;
      const userId = await createUser(t.store, env, t.clock.now(), username);
      const sids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const { session } = await signedInSession(t.store, env, userId, t.clock.now());
        await familyInSession(t.store, env, client.clientId, userId, session.sid, t.clock.now());
        sids.push(session.sid as string);
      }
      await new UserService(t.config, t.store, t.clock).revokeSessions(env.name, username);
      assert.equal(await t.store.backchannelLogouts.pending(), 2);
      await deliverer().deliverDue();
      const told = rp.tokens().map((token) => JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()));
      assert.deepEqual(told.map((p) => p.sid).sort(), [...sids].sort());
      assert.ok(told.every((p) => p.sub === userId && p.aud === client.clientId));
    });

    it('a client that dropped its logout URI, or whose receiver is a private address, is given up', async () => {
      const env = await createEnvironment(t.store, 'RS256', t.clock.now());
      const { url } = await receiver();
      const dropping = await createLogoutClient(t.store, env, t.clock.now(), { backchannelLogoutUri: url });
      const { session } = await signedIn(env, [dropping]);
      await endSessions(env, session.idHash);
      await t.store.clients.update({ ...dropping, backchannelLogoutUri: null, updatedAt: dropping.updatedAt + 1 });
      events.length = 0;
      await deliverer().deliverDue();
      assert.deepEqual(
        events.map((e) => e.type === 'backchannel_logout.failed' && [e.reason, e.retry]),
        [['no backchannel_logout_uri', false]],
      );
      const internal = await createLogoutClient(t.store, env, t.clock.now(), { backchannelLogoutUri: url });
      const other = await signedIn(env, [internal]);
      await endSessions(env, other.session.idHash);
      events.length = 0;
      // A production server (https public URL) never sends to a loopback address.
      await deliverer({ allowLoopback: false }).deliverDue();
      assert.deepEqual(
        events.map((e) => e.type === 'backchannel_logout.failed' && [e.reason, e.retry]),
        [['refused: not https', false]],
      );
      assert.equal(await t.store.backchannelLogouts.pending(), 0);
    });

    it('a session ended twice at once tells each client once', async () => {
      const env = await createEnvironment(t.store, 'RS256', t.clock.now());
      const client = await createLogoutClient(t.store, env, t.clock.now(), { backchannelLogoutUri: 'https://rp.example.test/bc' });
      const { session } = await signedIn(env, [client]);
      const before = await t.store.backchannelLogouts.pending();
      const results = await Promise.all([endSessions(env, session.idHash), endSessions(env, session.idHash)]);
      assert.deepEqual(results.map((r) => r.notified).sort(), [0, 1]);
      assert.equal(await t.store.backchannelLogouts.pending(), before + 1);
      for (const { logout } of await t.store.backchannelLogouts.claim(t.clock.now(), t.clock.now() + 1, 100))
        await t.store.backchannelLogouts.finish(logout.id);
    });

    if (database.name === 'sqlite') {
      it('a running development node delivers the queued logout tokens by itself, off the request', async () => {
        const node = await suite.build({ publicUrl: 'http://127.0.0.1:8080', host: '127.0.0.1' });
        const env = await createEnvironment(node.store, 'RS256', node.clock.now());
        const { receiver: rp, url } = await receiver();
        const client = await createLogoutClient(node.store, env, node.clock.now(), { backchannelLogoutUri: url });
        const userId = await createUser(node.store, env, node.clock.now());
        const { cookie, session } = await signedInSession(node.store, env, userId, node.clock.now());
        await familyInSession(node.store, env, client.clientId, userId, session.sid, node.clock.now());
        const received = rp.next();
        await node.app.start();
        const res = await node.app.server.inject({ method: 'GET', url: `/envs/${env.name}/logout`, headers: { cookie } });
        const confirmed = await node.app.server.inject({
          method: 'POST',
          url: `/envs/${env.name}/logout`,
          headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({ confirm: 'yes', csrf_token: hiddenFields(res.body).csrf_token as string }).toString(),
        });
        assert.match(confirmed.body, /You are signed out/);
        await received;
        const { payload } = await jwtVerify(rp.tokens()[0] as string, createLocalJWKSet(await jwks(env)), {
          issuer: `http://127.0.0.1:8080/envs/${env.name}`,
          audience: client.clientId,
          typ: 'logout+jwt',
          currentDate: new Date(node.clock.now()),
        });
        assert.equal(payload.sid, session.sid);
      });
    }
  });
}

describe('logout receivers are SSRF-safe', () => {
  it('refuses loopback, private, link-local and other non-public addresses', () => {
    const production = { allowLoopback: false };
    for (const address of [
      '127.0.0.1',
      '::1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      '64:ff9b::a00:1',
      '224.0.0.1',
      'fe80::1%eth0',
      'not-an-address',
    ]) {
      assert.ok(refusedAddress(address, production), address);
    }
    for (const address of ['93.184.215.14', '2606:4700::6810:84e5', '8.8.8.8']) assert.equal(refusedAddress(address, production), undefined, address);
    // Development: loopback only, never the private ranges.
    assert.equal(refusedAddress('127.0.0.1', { allowLoopback: true }), undefined);
    assert.equal(refusedAddress('::1', { allowLoopback: true }), undefined);
    assert.ok(refusedAddress('10.0.0.1', { allowLoopback: true }));
  });

  it('refuses http, credentials in the URL, literal and resolved private addresses before sending anything', async () => {
    const policy = { allowLoopback: false, timeoutMs: 2_000 };
    assert.deepEqual(await postForm(new URL('http://rp.example.test/bc'), 'x', policy), { error: 'refused: not https' });
    assert.deepEqual(await postForm(new URL('https://user:pw@rp.example.test/bc'), 'x', policy), { error: 'refused: credentials in the URL' });
    assert.deepEqual(await postForm(new URL('https://127.0.0.1/bc'), 'x', policy), { error: 'refused: loopback address' });
    assert.deepEqual(await postForm(new URL('https://[::ffff:a9fe:a9fe]/bc'), 'x', policy), { error: 'refused: non-public address' });
    // A name is checked on what it resolves to, when connecting.
    assert.deepEqual(await postForm(new URL('https://localhost/bc'), 'x', policy), { error: 'refused: loopback address' });
  });

  it('abandons a receiver that does not answer in time, and never follows a redirect', async () => {
    const sockets: Socket[] = [];
    const silentServer = createServer(() => {});
    silentServer.on('connection', (socket) => sockets.push(socket));
    const redirecting = createServer((_request, response) => response.writeHead(302, { location: 'http://127.0.0.1:1/' }).end());
    await new Promise<void>((resolve) => silentServer.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    try {
      const policy = { allowLoopback: true, timeoutMs: 150 };
      const port = (server: Server) => (server.address() as AddressInfo).port;
      assert.deepEqual(await postForm(new URL(`http://127.0.0.1:${port(silentServer)}/`), 'x', policy), { error: 'timeout' });
      assert.deepEqual(await postForm(new URL(`http://127.0.0.1:${port(redirecting)}/`), 'x', { ...policy, timeoutMs: 2_000 }), { status: 302 });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silentServer.close(resolve));
      await new Promise((resolve) => redirecting.close(resolve));
    }
  });
});
