import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { testDatabases } from '../helpers/databases.ts';
import { suiteStore, type TestApp } from '../helpers/fixtures.ts';
import { type AdminDoc, type AdminFixture, Contract, setUpAdmin } from './helpers.ts';

const ENV = '/admin/v1/environments/DEVELOPMENT';
const PASSWORD = 'correct horse battery staple';

for (const database of await testDatabases()) {
  describe(`OpenID Connect data through the admin API on ${database.name}`, () => {
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
    /** PATCH under the ETag of a fresh GET. */
    const patch = async (url: string, body: unknown) => call('PATCH', url, { body, ifMatch: String((await call('GET', url)).headers.etag) });
    const problem = (res: LightMyRequestResponse, status: number, type: string, detail?: RegExp) => {
      assert.equal(res.statusCode, status, res.body);
      assert.equal(res.json().type, `/admin/v1/problems/${type}`);
      if (detail) assert.match(res.json().detail, detail);
    };

    before(async () => {
      t = await suite.build({ adminPort: 0, passwordHashCost: 10 });
      await t.admin.createEnvironment('DEVELOPMENT');
      f = await setUpAdmin(t);
      token = await f.token(f.clientId, f.clientSecret);
      contract = new Contract((await f.admin.inject({ url: '/admin/v1/openapi.json' })).json() as AdminDoc);
    });

    it('documents the new fields in the OpenAPI document', async () => {
      const doc = (await f.admin.inject({ url: '/admin/v1/openapi.json' })).body;
      for (const field of [
        'post_logout_redirect_uris',
        'backchannel_logout_uri',
        'id_token_signed_response_alg',
        'sector_identifier_uri',
        'refresh_token_policy',
      ]) {
        assert.ok(doc.includes(`"${field}"`), field);
      }
      for (const claim of ['email_verified', 'given_name', 'zoneinfo', 'phone_number_verified', 'street_address']) assert.ok(doc.includes(`"${claim}"`), claim);
    });

    it('creates a user with attributes, reads them, changes and clears them under If-Match, and refuses bad values', async () => {
      const created = await call('POST', `${ENV}/users`, {
        body: { username: 'ada', password: PASSWORD, email: 'ada@example.test', email_verified: true, given_name: 'Ada', address: { locality: 'London' } },
      });
      assert.equal(created.statusCode, 201, created.body);
      assert.deepEqual(
        [created.json().email, created.json().email_verified, created.json().given_name, created.json().address, created.json().zoneinfo],
        ['ada@example.test', true, 'Ada', { locality: 'London' }, null],
      );
      const read = await call('GET', `${ENV}/users/ada`);
      assert.equal(read.json().given_name, 'Ada');
      const changed = await call('PATCH', `${ENV}/users/ada`, {
        body: { family_name: 'Lovelace', zoneinfo: 'Europe/London', given_name: null },
        ifMatch: String(read.headers.etag),
      });
      assert.equal(changed.statusCode, 200, changed.body);
      assert.deepEqual(
        [changed.json().family_name, changed.json().zoneinfo, changed.json().given_name, changed.json().email],
        ['Lovelace', 'Europe/London', null, 'ada@example.test'],
      );
      assert.notEqual(changed.headers.etag, read.headers.etag);
      problem(await call('PATCH', `${ENV}/users/ada`, { body: { name: 'Stale' }, ifMatch: String(read.headers.etag) }), 412, 'precondition-failed');
      problem(await call('PATCH', `${ENV}/users/ada`, { body: { name: 'No version' } }), 428, 'precondition-required');
      problem(await patch(`${ENV}/users/ada`, { email: 'nope' }), 422, 'invalid-value', /email is not a valid address/);
      problem(await patch(`${ENV}/users/ada`, { phone_number: '12345' }), 422, 'invalid-value', /phone_number must be in E\.164 form/);
      problem(await patch(`${ENV}/users/ada`, { zoneinfo: 'Nowhere/Land' }), 422, 'invalid-value', /zoneinfo is not an IANA time zone/);
      problem(await patch(`${ENV}/users/ada`, { picture: 'http://example.test/a.png' }), 422, 'invalid-value', /picture must be an https URL/);
      problem(await patch(`${ENV}/users/ada`, { locale: 'en_GB' }), 422, 'invalid-value', /locale is a BCP 47 tag with hyphens/);
      problem(await patch(`${ENV}/users/ada`, { address: { city: 'London' } }), 400, 'invalid-request');
      problem(await patch(`${ENV}/users/ada`, { email_verified: 'yes' }), 400, 'invalid-request');
      problem(await patch(`${ENV}/users/ada`, { name: 'x'.repeat(201) }), 400, 'invalid-request');
      const off = await patch(`${ENV}/users/ada`, { enabled: false, address: null });
      assert.deepEqual([off.json().enabled, off.json().address, off.json().family_name], [false, null, 'Lovelace']);
      const listed = await call('GET', `${ENV}/users`);
      assert.equal(listed.json().items[0].family_name, 'Lovelace');
      const events = await t.store.audit.list({ envName: 'DEVELOPMENT', type: 'user.profile_changed', limit: 5 });
      assert.ok(events.length >= 2);
      assert.ok(!JSON.stringify(events).includes('Lovelace'), 'the audit names fields, never personal values');
      assert.deepEqual(events.at(-1)?.details.changed, ['given_name', 'family_name', 'zoneinfo']);
    });

    it('creates a client with OpenID Connect metadata, changes and clears it, and refuses bad metadata', async () => {
      const created = await call('POST', `${ENV}/clients`, {
        body: {
          name: 'rp',
          grant_types: ['authorization_code'],
          redirect_uris: ['https://rp.example.test/cb'],
          post_logout_redirect_uris: ['https://rp.example.test/bye'],
          backchannel_logout_uri: 'https://rp.example.test/bc',
          backchannel_logout_session_required: true,
          logout_revokes_tokens: true,
          id_token_signed_response_alg: 'RS256',
          subject_type: 'pairwise',
          sector_identifier_uri: 'https://rp.example.test/sector.json',
        },
      });
      assert.equal(created.statusCode, 201, created.body);
      const id = created.json().client_id;
      const url = `${ENV}/clients/${id}`;
      const read = await call('GET', url);
      assert.deepEqual(
        [
          read.json().post_logout_redirect_uris,
          read.json().backchannel_logout_session_required,
          read.json().id_token_signed_response_alg,
          read.json().subject_type,
        ],
        [['https://rp.example.test/bye'], true, 'RS256', 'pairwise'],
      );
      const changed = await patch(url, { id_token_signed_response_alg: 'ES256', subject_type: null, backchannel_logout_uri: null });
      assert.deepEqual(
        [changed.json().id_token_signed_response_alg, changed.json().subject_type, changed.json().backchannel_logout_uri, changed.json().logout_revokes_tokens],
        ['ES256', null, null, true],
      );
      assert.deepEqual((await call('GET', `${url}/details`)).json().post_logout_redirect_uris, ['https://rp.example.test/bye']);
      problem(await patch(url, { id_token_signed_response_alg: 'HS256' }), 400, 'invalid-request');
      problem(await patch(url, { id_token_signed_response_alg: 'EdDSA' }), 422, 'invalid-value', /EdDSA has no key here/);
      problem(await patch(url, { subject_type: 'private' }), 400, 'invalid-request');
      problem(await patch(url, { post_logout_redirect_uris: ['http://rp.example.test/bye'] }), 422, 'invalid-value', /post-logout redirect URI must use https/);
      problem(
        await patch(url, { backchannel_logout_uri: 'https://rp.example.test/bc#x' }),
        422,
        'invalid-value',
        /backchannel_logout_uri must not have a fragment/,
      );
      problem(await patch(url, { sector_identifier_uri: 'http://rp.example.test/s.json' }), 422, 'invalid-value', /sector_identifier_uri must use https/);
      const [event] = await t.store.audit.list({ envName: 'DEVELOPMENT', type: 'client.updated', limit: 1 });
      assert.deepEqual(event?.details.changed, ['backchannelLogoutUri', 'idTokenSignedResponseAlg', 'subjectType']);
    });

    it("sets an environment's subject type and refresh-token policy under If-Match", async () => {
      const read = await call('GET', ENV);
      assert.deepEqual([read.json().subject_type, read.json().refresh_token_policy], ['public', 'client']);
      const changed = await call('PATCH', ENV, { body: { refresh_token_policy: 'offline_access' }, ifMatch: String(read.headers.etag) });
      assert.deepEqual([changed.json().subject_type, changed.json().refresh_token_policy], ['public', 'offline_access']);
      problem(await call('PATCH', ENV, { body: { subject_type: 'pairwise' }, ifMatch: String(read.headers.etag) }), 412, 'precondition-failed');
      problem(await patch(ENV, { subject_type: 'secret' }), 400, 'invalid-request');
      problem(await patch(ENV, { refresh_token_policy: 'always' }), 400, 'invalid-request');
      const both = await patch(ENV, { subject_type: 'pairwise', default_quota: 25 });
      assert.deepEqual([both.json().subject_type, both.json().refresh_token_policy, both.json().default_quota], ['pairwise', 'offline_access', 25]);
      const listed = await call('GET', '/admin/v1/environments');
      assert.equal(listed.json().items.find((e: { name: string }) => e.name === 'DEVELOPMENT').subject_type, 'pairwise');
      assert.ok(!listed.body.includes('salt'), 'the pairwise salt is never shown');
    });
  });
}
