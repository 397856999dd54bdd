import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { hashSecret } from '../../src/crypto/secrets.ts';
import type { CoreEvent } from '../../src/domain/events.ts';
import type { Store } from '../../src/domain/storage.ts';
import { RefreshRetries } from '../../src/oauth/refresh-retries.ts';
import { openStore } from '../../src/store/open.ts';
import { type CodeFlowFixture, ENV, obtainCode, REDIRECT_URI, setUpCodeFlow } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, buildTestApp, form, KEY_SECRET, PUBLIC_URL, type TestApp } from '../helpers/fixtures.ts';

const GRACE_MS = 10_000;
/** What separates a retry from the request it repeats: the client noticed the lost answer and sent it again. */
const RETRY_DELAY_MS = 1_000;

interface Tokens {
  access_token: string;
  refresh_token: string;
  scope: string;
  token_type: string;
  expires_in: number;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

function assertTokens(res: LightMyRequestResponse): Tokens {
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['cache-control'], 'no-store');
  return res.json() as Tokens;
}

function assertInvalidGrant(res: LightMyRequestResponse): void {
  assert.equal(res.statusCode, 400, res.body);
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal((res.json() as { error: string }).error, 'invalid_grant', res.body);
}

for (const database of await testDatabases()) {
  describe(`an exact retry of a refresh within the grace period on ${database.name}`, () => {
    let store: Store;
    let location: { url: string; schema?: string | undefined };
    let cleanup: () => Promise<void>;
    const apps: TestApp[] = [];
    const build = async (overrides: Parameters<typeof buildTestApp>[1] = {}, over = store) => {
      const app = await buildTestApp(over, { passwordHashCost: 10, loginAddressLimit: 10_000, ...overrides });
      apps.push(app);
      return app;
    };
    let t: TestApp;
    let fixture: CodeFlowFixture;

    const post = (app: TestApp, path: string, params: Record<string, string>, authorization: string) =>
      app.app.server.inject({
        method: 'POST',
        url: `/envs/${ENV}/${path}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
        payload: form(params),
      });
    const auth = () => basic(fixture.clientId, fixture.clientSecret);
    const refresh = (token: string, extra: Record<string, string> = {}, app = t, authorization = auth()) =>
      post(app, 'token', { grant_type: 'refresh_token', refresh_token: token, ...extra }, authorization);
    const active = async (token: string, app = t) => (await post(app, 'introspect', { token }, auth())).json().active as boolean;
    const envId = async () => (await t.store.environments.findByName(ENV))?.id as string;

    /** A user signs in: the code flow's first token pair. */
    async function signIn(app = t): Promise<Tokens> {
      const { code, verifier } = await obtainCode(app, fixture);
      const params = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI };
      return assertTokens(await post(app, 'token', params, auth()));
    }

    /** The family of `tokens` is revoked: none of its tokens works any more. */
    async function assertRevoked(...pairs: Tokens[]): Promise<void> {
      for (const pair of pairs) {
        assert.equal(await active(pair.access_token), false);
        assertInvalidGrant(await refresh(pair.refresh_token));
      }
    }

    before(async () => {
      let url: string;
      let schema: string | undefined;
      ({ store, url, schema, cleanup } = await database.open());
      location = { url, schema };
      t = await build();
      fixture = await setUpCodeFlow(t);
    });
    after(async () => {
      for (const app of apps) await app.app.stop();
      await cleanup();
    });

    it('answers a retry with the identical token pair; both stay the family’s current tokens and the new refresh token rotates normally', async () => {
      const first = await signIn();
      const events: CoreEvent[] = [];
      const stop = t.app.events.listen((event) => events.push(event));
      const lost = await refresh(first.refresh_token);
      const answered = assertTokens(lost);
      t.clock.advance(RETRY_DELAY_MS);
      const retried = await refresh(first.refresh_token);
      assert.equal(retried.body, lost.body, 'the same answer, byte for byte');
      assert.deepEqual(assertTokens(retried), answered);
      assert.equal((await refresh(first.refresh_token)).body, lost.body, 'a second retry too');
      stop();
      assert.deepEqual(
        events.map((e) => e.type),
        ['token.issued', 'refresh_token.retried', 'refresh_token.retried'],
        'a retry is neither an issuance nor a reuse',
      );

      assert.equal(await active(answered.access_token), true);
      const next = assertTokens(await refresh(answered.refresh_token));
      assert.notEqual(next.refresh_token, answered.refresh_token);
      assert.equal(await active(next.access_token), true);
      assert.equal(await active(answered.access_token), true, 'a rotation leaves the access tokens of the family alone');
    });

    it('answers the retry with an opaque access token too, the one that was stored', async () => {
      const opaqueClient = await t.admin.createClient({
        env: ENV,
        name: 'Opaque Retry App',
        grantTypes: ['authorization_code', 'refresh_token'],
        scopes: ['invoices:read'],
        redirectUris: [REDIRECT_URI],
        tokenFormat: 'opaque',
      });
      const authorization = basic(opaqueClient.client_id, opaqueClient.client_secret as string);
      const { code, verifier } = await obtainCode(t, { ...fixture, clientId: opaqueClient.client_id });
      const params = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI };
      const first = assertTokens(await post(t, 'token', params, authorization));
      const answered = assertTokens(await refresh(first.refresh_token, {}, t, authorization));
      assert.match(answered.access_token, /^gat_/);
      t.clock.advance(RETRY_DELAY_MS);
      assert.deepEqual(assertTokens(await refresh(first.refresh_token, {}, t, authorization)), answered);
      assert.equal((await post(t, 'introspect', { token: answered.access_token }, authorization)).json().active, true);
      assertTokens(await refresh(answered.refresh_token, {}, t, authorization));
    });

    it('keeps the answer sealed under the presented token: the database holds neither token in clear', async () => {
      const first = await signIn();
      const answered = assertTokens(await refresh(first.refresh_token));
      const retries = new RefreshRetries(KEY_SECRET, GRACE_MS / 1000);
      const issuer = `${PUBLIC_URL}/envs/${ENV}`;
      const requestHash = retries.requestHash({ clientId: fixture.clientId, issuer, accessTokenTtl: undefined, params: {} }, ['scope', 'resource']);
      const binding = { envId: await envId(), presentedHash: hashSecret(first.refresh_token), requestHash };
      const sealed = await t.store.tokenFamilies.findRetry(binding.envId, binding.presentedHash, requestHash, t.clock.now());
      assert.ok(sealed);
      for (const part of [answered.refresh_token, ...answered.access_token.split('.'), hashSecret(answered.refresh_token)]) assert.ok(!sealed.includes(part));
      assert.equal(retries.open(sealed, answered.refresh_token, binding), undefined, 'another token cannot open it');
      assert.equal(new RefreshRetries(Buffer.alloc(32, 7), 10).open(sealed, first.refresh_token, binding), undefined, 'nor another key secret');
      assert.equal(await t.store.tokenFamilies.findRetry(binding.envId, binding.presentedHash, 'another request', t.clock.now()), undefined);
      const opened = retries.open(sealed, first.refresh_token, binding);
      assert.equal(opened?.accessToken, answered.access_token);
      assert.equal(opened?.refreshToken, answered.refresh_token);
    });

    it('revokes the family for a retry after the grace period', async () => {
      const first = await signIn();
      const answered = assertTokens(await refresh(first.refresh_token));
      t.clock.advance(GRACE_MS);
      assertInvalidGrant(await refresh(first.refresh_token));
      await assertRevoked(first, answered);
    });

    for (const [what, extra] of [
      ['another scope', { scope: 'invoices:read' }],
      ['a resource', { resource: 'https://api.example.test/billing' }],
    ] as const) {
      it(`revokes the family for a retry with ${what}`, async () => {
        const first = await signIn();
        const answered = assertTokens(await refresh(first.refresh_token));
        t.clock.advance(RETRY_DELAY_MS);
        assertInvalidGrant(await refresh(first.refresh_token, extra));
        await assertRevoked(first, answered);
      });
    }

    it('refuses a retry by another client and leaves the family alone', async () => {
      const first = await signIn();
      const answered = assertTokens(await refresh(first.refresh_token));
      const other = await t.admin.createClient({
        env: ENV,
        name: 'Other Retry App',
        grantTypes: ['authorization_code', 'refresh_token'],
        scopes: ['invoices:read', 'invoices:write'],
        redirectUris: [REDIRECT_URI],
      });
      t.clock.advance(RETRY_DELAY_MS);
      assertInvalidGrant(await refresh(first.refresh_token, {}, t, basic(other.client_id, other.client_secret as string)));
      assert.equal(await active(answered.access_token), true);
      assert.deepEqual(assertTokens(await refresh(first.refresh_token)), answered, 'its own client’s retry still works');
    });

    it('revokes the family for a retry once the new refresh token was used', async () => {
      const first = await signIn();
      const answered = assertTokens(await refresh(first.refresh_token));
      const next = assertTokens(await refresh(answered.refresh_token));
      t.clock.advance(RETRY_DELAY_MS);
      assertInvalidGrant(await refresh(first.refresh_token));
      await assertRevoked(first, answered, next);
    });

    it('revokes the family for a retry of a token whose successor was rotated in turn, even that successor’s own retry', async () => {
      const first = await signIn();
      const answered = assertTokens(await refresh(first.refresh_token));
      t.clock.advance(RETRY_DELAY_MS);
      const next = assertTokens(await refresh(answered.refresh_token));
      t.clock.advance(RETRY_DELAY_MS);
      assert.deepEqual(assertTokens(await refresh(answered.refresh_token)), next, 'the latest rotation can be retried');
      assertInvalidGrant(await refresh(first.refresh_token));
      await assertRevoked(answered, next);
    });

    it('treats a request at the very instant of the rotation as concurrent: reuse, not a retry', async () => {
      const first = await signIn();
      const answered = assertTokens(await refresh(first.refresh_token));
      assertInvalidGrant(await refresh(first.refresh_token));
      await assertRevoked(first, answered);
    });

    it('gives exactly one of 20 simultaneous refreshes a token, then revokes the family', async () => {
      const first = await signIn();
      const results = await Promise.all(Array.from({ length: 20 }, () => refresh(first.refresh_token)));
      const statuses = results.map((r) => r.statusCode);
      assert.equal(statuses.filter((s) => s === 200).length, 1, statuses.join());
      for (const res of results.filter((r) => r.statusCode !== 200)) assertInvalidGrant(res);
      const winner = assertTokens(results.find((r) => r.statusCode === 200) as LightMyRequestResponse);
      t.clock.advance(RETRY_DELAY_MS);
      assertInvalidGrant(await refresh(first.refresh_token));
      await assertRevoked(winner);
    });

    it('answers a retry that arrived while the rotation was still under way, once it is saved', async () => {
      // A node whose rotations wait, at the database, until told to go on.
      const real = store.tokenFamilies;
      let calls = 0;
      const originalWaits = deferred();
      const retryWaits = deferred();
      const originalDone = deferred();
      const gated = new Proxy(store, {
        get(target, name, receiver) {
          if (name !== 'tokenFamilies') return Reflect.get(target, name, receiver);
          return {
            ...real,
            async rotate(...args: Parameters<typeof real.rotate>) {
              calls += 1;
              if (calls === 1) {
                originalWaits.resolve();
                await retryWaits.promise;
                return real.rotate(...args).finally(() => originalDone.resolve());
              }
              retryWaits.resolve();
              await originalDone.promise;
              return real.rotate(...args);
            },
          };
        },
      });
      const node = await build({}, gated);
      const first = await signIn(node);
      calls = 0;
      const original = refresh(first.refresh_token, {}, node);
      await originalWaits.promise;
      // The client gave up waiting and sends the request again: it finds the token not yet rotated.
      node.clock.advance(RETRY_DELAY_MS);
      const retried = await refresh(first.refresh_token, {}, node);
      const answered = assertTokens(await original);
      assert.deepEqual(assertTokens(retried), answered);
      assert.equal(await active(answered.access_token, node), true);
      assertTokens(await refresh(answered.refresh_token, {}, node));
    });

    it('with a grace period of 0 revokes the family for any reuse, as before', async () => {
      const strict = await build({ refreshRetryGrace: 0 });
      const first = await signIn(strict);
      const answered = assertTokens(await refresh(first.refresh_token, {}, strict));
      strict.clock.advance(RETRY_DELAY_MS);
      assertInvalidGrant(await refresh(first.refresh_token, {}, strict));
      assert.equal(await active(answered.access_token, strict), false);
      assertInvalidGrant(await refresh(answered.refresh_token, {}, strict));
    });

    it('answers the retry on another node over the same database', async () => {
      const otherStore = openStore(location.url, location.schema ? { postgresSchema: location.schema, poolSize: 2 } : {});
      try {
        const other = await build({}, otherStore);
        const first = await signIn();
        const answered = assertTokens(await refresh(first.refresh_token));
        other.clock.set(t.clock.now() + RETRY_DELAY_MS);
        assert.deepEqual(assertTokens(await refresh(first.refresh_token, {}, other)), answered);
        assert.equal(await active(answered.access_token, other), true);
        t.clock.set(other.clock.now());
        assertTokens(await refresh(answered.refresh_token));
      } finally {
        await apps.pop()?.app.stop();
        await otherStore.close();
      }
    });
  });
}
