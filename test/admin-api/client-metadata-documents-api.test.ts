import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions } from 'fastify';
import { testDatabases } from '../helpers/databases.ts';
import { suiteStore, type TestApp } from '../helpers/fixtures.ts';
import { type AdminDoc, type AdminFixture, Contract, setUpAdmin } from './helpers.ts';

const URL_PATH = '/admin/v1/environments/DEVELOPMENT/client-metadata-documents';

for (const database of await testDatabases()) {
  describe(`Client ID Metadata Document settings through the admin API on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let f: AdminFixture;
    let contract: Contract;
    let token: string;

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
    const put = async (body: unknown) => call('PUT', URL_PATH, { body, ifMatch: String((await call('GET', URL_PATH)).headers.etag) });

    before(async () => {
      t = await suite.build({ adminPort: 0, passwordHashCost: 10 });
      await t.admin.createEnvironment('DEVELOPMENT');
      f = await setUpAdmin(t);
      token = await f.token(f.clientId, f.clientSecret);
      contract = new Contract((await f.admin.inject({ url: '/admin/v1/openapi.json' })).json() as AdminDoc);
    });

    it('is off by default', async () => {
      const res = await call('GET', URL_PATH);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), {
        enabled: false,
        allowed_hosts: [],
        blocked_hosts: [],
        scopes: [],
        apis: [],
        access_token_ttl: null,
        refresh_tokens: true,
      });
    });

    it('is replaced by PUT, audited, and switches the metadata flag', async () => {
      const settings = {
        enabled: true,
        allowed_hosts: ['*.example.com'],
        blocked_hosts: ['bad.example.com'],
        scopes: ['mcp:tools'],
        apis: [],
        access_token_ttl: 900,
        refresh_tokens: false,
      };
      const changed = await put(settings);
      assert.equal(changed.statusCode, 200, changed.body);
      assert.deepEqual(changed.json(), settings);
      assert.deepEqual((await call('GET', URL_PATH)).json(), settings);
      const [event] = await t.store.audit.list({ envName: 'DEVELOPMENT', type: 'environment.client_metadata_documents_changed', limit: 1 });
      assert.equal(event?.details.enabled, true);
      assert.deepEqual(event?.details.allowed_hosts, ['*.example.com']);
      t.clock.advance(3_600_000);
      const metadata = (await t.app.server.inject('/.well-known/oauth-authorization-server/envs/DEVELOPMENT')).json();
      assert.equal(metadata.client_id_metadata_document_supported, true);
    });

    it('refuses an invalid host rule or lifetime with 422, a stale If-Match with 412, and an unknown environment with 404', async () => {
      token = await f.token(f.clientId, f.clientSecret);
      const badHost = await put({ enabled: true, allowed_hosts: ['https://x.example.com/'] });
      assert.equal(badHost.statusCode, 422, badHost.body);
      assert.match(badHost.json().detail, /client_metadata_documents\.allowed_hosts/);
      const badTtl = await put({ enabled: true, access_token_ttl: -1 });
      assert.equal(badTtl.statusCode, 422, badTtl.body);
      const stale = await call('PUT', URL_PATH, { body: { enabled: false }, ifMatch: '"stale"' });
      assert.equal(stale.statusCode, 412, stale.body);
      const missing = await call('GET', '/admin/v1/environments/NOPE/client-metadata-documents');
      assert.equal(missing.statusCode, 404, missing.body);
    });
  });
}
