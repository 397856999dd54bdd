import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { UserService } from '../../src/admin/users.ts';
import { type CodeFlowFixture, ENV, formAction, hiddenFields, obtainCode, pkce, REDIRECT_URI, setUpCodeFlow, TestBrowser } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { PUBLIC_URL, suiteStore, type TestApp } from '../helpers/fixtures.ts';

const ISSUER = `${PUBLIC_URL}/envs/${ENV}`;

/** Headers every login, consent and error page must send. */
function assertPageHeaders(res: LightMyRequestResponse): void {
  assert.equal(res.headers['x-frame-options'], 'DENY');
  assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/);
  assert.equal(res.headers['referrer-policy'], 'no-referrer');
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.match(String(res.headers['content-type']), /^text\/html; charset=utf-8/);
}

/** An error page: never a redirect. */
function assertErrorPage(res: LightMyRequestResponse, status = 400): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.headers.location, undefined);
  assertPageHeaders(res);
}

/** A redirect to the client carrying an error, `state` (when given) and `iss`. */
function assertRedirectError(res: LightMyRequestResponse, error: string, state: string | null): URL {
  assert.equal(res.statusCode, 303, res.body);
  const location = new URL(String(res.headers.location));
  assert.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
  assert.equal(location.searchParams.get('error'), error);
  assert.ok(location.searchParams.get('error_description'));
  assert.equal(location.searchParams.get('state'), state);
  assert.equal(location.searchParams.get('iss'), ISSUER);
  assert.equal(location.searchParams.get('code'), null);
  return location;
}

