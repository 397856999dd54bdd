import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import { UserService } from '../../src/admin/users.ts';
import { auditEventOf } from '../../src/audit/listener.ts';
import { DEVICE_CODE_GRANT } from '../../src/oauth/device/device-authorization.ts';
import { USER_CODE_SESSION_LIMIT, USER_CODE_SOURCE_LIMIT } from '../../src/oauth/device/user-code-throttle.ts';
import { ENV, formAction, hiddenFields, PASSWORD, TestBrowser } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, PUBLIC_URL, suiteStore, type TestApp } from '../helpers/fixtures.ts';

const ISSUER = `${PUBLIC_URL}/envs/${ENV}`;

interface DeviceResponse {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

function assertError(res: LightMyRequestResponse, status: number, code: string): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal((res.json() as { error: string }).error, code, res.body);
}

for (const database of await testDatabases()) {
  describe(`device authorization grant (RFC 8628) on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let publicId: string;
    let confidential: { id: string; secret: string };
    let otherPublicId: string;
    let username: string;

    const post = (path: string, params: Record<string, string>, headers: Record<string, string> = {}) =>
      t.app.server.inject({
        method: 'POST',
        url: `/envs/${ENV}/${path}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        payload: form(params),
      });
    const authorizeDevice = async (clientId = publicId, extra: Record<string, string> = {}): Promise<DeviceResponse> => {
      const res = await post('device_authorization', { client_id: clientId, scope: 'openid invoices:read', ...extra });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      return res.json() as DeviceResponse;
    };
    const poll = (deviceCode: string, clientId = publicId) => post('token', { grant_type: DEVICE_CODE_GRANT, device_code: deviceCode, client_id: clientId });

    /** Enters `typed` on the verification page, signs in when asked, and answers the decision page. */
    async function verify(typed: string, decision: 'allow' | 'deny', browser = new TestBrowser(t)): Promise<LightMyRequestResponse> {
      const entry = await browser.get(`/envs/${ENV}/device?user_code=${encodeURIComponent(typed)}`);
      assert.equal(entry.statusCode, 200, entry.body);
      let res = await browser.post(formAction(entry.body), { ...hiddenFields(entry.body), user_code: typed });
      if (/\/login\?/.test(String(res.headers.location))) res = await browser.login(res, username);
      assert.equal(res.statusCode, 303, res.body);
      assert.match(String(res.headers.location), /\/device\?request=/);
      const page = await browser.get(String(res.headers.location));
      assert.equal(page.statusCode, 200, page.body);
      assert.match(page.body, /Device App/);
      assert.match(page.body, /Only use a code shown on a device you own/);
      return browser.post(formAction(page.body), { ...hiddenFields(page.body), decision });
    }

    before(async () => {
      t = await suite.build({ passwordHashCost: 10, loginAddressLimit: 10_000 });
      await t.admin.createEnvironment(ENV).catch(() => undefined);
      const grantTypes = [DEVICE_CODE_GRANT, 'refresh_token'];
      const scopes = ['openid', 'invoices:read'];
      publicId = (await t.admin.createClient({ env: ENV, name: 'Device App', kind: 'public', grantTypes, scopes, redirectUris: [] })).client_id;
      otherPublicId = (await t.admin.createClient({ env: ENV, name: 'Other TV', kind: 'public', grantTypes, scopes, redirectUris: [] })).client_id;
      const c = await t.admin.createClient({ env: ENV, name: 'Device App', grantTypes, scopes, redirectUris: [] });
      confidential = { id: c.client_id, secret: c.client_secret as string };
      username = `dana-${randomBytes(4).toString('hex')}`;
      await new UserService(t.config, t.store, t.clock).create({ env: ENV, username, password: PASSWORD });
    });

    it('advertises the endpoint and the grant in both metadata documents', async () => {
      for (const url of [`/.well-known/oauth-authorization-server/envs/${ENV}`, `/envs/${ENV}/.well-known/openid-configuration`]) {
        const metadata = (await t.app.server.inject(url)).json();
        assert.equal(metadata.device_authorization_endpoint, `${ISSUER}/device_authorization`);
        assert.ok(metadata.grant_types_supported.includes(DEVICE_CODE_GRANT));
      }
    });

    it('documents the endpoint in the OpenAPI document', async () => {
      const doc = (await t.app.server.inject(`/envs/${ENV}/openapi.json`)).json();
      const operation = doc.paths[`/envs/${ENV}/device_authorization`]?.post ?? doc.paths['/envs/{env}/device_authorization']?.post;
      assert.ok(operation, Object.keys(doc.paths).join(' '));
      const schema = operation.responses['200'].content['application/json'].schema;
      assert.deepEqual(schema.required, ['device_code', 'user_code', 'verification_uri', 'verification_uri_complete', 'expires_in', 'interval']);
      const request = operation.requestBody.content['application/x-www-form-urlencoded'].schema;
      assert.ok(request.properties.scope && request.properties.client_id && request.properties.resource);
    });

    it('answers device_code, a XXXX-XXXX user code, the verification URIs, expires_in and interval', async () => {
      const d = await authorizeDevice();
      assert.match(d.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
      assert.match(d.device_code, /^gdc_[A-Za-z0-9_-]{43}$/);
      assert.equal(d.verification_uri, `${ISSUER}/device`);
      assert.equal(d.verification_uri_complete, `${ISSUER}/device?user_code=${d.user_code}`);
      assert.equal(d.expires_in, 600);
      assert.equal(d.interval, 5);
    });

    it('authenticates confidential clients and refuses unknown, unregistered and out-of-scope requests', async () => {
      const ok = await post('device_authorization', { scope: 'invoices:read' }, { authorization: basic(confidential.id, confidential.secret) });
      assert.equal(ok.statusCode, 200, ok.body);
      assertError(await post('device_authorization', { client_id: confidential.id }), 401, 'invalid_client');
      assertError(await post('device_authorization', { client_id: 'nobody' }), 401, 'invalid_client');
      const codeOnly = await t.admin.createClient({
        env: ENV,
        name: 'Web',
        kind: 'public',
        grantTypes: ['authorization_code'],
        redirectUris: ['https://a.test/cb'],
      });
      assertError(await post('device_authorization', { client_id: codeOnly.client_id }), 400, 'unauthorized_client');
      assertError(await post('device_authorization', { client_id: publicId, scope: 'invoices:delete' }), 400, 'invalid_scope');
      assertError(await post('device_authorization', { client_id: publicId, resource: 'https://api.unknown.test/' }), 400, 'invalid_target');
    });

    it('answers authorization_pending, then slow_down with an interval that grows by 5 s and is remembered', async () => {
      const d = await authorizeDevice();
      assertError(await poll(d.device_code), 400, 'authorization_pending');
      assertError(await poll(d.device_code), 400, 'slow_down');
      // The interval is now 10 s: 5 s later is still too fast (and it grows to 15 s).
      t.clock.advance(5_000);
      assertError(await poll(d.device_code), 400, 'slow_down');
      t.clock.advance(14_000);
      assertError(await poll(d.device_code), 400, 'slow_down');
      t.clock.advance(20_000);
      assertError(await poll(d.device_code), 400, 'authorization_pending');
    });

    it('issues access, refresh and ID tokens once the user approves; a second redemption gets invalid_grant and revokes them', async () => {
      const d = await authorizeDevice();
      // RFC 8628 §6.1: case and dashes do not matter.
      const done = await verify(d.user_code.replace('-', '').toLowerCase(), 'allow');
      assert.equal(done.statusCode, 200, done.body);
      assert.match(done.body, /return to your device/);
      const res = await poll(d.device_code);
      assert.equal(res.statusCode, 200, res.body);
      const tokens = res.json();
      assert.equal(tokens.scope, 'openid invoices:read');
      assert.ok(tokens.refresh_token);
      const idToken = decodeJwt(tokens.id_token);
      assert.equal(idToken.aud, publicId);
      assert.equal(typeof idToken.auth_time, 'number');
      assert.deepEqual(idToken.amr, ['pwd']);
      assert.equal(typeof idToken.sid, 'string');
      assert.equal(idToken.nonce, undefined);
      const userinfo = () => t.app.server.inject({ url: `/envs/${ENV}/userinfo`, headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal((await userinfo()).statusCode, 200);
      assertError(await poll(d.device_code), 400, 'invalid_grant');
      assert.equal((await userinfo()).statusCode, 401);
    });

    it('answers access_denied once the user denies', async () => {
      const d = await authorizeDevice();
      const done = await verify(d.user_code, 'deny');
      assert.equal(done.statusCode, 200, done.body);
      assert.match(done.body, /Request denied/);
      assertError(await poll(d.device_code), 400, 'access_denied');
    });

    it('asks for a decision every time, even from a signed-in browser that approved before', async () => {
      const browser = new TestBrowser(t);
      const first = await authorizeDevice();
      assert.equal((await verify(first.user_code, 'allow', browser)).statusCode, 200);
      const second = await authorizeDevice();
      const entry = await browser.get(`/envs/${ENV}/device`);
      const res = await browser.post(formAction(entry.body), { ...hiddenFields(entry.body), user_code: second.user_code });
      assert.equal(res.statusCode, 303);
      assert.match(String(res.headers.location), /\/device\?request=/);
      assertError(await poll(second.device_code), 400, 'authorization_pending');
    });

    it('answers expired_token after expires_in, and the page no longer accepts the code', async () => {
      const d = await authorizeDevice();
      t.clock.advance(600_000);
      assertError(await poll(d.device_code), 400, 'expired_token');
      const browser = new TestBrowser(t);
      const entry = await browser.get(`/envs/${ENV}/device`);
      const res = await browser.post(formAction(entry.body), { ...hiddenFields(entry.body), user_code: d.user_code });
      assert.equal(res.statusCode, 400);
      assert.match(res.body, /That code is not valid/);
    });

    it('treats unknown device codes and those of another client as invalid_grant', async () => {
      assertError(await poll(`gdc_${randomBytes(32).toString('base64url')}`), 400, 'invalid_grant');
      const d = await authorizeDevice();
      assertError(await poll(d.device_code, otherPublicId), 400, 'invalid_grant');
      assertError(await post('token', { grant_type: DEVICE_CODE_GRANT, client_id: publicId }), 400, 'invalid_request');
    });

    it('redeems one approved device code exactly once under concurrent polls', async () => {
      const d = await authorizeDevice();
      await verify(d.user_code, 'allow');
      const answers = await Promise.all(Array.from({ length: 8 }, () => poll(d.device_code)));
      assert.equal(answers.filter((r) => r.statusCode === 200).length, 1);
      for (const r of answers.filter((a) => a.statusCode !== 200)) assertError(r, 400, 'invalid_grant');
    });

    it('throttles wrong codes per browser session, before looking at them', async () => {
      const d = await authorizeDevice();
      const browser = new TestBrowser(t);
      const entry = await browser.get(`/envs/${ENV}/device`);
      const fields = hiddenFields(entry.body);
      for (let i = 0; i < USER_CODE_SESSION_LIMIT; i++) {
        const res = await browser.post(formAction(entry.body), { ...fields, user_code: 'BBBB-BBBB' });
        assert.equal(res.statusCode, 400, res.body);
      }
      const refused = await browser.post(formAction(entry.body), { ...fields, user_code: d.user_code });
      assert.equal(refused.statusCode, 429, refused.body);
      assert.ok(Number(refused.headers['retry-after']) > 0);
      assert.match(refused.body, /Too many attempts/);
      t.clock.advance(600_000);
    });

    it('throttles wrong codes per source address across browser sessions', async () => {
      const d = await authorizeDevice();
      let last: LightMyRequestResponse | undefined;
      for (let i = 0; i <= USER_CODE_SOURCE_LIMIT; i++) {
        const browser = new TestBrowser(t);
        const entry = await browser.get(`/envs/${ENV}/device`);
        last = await browser.post(formAction(entry.body), { ...hiddenFields(entry.body), user_code: i < USER_CODE_SOURCE_LIMIT ? 'CCCC-CCCC' : d.user_code });
      }
      assert.equal(last?.statusCode, 429);
      t.clock.advance(600_000);
    });

    it('refuses a code form without the session CSRF token', async () => {
      const browser = new TestBrowser(t);
      const entry = await browser.get(`/envs/${ENV}/device`);
      const res = await browser.post(formAction(entry.body), { csrf_token: 'forged', user_code: 'BBBB-BBBB' });
      assert.equal(res.statusCode, 403);
    });

    it('records approvals and denials as audit events without any code', () => {
      const env = { id: 'e', name: ENV };
      const event = auditEventOf({ type: 'device_authorization.approved', env, clientId: 'c1', userId: 'u1' });
      assert.deepEqual(
        { type: event?.type, subject: event?.subject, details: event?.details },
        { type: 'device_authorization.approved', subject: { kind: 'user', id: 'u1' }, details: { client_id: 'c1' } },
      );
      assert.equal(auditEventOf({ type: 'device_authorization.denied', env, clientId: 'c1', userId: 'u1' })?.type, 'device_authorization.denied');
    });
  });
}
