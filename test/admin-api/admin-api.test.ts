import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { canonicalJson } from '../../src/admin-api/http-semantics.ts';
import { ADMIN_ROUTES } from '../../src/admin-api/routes.ts';
import { keyedHasher } from '../../src/crypto/secrets.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, KEY_SECRET, suiteStore, type TestApp } from '../helpers/fixtures.ts';
import { type AdminDoc, type AdminFixture, Contract, MANAGEMENT, setUpAdmin } from './helpers.ts';

const concrete = (path: string) =>
  `/admin/v1${path}`
    .replace('{env}', 'DEVELOPMENT')
    .replace(/\{identifier\}/, encodeURIComponent('https://api.example.test/x'))
    .replace(/\{[a-z_]+\}/g, 'x');

for (const database of await testDatabases()) {
  describe(`admin API on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let f: AdminFixture;
    let contract: Contract;
    let writeToken: string;
    let readToken: string;
    const secretsSeen: string[] = [];

    /** One call to the admin API; every response is checked against the OpenAPI document. */
    const call = async (method: string, url: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
      const request: InjectOptions = {
        method: method as InjectOptions['method'],
        url,
        headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...options.headers },
        ...(options.body === undefined ? {} : { payload: options.body as object }),
      };
      const res = await f.admin.inject(request);
      contract.conforms(res);
      return res;
    };
    const assertProblem = (res: LightMyRequestResponse, status: number, type: string) => {
      assert.equal(res.statusCode, status, res.body);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      assert.equal(res.json().type, `/admin/v1/problems/${type}`);
      assert.equal(res.json().status, status);
    };

    before(async () => {
      t = await suite.build({ adminPort: 0, passwordHashCost: 10 });
      await t.admin.createEnvironment('DEVELOPMENT');
      await t.admin.createEnvironment('STAGING');
      f = await setUpAdmin(t);
      writeToken = await f.token(f.clientId, f.clientSecret);
      readToken = (await f.adminClient(['admin:read'])).token;
      secretsSeen.push(f.clientSecret);
      const doc = await f.admin.inject({ url: '/admin/v1/openapi.json' });
      assert.equal(doc.statusCode, 200);
      contract = new Contract(doc.json() as AdminDoc);
    });

    it('serves a valid OpenAPI 3.1 document listing every route', async () => {
      assert.equal(contract.doc.openapi, '3.1.0');
      const result = await new Validator().validate(contract.doc as never);
      assert.ok(result.valid, JSON.stringify(result.errors));
      for (const route of ADMIN_ROUTES) assert.ok(contract.doc.paths[`/admin/v1${route.path}`]?.[route.method.toLowerCase()], `${route.method} ${route.path}`);
    });

    it('answers 401 with WWW-Authenticate: Bearer on every route without a valid admin token', async () => {
      const devClient = await t.admin.createClient({ env: 'DEVELOPMENT', name: 'not an admin', scopes: ['admin:write'] });
      const res = await t.app.server.inject({
        method: 'POST',
        url: '/envs/DEVELOPMENT/token',
        headers: { authorization: basic(devClient.client_id, String(devClient.client_secret)), 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ grant_type: 'client_credentials' }),
      });
      const otherEnvToken = String(res.json().access_token);
      for (const route of ADMIN_ROUTES) {
        for (const token of [undefined, 'not-a-token', otherEnvToken]) {
          const res = await call(route.method, concrete(route.path), { ...(token ? { token } : {}), body: route.body ? {} : undefined });
          assertProblem(res, 401, 'unauthorized');
          assert.match(String(res.headers['www-authenticate']), /^Bearer realm="gatehouse-admin"/, `${route.method} ${route.path}`);
        }
      }
    });

    it('answers 403 insufficient_scope on every write route to a token without admin:write', async () => {
      const writes = ADMIN_ROUTES.filter((route) => route.method !== 'GET');
      assert.ok(writes.length >= 20);
      for (const route of writes) {
        assert.equal(route.access, 'write', `${route.method} ${route.path} is a write`);
        const res = await call(route.method, concrete(route.path), { token: readToken, body: route.body ? {} : undefined });
        assertProblem(res, 403, 'insufficient-scope');
        assert.match(String(res.headers['www-authenticate']), /error="insufficient_scope", scope="admin:write/);
      }
      const list = await call('GET', '/admin/v1/environments/DEVELOPMENT/clients', { token: readToken });
      assert.equal(list.statusCode, 200);
    });

    it('requires If-Match on every update route: 428 without it, 412 with a stale one', async () => {
      const env = 'DEVELOPMENT';
      const client = await t.admin.createClient({ env, name: 'if-match' });
      const account = await f.services.serviceAccounts.create({ env, name: 'if-match' });
      await f.services.users.create({ env, username: 'if-match', password: 'a long enough passphrase' });
      const identifier = 'https://api.example.test/if-match';
      await f.services.apis.create({ env, identifier, name: 'if-match' });
      const values: Record<string, string> = {
        env,
        client_id: client.client_id,
        service_account_id: account.service_account_id,
        username: 'if-match',
        identifier: encodeURIComponent(identifier),
      };
      const updates = ADMIN_ROUTES.filter((route) => route.method === 'PATCH');
      assert.ok(updates.length >= 5);
      for (const route of updates) {
        assert.ok(route.current, `${route.path} checks If-Match`);
        const url = `/admin/v1${route.path}`.replace(/\{([a-z_]+)\}/g, (_m, name: string) => values[name] ?? 'x');
        const read = await call('GET', url, { token: readToken });
        assert.equal(read.statusCode, 200, `${url}: ${read.body}`);
        assertProblem(await call('PATCH', url, { token: writeToken, body: {} }), 428, 'precondition-required');
        assertProblem(await call('PATCH', url, { token: writeToken, body: {}, headers: { 'if-match': '*' } }), 428, 'precondition-required');
        assertProblem(await call('PATCH', url, { token: writeToken, body: {}, headers: { 'if-match': '"stale"' } }), 412, 'precondition-failed');
        const same = await call('PATCH', url, { token: writeToken, body: {}, headers: { 'if-match': `"other", ${String(read.headers.etag)}` } });
        assert.equal(same.statusCode, 200, `${url}: ${same.body}`);
        assert.equal(same.headers.etag, read.headers.etag, 'an empty change keeps the representation');
      }
    });

    it('of two concurrent updates with the same If-Match, exactly one succeeds and the other gets 412, for every resource', async () => {
      const env = 'RACING';
      await t.admin.createEnvironment(env);
      const client = await t.admin.createClient({ env, name: 'race' });
      const account = await f.services.serviceAccounts.create({ env, name: 'race' });
      await f.services.users.create({ env, username: 'race', password: 'a long enough passphrase' });
      const identifier = 'https://api.example.test/race';
      await f.services.apis.create({ env, identifier, name: 'race' });
      const base = `/admin/v1/environments/${env}`;
      const cases: [string, unknown, unknown, method?: string][] = [
        [base, { default_quota: 10 }, { default_quota: 20 }],
        [`${base}/clients/${client.client_id}`, { name: 'first' }, { name: 'second' }],
        [`${base}/service-accounts/${account.service_account_id}`, { enabled: false }, { enabled: false }],
        [`${base}/users/race`, { enabled: false }, { enabled: false }],
        [`${base}/apis/${encodeURIComponent(identifier)}`, { name: 'first' }, { name: 'second' }],
        // An environment's settings: each read, checked and written by one change at a time.
        [`${base}/sign-in-policy`, { required_scopes: ['first'] }, { required_scopes: ['second'] }],
        [`${base}/registration`, { allowed_scopes: ['first'] }, { allowed_scopes: ['second'] }],
        [`${base}/branding`, { product_name: 'First' }, { product_name: 'Second' }, 'PUT'],
        [`${base}/client-metadata-documents`, { enabled: true, scopes: ['first'] }, { enabled: true, scopes: ['second'] }, 'PUT'],
      ];
      for (const [url, one, other, method = 'PATCH'] of cases) {
        const etag = String((await call('GET', url, { token: readToken })).headers.etag);
        const results = await Promise.all([
          call(method, url, { token: writeToken, body: one, headers: { 'if-match': etag } }),
          call(method, url, { token: writeToken, body: other, headers: { 'if-match': etag } }),
        ]);
        const statuses = results.map((r) => r.statusCode).sort();
        assert.deepEqual(statuses, [200, 412], `${url}: ${results.map((r) => r.body).join(' ')}`);
        const lost = results.find((r) => r.statusCode === 412);
        if (lost) assertProblem(lost, 412, 'precondition-failed');
        const won = results.find((r) => r.statusCode === 200);
        assert.equal((await call('GET', url, { token: readToken })).headers.etag, won?.headers.etag, `${url}: the winner's change stands`);
      }
    });

    it('creates, reads, updates with If-Match, rotates and revokes secrets, and deletes a client', async () => {
      const base = '/admin/v1/environments/DEVELOPMENT/clients';
      const created = await call('POST', base, { token: writeToken, body: { name: 'billing', scopes: ['invoices:read', 'invoices:write'] } });
      assert.equal(created.statusCode, 201, created.body);
      const { client_id: id, client_secret: secret } = created.json();
      assert.ok(secret);
      secretsSeen.push(secret);
      const read = await call('GET', `${base}/${id}`, { token: readToken });
      const etag = String(read.headers.etag);
      assert.match(etag, /^"[A-Za-z0-9_-]+"$/);
      assertProblem(await call('PATCH', `${base}/${id}`, { token: writeToken, body: { scopes: ['invoices:read'] } }), 428, 'precondition-required');
      assertProblem(
        await call('PATCH', `${base}/${id}`, { token: writeToken, body: { scopes: ['invoices:read'] }, headers: { 'if-match': '"stale"' } }),
        412,
        'precondition-failed',
      );
      const updated = await call('PATCH', `${base}/${id}`, {
        token: writeToken,
        body: { scopes: ['invoices:read'], access_token_ttl: 600 },
        headers: { 'if-match': etag },
      });
      assert.equal(updated.statusCode, 200, updated.body);
      assert.deepEqual(updated.json().scopes, ['invoices:read']);
      assert.deepEqual(updated.json().default_scopes, ['invoices:read']);
      assert.notEqual(updated.headers.etag, etag);
      // The second admin still holding the first ETag cannot overwrite the change.
      assertProblem(
        await call('PATCH', `${base}/${id}`, { token: writeToken, body: { name: 'lost update' }, headers: { 'if-match': etag } }),
        412,
        'precondition-failed',
      );
      const refused = await call('PATCH', `${base}/${id}`, {
        token: writeToken,
        body: { grant_types: ['warp'] },
        headers: { 'if-match': String(updated.headers.etag) },
      });
      assertProblem(refused, 422, 'invalid-value');

      const rotated = await call('POST', `${base}/${id}/secrets`, { token: writeToken, body: { overlap_seconds: 60 } });
      assert.equal(rotated.statusCode, 201, rotated.body);
      secretsSeen.push(rotated.json().client_secret);
      const secrets = await call('GET', `${base}/${id}/secrets`, { token: readToken });
      assert.equal(secrets.json().items.length, 2);
      assert.equal(secrets.json().next_cursor, null);
      const old = secrets.json().items.find((s: { expires_at: string | null }) => s.expires_at !== null);
      const left = await call('DELETE', `${base}/${id}/secrets/${old.id}`, { token: writeToken });
      assert.equal(left.statusCode, 200);
      assert.equal(left.json().length, 1);
      assertProblem(await call('DELETE', `${base}/${id}/secrets/${old.id}`, { token: writeToken }), 404, 'not-found');

      const deleted = await call('DELETE', `${base}/${id}`, { token: writeToken });
      assert.deepEqual(deleted.json(), { client_id: id, environment: 'DEVELOPMENT', deleted: true });
      assertProblem(await call('GET', `${base}/${id}`, { token: readToken }), 404, 'not-found');
    });

    it('replays a create with the same Idempotency-Key without its secret, and refuses the key for another body', async () => {
      const base = '/admin/v1/environments/DEVELOPMENT/clients';
      const headers = { 'idempotency-key': 'create-reports-1' };
      const first = await call('POST', base, { token: writeToken, body: { name: 'reports' }, headers });
      assert.equal(first.statusCode, 201);
      assert.ok(first.json().client_secret);
      secretsSeen.push(first.json().client_secret);
      assert.equal(first.headers['idempotent-replayed'], undefined);
      const again = await call('POST', base, { token: writeToken, body: { name: 'reports' }, headers });
      assert.equal(again.statusCode, 201);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.equal(again.json().client_id, first.json().client_id);
      assert.equal(again.json().client_secret, undefined, 'a replay never shows the secret again');
      assertProblem(await call('POST', base, { token: writeToken, body: { name: 'other' }, headers }), 422, 'idempotency-key-reused');
      const list = await call('GET', `${base}?q=reports`, { token: readToken });
      assert.equal(list.json().items.length, 1);
      // A first request still running (its reservation has no response yet): a retry waits its turn.
      const now = t.clock.now();
      const body = { name: 'busy' };
      await t.store.idempotencyKeys.reserve(
        {
          keyHash: keyedHasher(KEY_SECRET, 'admin idempotency keys')(`${f.clientId}\nbusy-1`),
          requestHash: keyedHasher(KEY_SECRET, 'admin idempotency keys')(`request\nPOST ${base}\n${canonicalJson(body)}`),
          status: null,
          response: null,
          createdAt: now,
          expiresAt: now + 60_000,
        },
        now,
      );
      assertProblem(await call('POST', base, { token: writeToken, body, headers: { 'idempotency-key': 'busy-1' } }), 409, 'idempotency-key-in-use');
      assertProblem(await call('POST', base, { token: writeToken, body, headers: { 'idempotency-key': 'bad key with spaces' } }), 400, 'invalid-request');
    });

    it('pages through a list with an opaque cursor and filters by name and enabled', async () => {
      const base = '/admin/v1/environments/STAGING/clients';
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) ids.push((await call('POST', base, { token: writeToken, body: { name: `paged ${i}` } })).json().client_id);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: LightMyRequestResponse = await call('GET', `${base}?limit=3${cursor ? `&cursor=${cursor}` : ''}`, { token: readToken });
        assert.equal(res.statusCode, 200, res.body);
        assert.ok(res.json().items.length <= 3);
        seen.push(...res.json().items.map((c: { client_id: string }) => c.client_id));
        cursor = res.json().next_cursor;
        pages++;
      } while (cursor && pages < 10);
      assert.equal(pages, 3);
      assert.deepEqual([...seen].sort(), [...ids].sort());
      assertProblem(await call('GET', `${base}?cursor=garbage`, { token: readToken }), 400, 'invalid-request');
      assertProblem(await call('GET', `${base}?limit=1000`, { token: readToken }), 400, 'invalid-request');
      const first = await call('GET', `${base}/${ids[0]}`, { token: readToken });
      await call('PATCH', `${base}/${ids[0]}`, { token: writeToken, body: { enabled: false }, headers: { 'if-match': String(first.headers.etag) } });
      const disabled = await call('GET', `${base}?enabled=false`, { token: readToken });
      assert.deepEqual(
        disabled.json().items.map((c: { client_id: string }) => c.client_id),
        [ids[0]],
      );
      assert.equal((await call('GET', `${base}?q=PAGED%205`, { token: readToken })).json().items.length, 1);
    });

    it('pages every list one item at a time, without duplicates or gaps, following next_cursor', async () => {
      const env = 'PAGING';
      await t.admin.createEnvironment(env);
      const base = `/admin/v1/environments/${env}`;
      const client = await t.admin.createClient({ env, name: 'paged client' });
      await t.admin.createClient({ env, name: 'other client' });
      const account = await f.services.serviceAccounts.create({ env, name: 'paged account' });
      await f.services.serviceAccounts.create({ env, name: 'other account' });
      for (const username of ['ann', 'bob', 'cy']) await f.services.users.create({ env, username, password: 'a long enough passphrase' });
      for (const name of ['a', 'b', 'c']) await f.services.apis.create({ env, identifier: `https://api.example.test/paged/${name}`, name });
      for (let i = 0; i < 2; i++) await f.services.admin.rotateClientSecret(env, client.client_id, 60);
      // Keys made in the same millisecond still page in a stable order (creation time, then kid).
      for (let i = 0; i < 3; i++) {
        await f.services.serviceAccounts.createKey(env, client.client_id, 'ES256', 'client');
        await f.services.serviceAccounts.createKey(env, account.service_account_id);
      }
      await f.services.admin.rotateKeys(env, { now: true });
      const everything = async (url: string, limit: number) => {
        const seen: unknown[] = [];
        let cursor: string | null = null;
        for (let pages = 0; pages < 50; pages++) {
          const separator = url.includes('?') ? '&' : '?';
          const res: LightMyRequestResponse = await call('GET', `${url}${separator}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, { token: readToken });
          assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
          const page = res.json() as { items: unknown[]; next_cursor: string | null };
          assert.ok(page.items.length <= limit);
          seen.push(...page.items);
          cursor = page.next_cursor;
          if (cursor === null) return seen;
        }
        assert.fail(`${url} never ends`);
      };
      const lists: [string, (item: never) => string, number][] = [
        ['/admin/v1/environments', (e: { name: string }) => e.name, 0],
        [`${base}/clients`, (c: { client_id: string }) => c.client_id, 2],
        [`${base}/clients/${client.client_id}/secrets`, (s: { id: string }) => s.id, 3],
        [`${base}/clients/${client.client_id}/keys`, (k: { kid: string }) => k.kid, 3],
        [`${base}/service-accounts`, (a: { service_account_id: string }) => a.service_account_id, 2],
        [`${base}/service-accounts/${account.service_account_id}/keys`, (k: { kid: string }) => k.kid, 3],
        [`${base}/users`, (u: { username: string }) => u.username, 3],
        [`${base}/apis`, (a: { identifier: string }) => a.identifier, 3],
        [`${base}/signing-keys`, (k: { kid: string }) => k.kid, 3],
      ];
      for (const [url, id, count] of lists) {
        const all = (await everything(url, 200)).map((item) => id(item as never));
        if (count > 0) assert.equal(all.length, count, url);
        for (const limit of [1, 2])
          assert.deepEqual(
            (await everything(url, limit)).map((item) => id(item as never)),
            all,
            `${url} by ${limit}`,
          );
        assert.equal(new Set(all).size, all.length, `${url}: no duplicates`);
      }
      assertProblem(
        await call('GET', `${base}/clients/${client.client_id}/keys?cursor=${Buffer.from('{"after":"x"}').toString('base64url')}`, { token: readToken }),
        400,
        'invalid-request',
      );
      // Filters apply in the query, before the page is cut.
      assert.deepEqual(
        (await everything(`${base}/users?q=O`, 1)).map((u) => (u as { username: string }).username),
        ['bob'],
      );
      assert.deepEqual(
        (await everything(`${base}/apis?q=paged%2Fc`, 1)).map((a) => (a as { name: string }).name),
        ['c'],
      );
      assert.equal((await everything(`${base}/clients?q=100%25`, 1)).length, 0, 'a % is matched literally');
    });

    it('lets a per-environment scope act in its environment only', async () => {
      const staging = await f.adminClient(['admin:write:STAGING']);
      const ok = await call('POST', '/admin/v1/environments/STAGING/users', {
        token: staging.token,
        body: { username: 'sam', password: 'a long enough passphrase' },
      });
      assert.equal(ok.statusCode, 201, ok.body);
      assert.equal((await call('GET', '/admin/v1/environments/STAGING/users', { token: staging.token })).statusCode, 200);
      assertProblem(await call('GET', '/admin/v1/environments/DEVELOPMENT/users', { token: staging.token }), 403, 'insufficient-scope');
      assertProblem(await call('POST', '/admin/v1/environments', { token: staging.token, body: { name: 'NEW' } }), 403, 'insufficient-scope');
      assertProblem(await call('GET', '/admin/v1/environments', { token: staging.token }), 403, 'insufficient-scope');
      const me = await call('GET', '/admin/v1/me', { token: staging.token });
      assert.deepEqual(me.json(), { client_id: staging.clientId, subject: staging.clientId, environment: MANAGEMENT, scopes: ['admin:write:STAGING'] });
    });

    it('manages users, signing keys, service accounts and APIs through the documented operations', async () => {
      const env = '/admin/v1/environments/DEVELOPMENT';
      const user = await call('POST', `${env}/users`, { token: writeToken, body: { username: 'alice', password: 'correct horse battery staple' } });
      assert.equal(user.statusCode, 201);
      assert.ok(!user.body.includes('correct horse'));
      const read = await call('GET', `${env}/users/alice`, { token: readToken });
      const disabled = await call('PATCH', `${env}/users/alice`, {
        token: writeToken,
        body: { enabled: false },
        headers: { 'if-match': String(read.headers.etag) },
      });
      assert.equal(disabled.json().enabled, false);
      assert.equal((await call('PUT', `${env}/users/alice/password`, { token: writeToken, body: { password: 'another long passphrase' } })).statusCode, 200);
      assert.equal((await call('POST', `${env}/users/alice/revoke-sessions`, { token: writeToken })).statusCode, 200);
      assertProblem(
        await call('POST', `${env}/users`, { token: writeToken, body: { username: 'alice', password: 'correct horse battery staple' } }),
        409,
        'conflict',
      );
      assertProblem(await call('POST', `${env}/users`, { token: writeToken, body: { username: 'bob', password: 'x', admin: true } }), 400, 'invalid-request');

      // The access-token key and the RS256 key of ID Tokens; a rotation acts on one lineage.
      assert.deepEqual(
        (await call('GET', `${env}/signing-keys`, { token: readToken }))
          .json()
          .items.map((k: { alg: string }) => k.alg)
          .sort(),
        ['ES256', 'RS256'],
      );
      const rotated = await call('POST', `${env}/signing-keys/rotate`, { token: writeToken, body: {} });
      assert.deepEqual(
        rotated
          .json()
          .map((k: { alg: string; status: string }) => [k.alg, k.status])
          .sort(),
        [
          ['ES256', 'active'],
          ['ES256', 'next'],
          ['RS256', 'active'],
        ],
      );
      assertProblem(await call('POST', `${env}/signing-keys/rotate`, { token: writeToken }), 409, 'conflict');
      const rsRotated = await call('POST', `${env}/signing-keys/rotate`, { token: writeToken, body: { alg: 'RS256', now: true } });
      assert.equal(rsRotated.statusCode, 200, rsRotated.body);
      assert.ok(rsRotated.json().some((k: { alg: string; status: string }) => k.alg === 'RS256' && k.status === 'next'));
      assertProblem(await call('POST', `${env}/signing-keys/rotate`, { token: writeToken, body: { alg: 'HS256' } }), 400, 'invalid-request');
      const wrongAlg = await call('POST', `${env}/signing-keys/rotate`, { token: writeToken, body: { alg: 'EdDSA' } });
      assertProblem(wrongAlg, 422, 'invalid-value');
      assert.match(wrongAlg.json().detail, /new access-token keys are ES256/);
      const schedule = await call('PUT', `${env}/signing-keys/rotation-schedule`, { token: writeToken, body: { interval_seconds: 30 * 86_400 } });
      assert.equal(schedule.json().key_rotation_interval, 30 * 86_400);

      const account = await call('POST', `${env}/service-accounts`, { token: writeToken, body: { name: 'nightly', scopes: ['reports:read'] } });
      const accountId = account.json().service_account_id;
      const key = await call('POST', `${env}/service-accounts/${accountId}/keys`, { token: writeToken, body: { alg: 'ES256' } });
      assert.equal(key.statusCode, 201);
      secretsSeen.push(key.json().private_key_pem, key.json().example.assertion);
      assert.equal((await call('GET', `${env}/service-accounts/${accountId}/keys`, { token: readToken })).json().items.length, 1);
      assert.equal((await call('DELETE', `${env}/service-accounts/${accountId}/keys/${key.json().kid}`, { token: writeToken })).json().status, 'revoked');
      const accountRead = await call('GET', `${env}/service-accounts/${accountId}`, { token: readToken });
      const off = await call('PATCH', `${env}/service-accounts/${accountId}`, {
        token: writeToken,
        body: { enabled: false },
        headers: { 'if-match': String(accountRead.headers.etag) },
      });
      assert.equal(off.json().enabled, false);

      const identifier = 'https://api.example.test/billing';
      const api = await call('POST', `${env}/apis`, {
        token: writeToken,
        body: { identifier, name: 'Billing', scopes: [{ name: 'invoices:read', description: 'Read invoices' }] },
      });
      assert.equal(api.statusCode, 201, api.body);
      const apiUrl = `${env}/apis/${encodeURIComponent(identifier)}`;
      const apiRead = await call('GET', apiUrl, { token: readToken });
      const renamed = await call('PATCH', apiUrl, { token: writeToken, body: { name: 'Invoices' }, headers: { 'if-match': String(apiRead.headers.etag) } });
      assert.equal(renamed.json().name, 'Invoices');
      assert.equal((await call('DELETE', apiUrl, { token: writeToken })).json().deleted, true);

      const envRead = await call('GET', env, { token: readToken });
      const quota = await call('PATCH', env, { token: writeToken, body: { default_quota: 1000 }, headers: { 'if-match': String(envRead.headers.etag) } });
      assert.equal(quota.json().default_quota, 1000);
      const created = await call('POST', '/admin/v1/environments', { token: writeToken, body: { name: 'PRODUCTION' } });
      assert.equal(created.statusCode, 201);
    });

    it('never shows a secret in a list or read response', async () => {
      const env = '/admin/v1/environments/DEVELOPMENT';
      const reads = [
        '/admin/v1/environments',
        `/admin/v1/environments/${MANAGEMENT}/clients`,
        `${env}/clients`,
        `${env}/service-accounts`,
        `${env}/users`,
        `${env}/apis`,
      ];
      const clients = (await call('GET', `${env}/clients`, { token: readToken })).json().items as { client_id: string }[];
      for (const c of clients) reads.push(`${env}/clients/${c.client_id}`, `${env}/clients/${c.client_id}/secrets`);
      assert.ok(secretsSeen.length >= 5);
      for (const url of reads) {
        const res = await call('GET', url, { token: readToken });
        assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
        for (const field of ['client_secret', 'secret_hash', 'private_key_pem', 'password'])
          assert.ok(!res.body.includes(`"${field}"`), `${url} shows ${field}`);
        for (const secret of secretsSeen) assert.ok(!res.body.includes(secret), `${url} shows a secret`);
      }
    });

    it('answers problem+json for unknown paths, malformed bodies and non-JSON bodies', async () => {
      assertProblem(await f.admin.inject({ url: '/admin/v1/nothing' }), 404, 'not-found');
      const bad = await call('POST', '/admin/v1/environments/DEVELOPMENT/clients', { token: writeToken, body: { name: 'x', scopes: 'not a list' } });
      assertProblem(bad, 400, 'invalid-request');
      assert.equal(bad.json().field, '/scopes');
      const text = await call('POST', '/admin/v1/environments', { token: writeToken, body: 'name=x', headers: { 'content-type': 'text/plain' } });
      assertProblem(text, 415, 'unsupported-media-type');
      const problemType = await call('GET', '/admin/v1/problems/precondition-required');
      assert.equal(problemType.json().status, 428);
      assertProblem(await call('GET', '/admin/v1/problems/no-such-problem'), 404, 'not-found');
      assert.equal((await call('GET', '/admin/v1/openapi.json')).statusCode, 200);
    });

    it('rate limits each admin client per minute with 429 and Retry-After', async () => {
      const limited = await suite.build({ adminPort: 0, adminRateLimit: 3 });
      const admin = limited.app.adminServer;
      assert.ok(admin);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++)
        statuses.push((await admin.inject({ url: '/admin/v1/environments', headers: { authorization: `Bearer ${readToken}` } })).statusCode);
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      const refused = await admin.inject({ url: '/admin/v1/environments', headers: { authorization: `Bearer ${readToken}` } });
      assert.equal(refused.json().type, '/admin/v1/problems/rate-limited');
      assert.ok(Number(refused.headers['retry-after']) >= 1);
      limited.clock.advance(60_000);
      assert.equal((await admin.inject({ url: '/admin/v1/environments', headers: { authorization: `Bearer ${readToken}` } })).statusCode, 200);
    });

    it('revokes a signing key: out of the JWKS at once, a fresh key signs; 404 for an unknown kid, 409 when already revoked', async () => {
      const env = '/admin/v1/environments/STAGING';
      const jwks = async () => (await t.app.server.inject({ url: '/envs/STAGING/jwks.json' })).json().keys.map((k: { kid: string }) => k.kid);
      const keys = (await call('GET', `${env}/signing-keys`, { token: readToken })).json().items as { kid: string; alg: string }[];
      const active = keys.find((k) => k.alg === 'ES256');
      const rs = keys.find((k) => k.alg === 'RS256');
      assert.ok(active && rs);
      assert.deepEqual((await jwks()).sort(), [active.kid, rs.kid].sort());
      t.clock.advance(1);
      assertProblem(await call('POST', `${env}/signing-keys/${active.kid}/revoke`, { token: readToken }), 403, 'insufficient-scope');
      const revoked = await call('POST', `${env}/signing-keys/${encodeURIComponent(active.kid)}/revoke`, { token: writeToken });
      assert.equal(revoked.statusCode, 200, revoked.body);
      assert.equal(revoked.headers['cache-control'], 'no-store');
      const body = revoked.json();
      assert.equal(body.kid, active.kid);
      assert.equal(body.environment, 'STAGING');
      assert.equal(body.revoked_at, new Date(t.clock.now()).toISOString());
      assert.deepEqual(
        body.keys
          .filter((k: { alg: string }) => k.alg === 'ES256')
          .map((k: { kid: string; status: string; published: boolean }) => [k.kid, k.status, k.published]),
        [
          [body.replaced_by, 'active', true],
          [active.kid, 'revoked', false],
        ],
      );
      assert.deepEqual((await jwks()).sort(), [body.replaced_by, rs.kid].sort());
      const again = await call('POST', `${env}/signing-keys/${active.kid}/revoke`, { token: writeToken });
      assertProblem(again, 409, 'conflict');
      assert.match(again.json().detail, /was already revoked at .*; nothing changed/);
      assertProblem(await call('POST', `${env}/signing-keys/no-such-kid/revoke`, { token: writeToken }), 404, 'not-found');
      assertProblem(await call('POST', '/admin/v1/environments/NOPE/signing-keys/no-such-kid/revoke', { token: writeToken }), 404, 'not-found');
      const events = await call('GET', '/admin/v1/audit-events?env=STAGING&type=signing_key.revoked', { token: readToken });
      assert.deepEqual(
        events.json().map((e: { subject: { id: string }; outcome: string; actor: { kind: string } }) => [e.subject.id, e.outcome, e.actor.kind]),
        [
          ['no-such-kid', 'failure', 'admin_client'],
          [active.kid, 'failure', 'admin_client'],
          [active.kid, 'success', 'admin_client'],
        ],
      );
    });

    it('accepts opaque admin tokens until they are revoked, and no token once expired', async () => {
      await f.services.apis.update(MANAGEMENT, 'urn:gatehouse:admin-api', { tokenFormat: 'opaque' });
      const opaque = await f.token(f.clientId, f.clientSecret);
      assert.match(opaque, /^gat_/);
      assert.equal((await call('GET', '/admin/v1/environments', { token: opaque })).statusCode, 200);
      const revoked = await t.app.server.inject({
        method: 'POST',
        url: `/envs/${MANAGEMENT}/revoke`,
        headers: { authorization: basic(f.clientId, f.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ token: opaque }),
      });
      assert.equal(revoked.statusCode, 200);
      assertProblem(await call('GET', '/admin/v1/environments', { token: opaque }), 401, 'unauthorized');
      await f.services.apis.update(MANAGEMENT, 'urn:gatehouse:admin-api', { tokenFormat: 'jwt' });
      t.clock.advance(2 * 3600_000);
      assertProblem(await call('GET', '/admin/v1/environments', { token: writeToken }), 401, 'unauthorized');
    });

    it('checked every response against the document', () => {
      assert.ok(contract.checked > 150, `${contract.checked} responses checked`);
    });
  });
}
