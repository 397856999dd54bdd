import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { ApiService } from '../../src/admin/apis.ts';
import { UserService } from '../../src/admin/users.ts';
import { signCompactJwt } from '../../src/crypto/jwt.ts';
import { hashSecret } from '../../src/crypto/secrets.ts';
import type { AuthorizationCode, BrowserSession } from '../../src/domain/model.ts';
import { type CodeFlowFixture, ENV, formAction, hiddenFields, PASSWORD, pkce, REDIRECT_URI, setUpCodeFlow, TestBrowser } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { PUBLIC_URL, suiteStore, type TestApp } from '../helpers/fixtures.ts';

// OpenID Connect Core 1.0 §3.1.2: the authentication request at /authorize, named after the
// OpenID Foundation conformance modules they follow where one applies.

const ISSUER = `${PUBLIC_URL}/envs/${ENV}`;
const BILLING = 'https://api.example.test/billing';
const REPORTS = 'https://api.example.test/reports';
const SCOPES = ['openid', 'profile', 'email', 'offline_access', 'invoices:read', 'reports:read'];

/** A redirect to the client with this error, `state` and `iss` (Core §3.1.2.6, RFC 9207). */
function assertRedirectError(res: LightMyRequestResponse, error: string, state: string | null = 's1'): void {
  assert.equal(res.statusCode, 303, res.body);
  const location = new URL(String(res.headers.location));
  assert.equal(`${location.origin}${location.pathname}`, REDIRECT_URI, String(location));
  assert.equal(location.searchParams.get('error'), error, String(location));
  assert.ok(location.searchParams.get('error_description'));
  assert.equal(location.searchParams.get('state'), state);
  assert.equal(location.searchParams.get('iss'), ISSUER);
  assert.equal(location.searchParams.get('code'), null);
}

/** A code straight back to the client, with `state` and `iss`: no page was shown. */
function codeOf(res: LightMyRequestResponse): string {
  assert.equal(res.statusCode, 303, res.body);
  const location = new URL(String(res.headers.location));
  assert.equal(`${location.origin}${location.pathname}`, REDIRECT_URI, String(location));
  assert.equal(location.searchParams.get('iss'), ISSUER);
  assert.equal(location.searchParams.get('state'), 's1');
  const code = location.searchParams.get('code');
  assert.ok(code, String(location));
  return code;
}

const page = (res: LightMyRequestResponse): string => String(res.headers.location);
const toLogin = (res: LightMyRequestResponse): void => {
  assert.equal(res.statusCode, 303, res.body);
  assert.match(page(res), new RegExp(`^${ISSUER}/login\\?request=`));
};
const toConsent = (res: LightMyRequestResponse): void => {
  assert.equal(res.statusCode, 303, res.body);
  assert.match(page(res), new RegExp(`^${ISSUER}/consent\\?request=`));
};