for (const database of await testDatabases()) {
  describe(`/authorize, login and consent on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let fixture: CodeFlowFixture;
    const valid = () => {
      const { challenge } = pkce();
      return {
        response_type: 'code',
        client_id: fixture.clientId,
        redirect_uri: REDIRECT_URI,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state: 's1',
      };
    };

    before(async () => {
      t = await suite.build({ passwordHashCost: 10, loginUsernameLimit: 5, loginAddressLimit: 12 });
      fixture = await setUpCodeFlow(t);
    });

    it('walks authorize → login → consent → redirect with code, state and iss; the session id changes at login', async () => {
      const browser = new TestBrowser(t);
      const state = 'a b&c=d/é%20+ü?#';
      const first = await browser.authorize({ ...valid(), state, scope: 'invoices:read' });
      assert.equal(first.statusCode, 303);
      assert.match(String(first.headers.location), new RegExp(`^${ISSUER}/login\\?request=`));
      const cookie = String(first.headers['set-cookie']);
      assert.match(cookie, /^gatehouse_session=[A-Za-z0-9_-]{43}; /);
      assert.match(cookie, /; HttpOnly/);
      assert.match(cookie, /; SameSite=Lax/);
      assert.match(cookie, /; Secure/, 'the public URL is https');
      assert.match(cookie, new RegExp(`; Path=/envs/${ENV}(;|$)`));
      const anonymous = browser.cookie;

      const loginPage = await browser.get(String(first.headers.location));
      assert.equal(loginPage.statusCode, 200);
      assertPageHeaders(loginPage);
      assert.match(loginPage.body, /Invoice App/);
      assert.ok(hiddenFields(loginPage.body).csrf_token);

      const afterLogin = await browser.post(formAction(loginPage.body), {
        ...hiddenFields(loginPage.body),
        username: fixture.username,
        password: 'correct horse battery staple',
      });
      assert.equal(afterLogin.statusCode, 303, afterLogin.body);
      assert.notEqual(browser.cookie, anonymous, 'a new session id after login');
      assert.match(String(afterLogin.headers.location), new RegExp(`^${ISSUER}/consent\\?request=`));

      const consentPage = await browser.get(String(afterLogin.headers.location));
      assert.equal(consentPage.statusCode, 200);
      assertPageHeaders(consentPage);
      assert.match(consentPage.body, /Invoice App/);
      assert.match(consentPage.body, /invoices:read/);
      assert.doesNotMatch(consentPage.body, /invoices:write/);

      const done = await browser.post(formAction(consentPage.body), { ...hiddenFields(consentPage.body), decision: 'allow' });
      assert.equal(done.statusCode, 303);
      const location = new URL(String(done.headers.location));
      assert.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
      assert.match(String(location.searchParams.get('code')), /^gac_[A-Za-z0-9_-]{43}$/);
      assert.equal(location.searchParams.get('state'), state, 'state comes back byte for byte');
      assert.equal(location.searchParams.get('iss'), ISSUER);

      // The old, pre-login session id is dead.
      const stale = new TestBrowser(t);
      stale.cookie = anonymous;
      assertErrorPage(await stale.get(String(afterLogin.headers.location)));
    });

    it('skips login and consent when the session is signed in and the scopes were granted; asks again for new scopes', async () => {
      const { browser } = await obtainCode(t, fixture, { scope: 'invoices:read' });
      const again = await browser.authorize({ ...valid(), scope: 'invoices:read' });
      assert.equal(again.statusCode, 303);
      const location = new URL(String(again.headers.location));
      assert.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
      assert.ok(location.searchParams.get('code'));
      assert.equal(location.searchParams.get('iss'), ISSUER);

      const wider = await browser.authorize({ ...valid(), scope: 'invoices:read invoices:write' });
      assert.match(String(wider.headers.location), /\/consent\?request=/);
    });

    it('keeps the registered redirect URI exactly and accepts any port only for loopback', async () => {
      const browser = new TestBrowser(t);
      for (const redirect of [
        'https://app.example.test/callback/',
        'https://APP.example.test/callback',
        'https://app.example.test/callback?extra=1',
        'https://app.example.test/Callback',
        'https://app.example.test:443/callback',
        'https://app.example.test/callback#frag',
        'https://evil.example/callback',
        'http://127.0.0.1/other',
      ]) {
        assertErrorPage(await browser.authorize({ ...valid(), redirect_uri: redirect }));
      }
      const loopback = await browser.authorize({ ...valid(), redirect_uri: 'http://127.0.0.1:53123/native-callback' });
      assert.equal(loopback.statusCode, 303);
      assert.match(String(loopback.headers.location), /\/login\?request=/);
    });

    it('shows an error page, never a redirect, for a bad client or redirect_uri', async () => {
      const browser = new TestBrowser(t);
      const { client_id: _c, ...noClient } = valid();
      const { redirect_uri: _r, ...noRedirect } = valid();
      assertErrorPage(await browser.authorize(noClient));
      assertErrorPage(await browser.authorize({ ...valid(), client_id: 'gh_unknown' }));
      assertErrorPage(await browser.authorize(noRedirect));
      const query = new URLSearchParams(valid());
      query.append('client_id', fixture.clientId);
      assertErrorPage(await browser.get(`/envs/${ENV}/authorize?${query}`));
      const twice = new URLSearchParams(valid());
      twice.append('redirect_uri', REDIRECT_URI);
      assertErrorPage(await browser.get(`/envs/${ENV}/authorize?${twice}`));
      assertErrorPage(await browser.get(`/envs/${ENV}/authorize?${new URLSearchParams(valid())}&x=%00`));
      assertErrorPage(await browser.get(`/envs/NOPE/authorize?${new URLSearchParams(valid())}`), 404);
      await t.admin.setClientEnabled(ENV, fixture.publicClientId, false);
      t.clock.advance(10_000);
      assertErrorPage(await browser.authorize({ ...valid(), client_id: fixture.publicClientId }));
      await t.admin.setClientEnabled(ENV, fixture.publicClientId, true);
    });

    it('redirects every other error with error, state and iss', async () => {
      const browser = new TestBrowser(t);
      const { code_challenge: _c, ...noChallenge } = valid();
      const { code_challenge_method: _m, ...noMethod } = valid();
      const { response_type: _t, ...noResponseType } = valid();
      assertRedirectError(await browser.authorize({ ...valid(), response_type: 'token' }), 'unsupported_response_type', 's1');
      assertRedirectError(await browser.authorize(noResponseType), 'invalid_request', 's1');
      assertRedirectError(await browser.authorize(noChallenge), 'invalid_request', 's1');
      assertRedirectError(await browser.authorize(noMethod), 'invalid_request', 's1');
      assertRedirectError(await browser.authorize({ ...valid(), code_challenge_method: 'plain' }), 'invalid_request', 's1');
      assertRedirectError(await browser.authorize({ ...valid(), code_challenge: 'short' }), 'invalid_request', 's1');
      assertRedirectError(await browser.authorize({ ...valid(), scope: 'invoices:read admin' }), 'invalid_scope', 's1');
      const scopeTwice = new URLSearchParams(valid());
      scopeTwice.append('scope', 'invoices:read');
      scopeTwice.append('scope', 'invoices:write');
      assertRedirectError(await browser.get(`/envs/${ENV}/authorize?${scopeTwice}`), 'invalid_request', 's1');
      const stateTwice = new URLSearchParams(valid());
      stateTwice.append('state', 's2');
      assertRedirectError(await browser.get(`/envs/${ENV}/authorize?${stateTwice}`), 'invalid_request', null);
      const { state: _s, ...noState } = valid();
      assertRedirectError(await browser.authorize({ ...noState, response_type: 'token' }), 'unsupported_response_type', null);
      const ccOnly = await t.admin.createClient({ env: ENV, name: 'cc only', redirectUris: [REDIRECT_URI] });
      assertRedirectError(await browser.authorize({ ...valid(), client_id: ccOnly.client_id }), 'unauthorized_client', 's1');
      // Unknown parameters are ignored.
      assert.match(String((await browser.authorize({ ...valid(), nonce: 'n', foo: 'bar' })).headers.location), /\/login\?request=/);
    });

    it('always asks a public client’s user to consent, even for scopes granted before', async () => {
      const publicRequest = () => ({ ...valid(), client_id: fixture.publicClientId });
      const { browser } = await obtainCode(t, fixture, { clientId: fixture.publicClientId });
      const again = await browser.authorize(publicRequest());
      assert.match(String(again.headers.location), /\/consent\?request=/);
      // A confidential client with the same consent goes straight back.
      await obtainCode(t, fixture, { browser });
      const confidential = await browser.authorize(valid());
      assert.ok(new URL(String(confidential.headers.location)).searchParams.get('code'));
    });

    it('refuses to send a code when the client was disabled or lost the redirect URI while the user signed in', async () => {
      const client = await t.admin.createClient({
        env: ENV,
        name: 'Short-lived App',
        grantTypes: ['authorization_code'],
        scopes: ['invoices:read'],
        redirectUris: [REDIRECT_URI],
      });
      const browser = new TestBrowser(t);
      const toLogin = await browser.authorize({ ...valid(), client_id: client.client_id });
      const toConsent = await browser.login(toLogin, fixture.username);
      const page = await browser.get(String(toConsent.headers.location));
      await t.admin.setClientEnabled(ENV, client.client_id, false);
      const res = await browser.post(formAction(page.body), { ...hiddenFields(page.body), decision: 'allow' });
      assertErrorPage(res);
    });

    it('refuses a state that is not valid UTF-8 instead of returning it altered', async () => {
      const browser = new TestBrowser(t);
      const query = new URLSearchParams(valid());
      query.delete('state');
      assertRedirectError(await browser.get(`/envs/${ENV}/authorize?${query}&state=ab%FFcd`), 'invalid_request', null);
    });

    it('sends access_denied with state and iss when the user denies', async () => {
      const fresh = await setUpCodeFlow(t);
      const browser = new TestBrowser(t);
      const toLogin = await browser.authorize({ ...valid(), client_id: fresh.clientId, state: 'deny-me' });
      const toConsent = await browser.login(toLogin, fresh.username);
      assertRedirectError(await browser.consent(toConsent, 'deny'), 'access_denied', 'deny-me');
    });

    it('answers an unknown user and a wrong password identically, and a disabled user the same way', async () => {
      const answers: string[] = [];
      for (const [username, password] of [
        ['nobody-here', 'whatever password'],
        [fixture.username, 'wrong password!'],
      ] as const) {
        const browser = new TestBrowser(t);
        const res = await browser.login(await browser.authorize(valid()), username, password);
        assert.equal(res.statusCode, 401);
        assertPageHeaders(res);
        // The passkey ceremony's challenge is random on every page, whoever is named.
        answers.push(
          res.body
            .replace(/value="[A-Za-z0-9_-]{43}"/g, '')
            .replace(/"challenge":"[A-Za-z0-9_-]+"/g, '')
            .replace(new RegExp(username, 'g'), 'USER'),
        );
      }
      assert.equal(answers[0], answers[1]);
      assert.match(answers[0] as string, /Incorrect username or password/);

      const other = await setUpCodeFlow(t);
      await new UserService(t.config, t.store, t.clock).setEnabled(ENV, other.username, false);
      const browser = new TestBrowser(t);
      const res = await browser.login(await browser.authorize(valid()), other.username);
      assert.equal(res.statusCode, 401);
      assert.match(res.body, /Incorrect username or password/);
    });

    it('refuses a login or consent form without the session’s CSRF token', async () => {
      const fresh = await setUpCodeFlow(t);
      const request = () => ({ ...valid(), client_id: fresh.clientId });
      const browser = new TestBrowser(t);
      const toLogin = await browser.authorize(request());
      const page = await browser.get(String(toLogin.headers.location));
      const fields = hiddenFields(page.body);
      const url = formAction(page.body);
      assertErrorPage(await browser.post(url, { request: fields.request as string, username: fresh.username, password: 'x' }), 403);
      assertErrorPage(await browser.post(url, { ...fields, csrf_token: 'A'.repeat(43), username: fresh.username, password: 'x' }), 403);
      // Another browser's valid token does not work with this session.
      const other = new TestBrowser(t);
      const otherPage = await other.get(String((await other.authorize(request())).headers.location));
      assertErrorPage(
        await browser.post(url, { ...fields, csrf_token: hiddenFields(otherPage.body).csrf_token as string, username: fresh.username, password: 'x' }),
        403,
      );
      // Without a session cookie the form is refused too.
      const cookieless = new TestBrowser(t);
      assertErrorPage(await cookieless.post(url, { ...fields, username: fresh.username, password: 'x' }));

      const toConsent = await browser.login(toLogin, fresh.username);
      const consentPage = await browser.get(String(toConsent.headers.location));
      const consentFields = hiddenFields(consentPage.body);
      assertErrorPage(await browser.post(formAction(consentPage.body), { request: consentFields.request as string, decision: 'allow' }), 403);
      const sent = await browser.post(formAction(consentPage.body), { ...consentFields, decision: 'allow' });
      assert.equal(sent.statusCode, 303);
      // The pending request is single-use: replaying the form gets an error page.
      assertErrorPage(await browser.post(formAction(consentPage.body), { ...consentFields, decision: 'allow' }));
    });

    it('throttles login attempts per username, counting parallel attempts exactly', async () => {
      t.clock.advance(901_000);
      const victim = await setUpCodeFlow(t);
      const browsers = await Promise.all(
        Array.from({ length: 10 }, async () => {
          const browser = new TestBrowser(t);
          const page = await browser.get(String((await browser.authorize(valid())).headers.location));
          return { browser, url: formAction(page.body), fields: hiddenFields(page.body) };
        }),
      );
      const results = await Promise.all(
        browsers.map(({ browser, url, fields }) => browser.post(url, { ...fields, username: victim.username, password: 'not the password' })),
      );
      const statuses = results.map((r) => r.statusCode).sort();
      assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429, 429, 429, 429]);
      const refused = results.find((r) => r.statusCode === 429) as LightMyRequestResponse;
      assert.ok(Number(refused.headers['retry-after']) > 0);
      assertPageHeaders(refused);
      // Even the right password is refused until the window ends; then it works.
      const blocked = new TestBrowser(t);
      assert.equal((await blocked.login(await blocked.authorize(valid()), victim.username)).statusCode, 429);
      t.clock.advance(901_000);
      const later = new TestBrowser(t);
      assert.equal((await later.login(await later.authorize(valid()), victim.username)).statusCode, 303);
    });

    it('throttles login attempts per source address across usernames', async () => {
      t.clock.advance(901_000);
      const statuses: number[] = [];
      for (let i = 0; i < 13; i++) {
        const browser = new TestBrowser(t);
        statuses.push((await browser.login(await browser.authorize(valid()), `user-${i}`, 'nope-nope')).statusCode);
      }
      assert.deepEqual(statuses, [...Array(12).fill(401), 429]);
      t.clock.advance(901_000);
    });
  });
}
