import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions } from 'fastify';
import { testDatabases } from '../helpers/databases.ts';
import { suiteStore, type TestApp } from '../helpers/fixtures.ts';
import { register } from '../helpers/registration.ts';
import { type AdminDoc, type AdminFixture, Contract, setUpAdmin } from './helpers.ts';

const ENV = '/admin/v1/environments/DEVELOPMENT';

for (const database of await testDatabases()) {
  describe(`registration policy and initial access tokens through the admin API on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let f: AdminFixture;
    let contract: Contract;
    let token: string;

    /** One call; every response is checked against the OpenAPI document. */
    const call = async (method: string, url: string, options: { body?: unknown; ifMatch?: string } = {}) => {
      const request: InjectOptions = {
        method: method as InjectOptions['method'],
        url,
        headers: { authorization: `Bearer ${token}`, ...(options.ifMatch ? { 'if-match': options.ifMatch } : {}) },
        ...(options.body === undefined ? {} : { payload: options.body as object }),
      };
      const res = await f.admin.inject(request);
      contract.conforms(res);
      return res;
    };
    const patch = async (url: string, body: unknown) => call('PATCH', url, { body, ifMatch: String((await call('GET', url)).headers.etag) });

    before(async () => {
      t = await suite.build({ adminPort: 0, passwordHashCost: 10 });
      await t.admin.createEnvironment('DEVELOPMENT');
      f = await setUpAdmin(t);
      token = await f.token(f.clientId, f.clientSecret);
      contract = new Contract((await f.admin.inject({ url: '/admin/v1/openapi.json' })).json() as AdminDoc);
    });

    it('reads the default policy (off), changes it with If-Match and records the change', async () => {
      const read = await call('GET', `${ENV}/registration`);
      assert.equal(read.statusCode, 200, read.body);
      assert.equal(read.json().mode, 'off');
      assert.equal(read.json().registration_endpoint, null);
      assert.equal((await call('PATCH', `${ENV}/registration`, { body: { mode: 'open' } })).statusCode, 428);
      const changed = await patch(`${ENV}/registration`, { mode: 'initial_access_token', allowed_scopes: ['a:b'], unused_client_days: 7 });
      assert.equal(changed.statusCode, 200, changed.body);
      assert.equal(changed.json().registration_endpoint, 'https://auth.example.test/envs/DEVELOPMENT/register');
      const refused = await patch(`${ENV}/registration`, { allowed_grant_types: ['password'] });
      assert.equal(refused.statusCode, 422, refused.body);
      const [event] = await t.store.audit.list({ envName: 'DEVELOPMENT', type: 'environment.registration_policy_changed', limit: 1 });
      assert.equal(event?.details.mode, 'initial_access_token');
    });

    it('creates an initial access token shown once, which a registration spends', async () => {
      const created = await call('POST', `${ENV}/initial-access-tokens`, { body: { description: 'partner', uses: 1 } });
      assert.equal(created.statusCode, 201, created.body);
      const { id, token: value } = created.json() as { id: string; token: string };
      const listed = await call('GET', `${ENV}/initial-access-tokens`);
      assert.ok(!listed.body.includes(value));
      const res = await register(t, 'DEVELOPMENT', { redirect_uris: ['https://app.example.test/cb'], token_endpoint_auth_method: 'none' }, { bearer: value });
      assert.equal(res.statusCode, 201, res.body);
      const after = (await call('GET', `${ENV}/initial-access-tokens`)).json() as { id: string; uses_left: number }[];
      assert.equal(after.find((x) => x.id === id)?.uses_left, 0);
      const client = await call('GET', `${ENV}/clients/${res.json().client_id}`);
      assert.equal(client.json().registration, 'dynamic');
      assert.equal((await call('DELETE', `${ENV}/initial-access-tokens/${id}`)).statusCode, 200);
      assert.equal((await call('DELETE', `${ENV}/initial-access-tokens/${id}`)).statusCode, 404);
    });
  });
}