for (const database of await testDatabases()) {
  describe(`OpenID Connect authentication requests at /authorize on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let fixture: CodeFlowFixture;
    let envId: string;

    before(async () => {
      t = await suite.build({ passwordHashCost: 10, loginAddressLimit: 10_000 });
      fixture = await setUpCodeFlow(t, { scopes: SCOPES });
      envId = (await t.store.environments.findByName(ENV))?.id as string;
      const apis = new ApiService(t.config, t.store, t.clock, (id) => t.app.core.apis.invalidate(id));
      await apis.create({
        env: ENV,
        identifier: BILLING,
        name: 'Billing',
        scopes: [{ name: 'invoices:read', description: '' }],
        clientIds: [fixture.clientId],
      });
      await apis.create({ env: ENV, identifier: REPORTS, name: 'Reports', scopes: [{ name: 'reports:read', description: '' }], clientIds: [fixture.clientId] });
    });

    /** A new user, so consents stored by other tests do not count. */
    async function newUser(): Promise<{ username: string; userId: string }> {
      const username = `user-${randomBytes(4).toString('hex')}`;
      await new UserService(t.config, t.store, t.clock).create({ env: ENV, username, password: PASSWORD });
      const user = await t.store.users.findByUsername(envId, username);
      assert.ok(user);
      return { username, userId: user.userId };
    }

    /** The parameters of an OpenID authentication request, with `extra` added. */
    function request(extra: Record<string, string> = {}): Record<string, string> {
      const { challenge } = pkce();
      return {
        response_type: 'code',
        client_id: fixture.clientId,
        redirect_uri: REDIRECT_URI,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state: 's1',
        scope: 'openid profile',
        ...extra,
      };
    }

    /** A browser signed in as a new user who consented to `scope` (one full flow); with its code. */
    async function signedIn(scope = 'openid profile', extra: Record<string, string> = {}) {
      const user = await newUser();
      const browser = new TestBrowser(t);
      const first = await browser.authorize(request({ scope, ...extra }));
      toLogin(first);
      const afterLogin = await browser.login(first, user.username);
      toConsent(afterLogin);
      const code = codeOf(await browser.consent(afterLogin, 'allow'));
      return { browser, user, code };
    }

    const storedCode = async (code: string): Promise<AuthorizationCode> => {
      const stored = await t.store.authorizationCodes.find(envId, hashSecret(code));
      assert.ok(stored);
      return stored;
    };
    const sessionOf = async (browser: TestBrowser): Promise<BrowserSession> => {
      const id = browser.cookie?.split('=')[1] as string;
      const session = await t.store.browserSessions.find(envId, hashSecret(id), t.clock.now());
      assert.ok(session);
      return session;
    };

    /** An ID Token as this environment signs them (typ JWT), for `id_token_hint`. */
    async function idToken(claims: Record<string, unknown>): Promise<string> {
      const key = await t.app.core.keys.activeKey(envId);
      const now = Math.floor(t.clock.now() / 1000);
      const payload = { iss: ISSUER, aud: fixture.clientId, iat: now - 7200, exp: now - 3600, ...claims };
      return signCompactJwt({ kid: key.kid, typ: 'JWT' }, payload, key.privateKey, key.alg);
    }

    it('refuses each malformed OpenID parameter by redirect with invalid_request, state and iss', async () => {
      const { username } = await newUser();
      const foreign = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const activeKid = (await t.app.core.keys.activeKey(envId)).kid;
      const cases: Record<string, string>[] = [
        { prompt: 'none login' },
        { prompt: 'none consent' },
        { prompt: 'login bogus' },
        { prompt: 'interactive' },
        { max_age: '-1' },
        { max_age: '1.5' },
        { max_age: 'ten' },
        { max_age: '99999999999' },
        { nonce: 'n'.repeat(513) },
        { login_hint: 'h'.repeat(257) },
        { ui_locales: 'en '.repeat(100) },
        { acr_values: 'a'.repeat(513) },
        { id_token_hint: 'not-a-jwt' },
        { id_token_hint: signCompactJwt({ kid: activeKid, typ: 'JWT' }, { iss: ISSUER, sub: 'x', aud: fixture.clientId }, foreign, 'ES256') },
        { id_token_hint: await idToken({ sub: username, iss: `${PUBLIC_URL}/envs/OTHER` }) },
        { id_token_hint: await idToken({ sub: username, aud: 'another-client' }) },
        // An access token of this issuer is no ID Token.
        {
          id_token_hint: await (async () => {
            const key = await t.app.core.keys.activeKey(envId);
            return signCompactJwt({ kid: key.kid, typ: 'at+jwt' }, { iss: ISSUER, sub: username, aud: fixture.clientId }, key.privateKey, key.alg);
          })(),
        },
      ];
      for (const extra of cases) assertRedirectError(await new TestBrowser(t).authorize(request(extra)), 'invalid_request');
      // oidcc-ensure-registered-redirect-uri's neighbour: request objects are not supported (Core §6).
      assertRedirectError(await new TestBrowser(t).authorize(request({ request: 'eyJhbGciOiJub25lIn0.e30.' })), 'request_not_supported');
      assertRedirectError(await new TestBrowser(t).authorize(request({ request_uri: 'https://app.example.test/r' })), 'request_uri_not_supported');
    });

    it('oidcc-ensure-request-with-unknown-parameter-succeeds: unknown parameters and claims are ignored; a request without openid ignores every OpenID parameter', async () => {
      toLogin(await new TestBrowser(t).authorize(request({ claims: '{"userinfo":{"email":null}}', extra_parameter: 'x', nonce: '' })));
      const plain = request({ scope: 'invoices:read', prompt: 'none bogus', max_age: '-1', request: 'x', id_token_hint: 'junk', nonce: 'n'.repeat(600) });
      toLogin(await new TestBrowser(t).authorize(plain));
    });

    it('oidcc-prompt-none-not-logged-in: prompt=none without a signed-in user answers login_required', async () => {
      assertRedirectError(await new TestBrowser(t).authorize(request({ prompt: 'none' })), 'login_required');
      assertRedirectError(await new TestBrowser(t).authorize(request({ prompt: 'none', state: 'other' })), 'login_required', 'other');
    });

    it('oidcc-prompt-none-logged-in: prompt=none, signed in and consented, gives a code without any page; consent needed answers consent_required', async () => {
      const { browser, user } = await signedIn();
      const code = codeOf(await browser.authorize(request({ prompt: 'none', nonce: 'n-none' })));
      assert.equal((await storedCode(code)).oidc?.nonce, 'n-none');
      assert.equal((await storedCode(code)).userId, user.userId);
      assertRedirectError(await browser.authorize(request({ prompt: 'none', scope: 'openid profile email' })), 'consent_required');
      // An API not consented to needs consent too.
      assertRedirectError(await browser.authorize(request({ prompt: 'none', scope: 'openid invoices:read', resource: BILLING })), 'consent_required');
      // A public client's requests always ask (RFC 8252 §8.6), so prompt=none cannot be answered.
      const publicBrowser = new TestBrowser(t);
      const first = await publicBrowser.authorize(request({ client_id: fixture.publicClientId }));
      const afterLogin = await publicBrowser.login(first, user.username);
      codeOf(await publicBrowser.consent(afterLogin, 'allow'));
      assertRedirectError(await publicBrowser.authorize(request({ client_id: fixture.publicClientId, prompt: 'none' })), 'consent_required');
    });

    it('writes the CodeOidc of an OpenID code (nonce, sid, auth_time, amr, no acr) and none on a plain code', async () => {
      const user = await newUser();
      const browser = new TestBrowser(t);
      const first = await browser.authorize(request({ nonce: 'n-0S6_WzA2Mj', acr_values: 'urn:example:gold' }));
      const signInAt = t.clock.now();
      const afterLogin = await browser.login(first, user.username);
      t.clock.advance(3000);
      const code = codeOf(await browser.consent(afterLogin, 'allow'));
      const session = await sessionOf(browser);
      assert.match(session.sid as string, /^[A-Za-z0-9_-]{43}$/);
      assert.deepEqual(session.amr, ['pwd']);
      assert.equal(session.authenticatedAt, signInAt);
      assert.deepEqual((await storedCode(code)).oidc, { nonce: 'n-0S6_WzA2Mj', sid: session.sid, authTime: signInAt, amr: ['pwd'], acr: null });
      // oidcc-ensure-request-without-nonce-succeeds-for-code-flow: no nonce is null.
      const again = codeOf(await browser.authorize(request()));
      assert.equal((await storedCode(again)).oidc?.nonce, null);
      assert.equal((await storedCode(again)).oidc?.sid, session.sid);
      // Not an OpenID request: no CodeOidc.
      const plain = codeOf(await browser.authorize(request({ scope: 'profile' })));
      assert.equal((await storedCode(plain)).oidc, undefined);
    });

    it('oidcc-prompt-login: prompt=login shows the login page to a signed-in user, and auth_time changes; the same user keeps the sid', async () => {
      const { browser, user, code } = await signedIn();
      const before = (await storedCode(code)).oidc;
      assert.ok(before);
      t.clock.advance(5000);
      const forced = await browser.authorize(request({ prompt: 'login' }));
      toLogin(forced);
      const again = codeOf(await browser.login(forced, user.username));
      const after = (await storedCode(again)).oidc;
      assert.equal(after?.authTime, t.clock.now());
      assert.notEqual(after?.authTime, before.authTime);
      assert.equal(after?.sid, before.sid, 'a re-authentication of the same user keeps the session id');
      // select_account is the login page too; another user signing in gets a new sid.
      const other = await newUser();
      const chooser = await browser.authorize(request({ prompt: 'select_account' }));
      toLogin(chooser);
      toConsent(await browser.login(chooser, other.username));
      assert.notEqual((await sessionOf(browser)).sid, before.sid);
    });

    it('a forced login is not satisfied by the old session: the consent page cannot skip it', async () => {
      const { browser } = await signedIn();
      const forced = await browser.authorize(request({ prompt: 'login consent' }));
      toLogin(forced);
      // Go to the consent page instead of the login page, and allow.
      const consentUrl = page(forced).replace('/login?', '/consent?');
      const consentPage = await browser.get(consentUrl);
      assert.equal(consentPage.statusCode, 200, consentPage.body);
      const posted = await browser.post(formAction(consentPage.body), { ...hiddenFields(consentPage.body), decision: 'allow' });
      toLogin(posted);
    });

    it('prompt=consent shows the consent page even when consent was given', async () => {
      const { browser } = await signedIn();
      toConsent(await browser.authorize(request({ prompt: 'consent' })));
    });

    it('oidcc-max-age-1: max_age=1 after 2 s shows the login page, and with prompt=none answers login_required; max_age=0 is prompt=login', async () => {
      const { browser, user } = await signedIn();
      t.clock.advance(2000);
      assertRedirectError(await browser.authorize(request({ max_age: '1', prompt: 'none' })), 'login_required');
      const forced = await browser.authorize(request({ max_age: '1' }));
      toLogin(forced);
      const code = codeOf(await browser.login(forced, user.username));
      assert.equal((await storedCode(code)).oidc?.authTime, t.clock.now());
      // Within a second of that sign-in the session is fresh enough.
      codeOf(await browser.authorize(request({ max_age: '1', prompt: 'none' })));
      toLogin(await browser.authorize(request({ max_age: '0' })));
    });

    it('oidcc-max-age-10000: max_age=10000 needs no new sign-in', async () => {
      const { browser, code } = await signedIn();
      const authTime = (await storedCode(code)).oidc?.authTime;
      t.clock.advance(2000);
      const again = codeOf(await browser.authorize(request({ max_age: '10000' })));
      assert.equal((await storedCode(again)).oidc?.authTime, authTime);
    });

    it('oidcc-id-token-hint: a hint for the signed-in user with prompt=none gives a code; for another user, login_required or the login page', async () => {
      const { browser, user } = await signedIn();
      const other = await newUser();
      codeOf(await browser.authorize(request({ prompt: 'none', id_token_hint: await idToken({ sub: user.userId }) })));
      const otherHint = await idToken({ sub: other.userId, sid: 'some-session' });
      assertRedirectError(await browser.authorize(request({ prompt: 'none', id_token_hint: otherHint })), 'login_required');
      const toOther = await browser.authorize(request({ id_token_hint: otherHint }));
      toLogin(toOther);
      // Whoever then signs in is the user's choice.
      codeOf(await browser.login(toOther, user.username));
    });

    it('oidcc-login-hint: login_hint pre-fills the username and the cursor goes to the password', async () => {
      const browser = new TestBrowser(t);
      const first = await browser.authorize(request({ login_hint: 'alice"<x>@example.test' }));
      const loginPage = await browser.get(page(first));
      assert.match(loginPage.body, /<input type="text" id="username" name="username" value="alice&quot;&lt;x&gt;@example\.test"/);
      assert.match(loginPage.body, /name="password" autocomplete="current-password" required autofocus/);
      // A failed attempt shows what was typed, not the hint.
      const failed = await browser.post(formAction(loginPage.body), { ...hiddenFields(loginPage.body), username: 'typed', password: 'wrong' });
      assert.equal(failed.statusCode, 401);
      assert.match(failed.body, /name="username" value="typed"/);
    });

    it('oidcc-ui-locales: ui_locales sets the pages’ lang to the first tag they are written in', async () => {
      const user = await newUser();
      const browser = new TestBrowser(t);
      const first = await browser.authorize(request({ ui_locales: 'sv-SE fr-CA en-GB' }));
      const loginPage = await browser.get(page(first));
      assert.match(loginPage.body, /<html lang="fr-CA" dir="ltr">/);
      assert.match(loginPage.body, /<label for="password">Mot de passe<\/label>/);
      const afterLogin = await browser.login(first, user.username);
      const consentPage = await browser.get(page(afterLogin));
      assert.match(consentPage.body, /<html lang="fr-CA" dir="ltr">/);
      assert.match(consentPage.body, />Autoriser<\/button>/);
      const swedish = new TestBrowser(t);
      assert.match((await swedish.get(page(await swedish.authorize(request({ ui_locales: 'sv' }))))).body, /<html lang="en" dir="ltr">/);
    });

    it('remembers consent per client, scopes and APIs: the same request skips the page, a new API asks again', async () => {
      const user = await newUser();
      const browser = new TestBrowser(t);
      const withBilling = (extra: Record<string, string> = {}) => request({ scope: 'openid invoices:read', resource: BILLING, ...extra });
      const first = await browser.authorize(withBilling());
      const afterLogin = await browser.login(first, user.username);
      toConsent(afterLogin);
      codeOf(await browser.consent(afterLogin, 'allow'));
      const consent = await t.store.consents.find(envId, user.userId, fixture.clientId);
      assert.deepEqual(consent?.resources, [BILLING]);
      codeOf(await browser.authorize(withBilling()));
      // Another API, with a scope already granted: asked again.
      const both = `${new URLSearchParams(request({ scope: 'openid invoices:read', resource: BILLING }))}&resource=${encodeURIComponent(REPORTS)}`;
      const asked = await browser.get(`/envs/${ENV}/authorize?${both}`);
      toConsent(asked);
      codeOf(await browser.consent(asked, 'allow'));
      codeOf(await browser.get(`/envs/${ENV}/authorize?${both}`));
      // A consent granted for no API covers only requests for none.
      const fresh = await newUser();
      const other = new TestBrowser(t);
      const noApi = await other.authorize(request({ scope: 'openid invoices:read' }));
      codeOf(await other.consent(await other.login(noApi, fresh.username), 'allow'));
      codeOf(await other.authorize(request({ scope: 'openid invoices:read' })));
      toConsent(await other.authorize(withBilling()));
    });

    it('offline_access is shown in plain words and honoured only once consented to', async () => {
      const { browser, code } = await signedIn();
      assert.deepEqual((await storedCode(code)).scope, ['openid', 'profile']);
      // prompt=none cannot ask: offline_access is dropped, the rest granted.
      const quiet = codeOf(await browser.authorize(request({ prompt: 'none', scope: 'openid profile offline_access' })));
      assert.deepEqual((await storedCode(quiet)).scope, ['openid', 'profile']);
      const asked = await browser.authorize(request({ scope: 'openid profile offline_access' }));
      toConsent(asked);
      const consentPage = await browser.get(page(asked));
      assert.match(consentPage.body, /Stay signed in \(offline access\)[^<]*<\/span> <code>offline_access<\/code>/);
      assert.match(consentPage.body, /Your name and profile<\/span> <code>profile<\/code>/);
      const granted = codeOf(await browser.post(formAction(consentPage.body), { ...hiddenFields(consentPage.body), decision: 'allow' }));
      assert.deepEqual((await storedCode(granted)).scope, ['openid', 'profile', 'offline_access']);
      const remembered = codeOf(await browser.authorize(request({ prompt: 'none', scope: 'openid profile offline_access' })));
      assert.deepEqual((await storedCode(remembered)).scope, ['openid', 'profile', 'offline_access']);
    });

    it('keeps the OpenID parameters with the pending request', async () => {
      const browser = new TestBrowser(t);
      const first = await browser.authorize(
        request({ nonce: 'abc', prompt: 'login consent', max_age: '600', login_hint: 'bob', ui_locales: 'en-US', acr_values: 'urn:a urn:b' }),
      );
      const requestId = new URL(page(first)).searchParams.get('request') as string;
      const session = await sessionOf(browser);
      const pending = await t.store.authorizationRequests.find(envId, hashSecret(requestId), session.idHash, t.clock.now());
      assert.deepEqual(pending?.oidc, {
        nonce: 'abc',
        prompt: ['login', 'consent'],
        maxAge: 600,
        hintSubject: null,
        loginHint: 'bob',
        uiLocales: ['en-US'],
        acrValues: ['urn:a', 'urn:b'],
        heldInSession: session.idHash,
      });
    });

    it('oidcc-ensure-post-request-succeeds: /authorize takes the request as a POSTed form, and only as a form', async () => {
      const { browser } = await signedIn();
      const posted = await t.app.server.inject({
        method: 'POST',
        url: `/envs/${ENV}/authorize`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: browser.cookie ?? '' },
        payload: new URLSearchParams(request({ nonce: 'n-post' })).toString(),
      });
      const stored = await storedCode(codeOf(posted));
      assert.equal(stored.oidc?.nonce, 'n-post');
      // An error of a POSTed request goes back to the client like a GET one's.
      assertRedirectError(
        await t.app.server.inject({
          method: 'POST',
          url: `/envs/${ENV}/authorize`,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams(request({ prompt: 'none login' })).toString(),
        }),
        'invalid_request',
      );
      const json = await t.app.server.inject({
        method: 'POST',
        url: `/envs/${ENV}/authorize`,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify(request()),
      });
      assert.equal(json.statusCode, 415);
      assert.match(json.body, /as an HTML form/);
    });
  });
}
