import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import { ApiService } from '../../src/admin/apis.ts';
import { type CodeFlowFixture, ENV, pkce, REDIRECT_URI, setUpCodeFlow, TestBrowser } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, PUBLIC_URL, suiteStore, type TestApp } from '../helpers/fixtures.ts';

const BILLING = 'https://api.example.test/billing';
const REPORTS = 'https://api.example.test/reports';
const ISSUER = `${PUBLIC_URL}/envs/${ENV}`;

function assertError(res: LightMyRequestResponse, status: number, code: string): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal((res.json() as { error: string }).error, code, res.body);
}

for (const database of await testDatabases()) {
  describe(`RFC 8707 resource in the authorization code flow on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let fixture: CodeFlowFixture;
    let apis: ApiService;

    const post = (params: Record<string, string>, extra = '') =>
      t.app.server.inject({
        method: 'POST',
        url: `/envs/${ENV}/token`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(fixture.clientId, fixture.clientSecret) },
        payload: form(params) + extra,
      });
    const resourceParams = (resources: string[]) => resources.map((r) => `&resource=${encodeURIComponent(r)}`).join('');

    /** authorize (with these resources) → login → consent; the redirect's response. */
    async function authorize(resources: string[], scope: string): Promise<{ res: LightMyRequestResponse; verifier: string; browser: TestBrowser }> {
      const browser = new TestBrowser(t);
      const { verifier, challenge } = pkce();
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: fixture.clientId,
        redirect_uri: REDIRECT_URI,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state: 's',
        scope,
      });
      let res = await browser.get(`/envs/${ENV}/authorize?${query}${resourceParams(resources)}`);
      if (/\/login\?/.test(String(res.headers.location))) res = await browser.login(res, fixture.username);
      if (/\/consent\?/.test(String(res.headers.location))) res = await browser.consent(res, 'allow');
      return { res, verifier, browser };
    }

    async function codeFor(resources: string[], scope: string): Promise<{ code: string; verifier: string }> {
      const { res, verifier } = await authorize(resources, scope);
      assert.equal(res.statusCode, 303, res.body);
      const code = new URL(String(res.headers.location)).searchParams.get('code');
      assert.ok(code, String(res.headers.location));
      return { code, verifier };
    }

    const redeem = (code: string, verifier: string, extra = '') =>
      post({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI }, extra);

    before(async () => {
      t = await suite.build({ passwordHashCost: 10, loginAddressLimit: 10_000 });
      fixture = await setUpCodeFlow(t, { scopes: ['invoices:read', 'invoices:write', 'reports:read', 'profile'] });
      apis = new ApiService(t.config, t.store, t.clock, (envId) => t.app.core.apis.invalidate(envId));
      await apis.create({
        env: ENV,
        identifier: BILLING,
        name: 'Billing',
        scopes: [
          { name: 'invoices:read', description: 'See your invoices' },
          { name: 'invoices:write', description: 'Create invoices' },
        ],
        clientIds: [fixture.clientId],
      });
      await apis.create({
        env: ENV,
        identifier: REPORTS,
        name: 'Reports',
        scopes: [{ name: 'reports:read', description: 'See your reports' }],
        clientIds: [fixture.clientId],
      });
    });

    it('a code for two APIs gives a token for both; a refresh may narrow to one and never widen', async () => {
      const { code, verifier } = await codeFor([BILLING, REPORTS], 'invoices:read reports:read');
      const res = await redeem(code, verifier);
      assert.equal(res.statusCode, 200, res.body);
      const tokens = res.json();
      assert.deepEqual(decodeJwt(tokens.access_token).aud, [BILLING, REPORTS]);
      assert.equal(tokens.scope, 'invoices:read reports:read');

      const narrowed = await post({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, resourceParams([REPORTS]));
      assert.equal(narrowed.statusCode, 200, narrowed.body);
      assert.equal(decodeJwt(narrowed.json().access_token).aud, REPORTS);
      assert.equal(narrowed.json().scope, 'reports:read');

      // The family still holds both APIs: a later refresh may ask for all of them again.
      const again = await post({ grant_type: 'refresh_token', refresh_token: narrowed.json().refresh_token });
      assert.equal(again.statusCode, 200, again.body);
      assert.deepEqual(decodeJwt(again.json().access_token).aud, [BILLING, REPORTS]);

      // A scope the narrowed API does not define is refused.
      assertError(
        await post({ grant_type: 'refresh_token', refresh_token: again.json().refresh_token, scope: 'invoices:read' }, resourceParams([REPORTS])),
        400,
        'invalid_scope',
      );
    });

    it('a resource the code or refresh token was not granted is invalid_target', async () => {
      const { code, verifier } = await codeFor([BILLING], 'invoices:read');
      // At the code exchange, only a subset of the code's APIs.
      const refused = await redeem(code, verifier, resourceParams([REPORTS]));
      assertError(refused, 400, 'invalid_target');
      const second = await codeFor([BILLING], 'invoices:read');
      const res = await redeem(second.code, second.verifier, resourceParams([BILLING]));
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(decodeJwt(res.json().access_token).aud, BILLING);
      assertError(
        await post({ grant_type: 'refresh_token', refresh_token: res.json().refresh_token }, resourceParams([BILLING, REPORTS])),
        400,
        'invalid_target',
      );
    });

    it('a code requested without resource keeps the issuer audience, and refresh cannot add an API', async () => {
      const { code, verifier } = await codeFor([], 'invoices:read profile');
      const res = await redeem(code, verifier);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(decodeJwt(res.json().access_token).aud, ISSUER);
      assert.equal(res.json().scope, 'invoices:read profile');
      assertError(await post({ grant_type: 'refresh_token', refresh_token: res.json().refresh_token }, resourceParams([BILLING])), 400, 'invalid_target');
    });

    it("the consent page shows the API's own words for its scopes, and guesses only for the others", async () => {
      const browser = new TestBrowser(t);
      const { challenge } = pkce();
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: fixture.clientId,
        redirect_uri: REDIRECT_URI,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        scope: 'invoices:write',
      });
      let res = await browser.get(`/envs/${ENV}/authorize?${query}${resourceParams([BILLING])}`);
      res = await browser.login(res, fixture.username);
      assert.match(String(res.headers.location), /\/consent\?request=/);
      const page = await browser.get(String(res.headers.location));
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /<span class="scope-text">Create invoices<\/span> <code>invoices:write<\/code>/);
      // Without a resource the heuristic words stay.
      const plain = new TestBrowser(t);
      const q2 = new URLSearchParams({
        response_type: 'code',
        client_id: fixture.clientId,
        redirect_uri: REDIRECT_URI,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        scope: 'invoices:write',
      });
      const toLogin = await plain.get(`/envs/${ENV}/authorize?${q2}`);
      const toConsent = await plain.login(toLogin, fixture.username);
      const guessed = await plain.get(String(toConsent.headers.location));
      assert.match(guessed.body, /<span class="scope-text">Create and change your invoices<\/span> <code>invoices:write<\/code>/);
    });

    it('/authorize redirects with invalid_target for an unknown or malformed resource, and invalid_scope outside the API', async () => {
      for (const resources of [['https://api.example.test/unknown'], [`${BILLING}#x`], ['not-absolute']]) {
        const browser = new TestBrowser(t);
        const { challenge } = pkce();
        const query = new URLSearchParams({
          response_type: 'code',
          client_id: fixture.clientId,
          redirect_uri: REDIRECT_URI,
          code_challenge: challenge,
          code_challenge_method: 'S256',
          state: 's',
        });
        const res = await browser.get(`/envs/${ENV}/authorize?${query}${resourceParams(resources)}`);
        assert.equal(res.statusCode, 303, res.body);
        const location = new URL(String(res.headers.location));
        assert.equal(location.searchParams.get('error'), 'invalid_target', String(location));
        assert.equal(location.searchParams.get('iss'), ISSUER);
        assert.equal(location.searchParams.get('state'), 's');
      }
      const browser = new TestBrowser(t);
      const { challenge } = pkce();
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: fixture.clientId,
        redirect_uri: REDIRECT_URI,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        // Another API's scope (OpenID Connect scopes such as `profile` fit every API).
        scope: 'reports:read',
      });
      const res = await browser.get(`/envs/${ENV}/authorize?${query}${resourceParams([BILLING])}`);
      assert.equal(new URL(String(res.headers.location)).searchParams.get('error'), 'invalid_scope');
    });
  });
}
