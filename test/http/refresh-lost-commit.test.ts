import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { hashSecret } from '../../src/crypto/secrets.ts';
import type { Store } from '../../src/domain/storage.ts';
import { openStore } from '../../src/store/open.ts';
import { type CodeFlowFixture, ENV, obtainCode, REDIRECT_URI, setUpCodeFlow } from '../helpers/authorization.ts';
import { POSTGRES_URL, testDatabases } from '../helpers/databases.ts';
import { basic, buildTestApp, form, type TestApp } from '../helpers/fixtures.ts';

const SYNC = Buffer.from([0x53, 0, 0, 0, 4]);
const ROTATION = 'update refresh_tokens set rotated_at';
// Extended-protocol Parse ('P', length, statement name, query) and Bind ('B', length, portal, statement name) of a prepared statement.
const PARSE_PREPARED = /P[\s\S]{4}(gh_[\w-]+)\0([^\0]*)\0/g;
const BIND_PREPARED = /B[\s\S]{4}[^\0]*\0(gh_[\w-]+)\0/g;

/**
 * A TCP proxy between Gatehouse and PostgreSQL that, once armed, lets the next commit through to
 * the server and then cuts Gatehouse's connection: PostgreSQL commits, Gatehouse never hears it.
 * The commit is a COMMIT, or the Sync after the one statement that rotates a refresh token on
 * PostgreSQL (autocommit: the server commits it at that Sync).
 */
async function startCommitLosingProxy(target: URL): Promise<{ port: number; arm(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let armed = false;
  // Between the rotating statement's Parse and its Sync, which may come in separate chunks.
  let rotating = false;
  // The names under which connections prepared the rotating statement.
  const rotations = new Set<string>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    upstream.pipe(client);
    client.on('data', (chunk: Buffer) => {
      // A simple-protocol Query message ('Q', length, text, NUL) whose text is COMMIT.
      const commit = chunk[0] === 0x51 && /^commit\0/i.test(chunk.subarray(5).toString('latin1'));
      // The rotation's Parse or, once its connection prepared it, the Bind of that statement.
      const text = chunk.toString('latin1');
      for (const [, name, query] of text.matchAll(PARSE_PREPARED)) if (query?.includes(ROTATION)) rotations.add(name as string);
      const bound = [...text.matchAll(BIND_PREPARED)].some(([, name]) => rotations.has(name as string));
      if (armed && !commit && (text.includes(ROTATION) || bound)) rotating = true;
      const synced = rotating && chunk.subarray(-SYNC.length).equals(SYNC);
      if (!(armed && (commit || synced))) {
        upstream.write(chunk);
        return;
      }
      armed = false;
      rotating = false;
      upstream.unpipe(client);
      // The server reads the COMMIT (or the Sync), then the end of its connection: it commits, its reply goes nowhere.
      upstream.end(chunk);
      client.resetAndDestroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('the proxy did not bind');
  return {
    port: address.port,
    arm() {
      armed = true;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const postgres = (await testDatabases()).find((d) => d.name === 'postgres');

if (postgres) {
  describe('a refresh whose COMMIT reply is lost (PostgreSQL committed, Gatehouse answered 503)', () => {
    let direct: Awaited<ReturnType<typeof postgres.open>>;
    let proxy: Awaited<ReturnType<typeof startCommitLosingProxy>>;
    let store: Store;
    const apps: TestApp[] = [];
    let fixture: CodeFlowFixture;

    before(async () => {
      direct = await postgres.open();
      proxy = await startCommitLosingProxy(new URL(POSTGRES_URL));
      const viaProxy = new URL(POSTGRES_URL);
      viaProxy.host = `127.0.0.1:${proxy.port}`;
      store = openStore(viaProxy.href, { postgresSchema: direct.schema, poolSize: 4, timeoutMs: 2_000 });
    });
    after(async () => {
      for (const t of apps) await t.app.stop();
      await store?.close();
      await proxy?.close();
      await direct?.cleanup();
    });

    const settings = { passwordHashCost: 10, loginAddressLimit: 10_000 };
    const post = (t: TestApp, path: string, params: Record<string, string>) =>
      t.app.server.inject({
        method: 'POST',
        url: `/envs/${ENV}/${path}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(fixture.clientId, fixture.clientSecret) },
        payload: form(params),
      });

    /** Signs in, then refreshes while the COMMIT reply is lost; returns the first tokens and the 503. */
    async function refreshLosingCommit(t: TestApp): Promise<{ first: { refresh_token: string; access_token: string }; lost: LightMyRequestResponse }> {
      const { code, verifier } = await obtainCode(t, fixture);
      const exchanged = await post(t, 'token', { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI });
      assert.equal(exchanged.statusCode, 200, exchanged.body);
      const first = exchanged.json() as { refresh_token: string; access_token: string };
      proxy.arm();
      const lost = await post(t, 'token', { grant_type: 'refresh_token', refresh_token: first.refresh_token });
      assert.equal(lost.statusCode, 503, lost.body);
      assert.equal(lost.headers['retry-after'], '5');
      assert.equal(store.health.available, false);
      // The probe a node runs every second while its database is unavailable, run here at once.
      await store.ping();
      assert.equal(store.health.available, true);
      const envId = (await direct.store.environments.findByName(ENV))?.id as string;
      assert.notEqual((await direct.store.tokenFamilies.findRefreshToken(envId, hashSecret(first.refresh_token)))?.rotatedAt, null, 'PostgreSQL committed');
      return { first, lost };
    }

    it('the client’s retry gets the committed answer and the user stays signed in', async () => {
      const t = await buildTestApp(store, settings);
      apps.push(t);
      fixture = await setUpCodeFlow(t);
      const { first } = await refreshLosingCommit(t);
      // The client follows Retry-After and sends the same request again.
      t.clock.advance(5_000);
      const retried = await post(t, 'token', { grant_type: 'refresh_token', refresh_token: first.refresh_token });
      assert.equal(retried.statusCode, 200, retried.body);
      const tokens = retried.json() as { refresh_token: string; access_token: string };
      assert.equal((await post(t, 'introspect', { token: tokens.access_token })).json().active, true);
      assert.equal((await post(t, 'introspect', { token: first.access_token })).json().active, true);
      const next = await post(t, 'token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
      assert.equal(next.statusCode, 200, next.body);
    });

    it('without a grace period the same retry meets reuse detection and the user is signed out, as before', async () => {
      const t = await buildTestApp(store, { ...settings, refreshRetryGrace: 0 });
      apps.push(t);
      const { first } = await refreshLosingCommit(t);
      t.clock.advance(5_000);
      const retried = await post(t, 'token', { grant_type: 'refresh_token', refresh_token: first.refresh_token });
      assert.equal(retried.statusCode, 400, retried.body);
      assert.equal(retried.json().error, 'invalid_grant');
      assert.equal((await post(t, 'introspect', { token: first.access_token })).json().active, false);
    });
  });
}
