import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions } from 'fastify';
import { testDatabases } from '../helpers/databases.ts';
import { suiteStore, type TestApp } from '../helpers/fixtures.ts';
import { type AdminDoc, type AdminFixture, Contract, setUpAdmin } from './helpers.ts';

const ENV = '/admin/v1/environments/DEVELOPMENT';

for (const database of await testDatabases()) {
  describe(`DPoP settings through the admin API on ${database.name}`, () => {
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

    it("sets a client's dpop_bound_access_tokens at creation and by PATCH", async () => {
      const created = await call('POST', `${ENV}/clients`, { body: { name: 'Bound', dpop_bound_access_tokens: true } });
      assert.equal(created.statusCode, 201, created.body);
      assert.equal(created.json().dpop_bound_access_tokens, true);
      const url = `${ENV}/clients/${created.json().client_id}`;
      const changed = await patch(url, { dpop_bound_access_tokens: false });
      assert.equal(changed.statusCode, 200, changed.body);
      assert.equal((await call('GET', url)).json().dpop_bound_access_tokens, false);
      const refused = await patch(url, { dpop_bound_access_tokens: 'yes' });
      assert.equal(refused.statusCode, 400, refused.body);
    });

    it("sets the environment's dpop_nonce_required, with an audit event", async () => {
      const changed = await patch(ENV, { dpop_nonce_required: true });
      assert.equal(changed.statusCode, 200, changed.body);
      assert.equal(changed.json().dpop_nonce_required, true);
      assert.equal((await call('GET', ENV)).json().dpop_nonce_required, true);
      const [event] = await t.store.audit.list({ envName: 'DEVELOPMENT', type: 'environment.dpop_settings_changed', limit: 1 });
      assert.deepEqual(event?.details, { dpop_nonce_required: true });
    });
  });
}
