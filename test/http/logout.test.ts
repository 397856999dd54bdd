import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import type { CoreEvent } from '../../src/domain/events.ts';
import type { BrowserSession, Client, Environment } from '../../src/domain/model.ts';
import { subjectFor } from '../../src/oauth/openid/subject.ts';
import { formAction, hiddenFields } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { form, suiteStore, type TestApp } from '../helpers/fixtures.ts';
import { createEnvironment, createLogoutClient, createUser, familyInSession, idToken, issuerOf, RP_LOGOUT_URI, signedInSession } from '../helpers/logout.ts';

/** Headers every page of the end-session endpoint must send, like the login and consent pages. */
function assertPageHeaders(res: LightMyRequestResponse): void {
  assert.equal(res.headers['x-frame-options'], 'DENY');
  assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/);
  assert.equal(res.headers['referrer-policy'], 'no-referrer');
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.match(String(res.headers['content-type']), /^text\/html; charset=utf-8/);
}

/** An error page: never a redirect, never a cleared cookie. */
function assertErrorPage(res: LightMyRequestResponse, status = 400): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.headers.location, undefined);
  assert.equal(res.headers['set-cookie'], undefined);
  assertPageHeaders(res);
}

/** The session cookie is cleared on the issuer's path. */
function assertCookieCleared(res: LightMyRequestResponse, env: Environment): void {
  const cookie = String(res.headers['set-cookie']);
  assert.match(cookie, /^gatehouse_session=;/);
  assert.match(cookie, /Max-Age=0/);
  assert.match(cookie, new RegExp(`Path=/envs/${env.name}(;|$)`));
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /Secure/);
}

for (const database of await testDatabases()) {
  describe(`end-session endpoint, RP-Initiated Logout 1.0 (${database.name})`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let env: Environment;
    let client: Client;
    let userId: string;
    let events: CoreEvent[];

    before(async () => {
      t = await suite.build();
      env = await createEnvironment(t.store, 'RS256', t.clock.now());
      client = await createLogoutClient(t.store, env, t.clock.now(), { backchannelLogoutUri: 'https://rp.example.test/backchannel' });
      userId = await createUser(t.store, env, t.clock.now());
      events = [];
      t.app.events.listen((event) => events.push(event));
    });

    const logoutUrl = (params: Record<string, string> = {}) => `/envs/${env.name}/logout${Object.keys(params).length ? `?${new URLSearchParams(params)}` : ''}`;
    const get = (params: Record<string, string>, cookie?: string) =>
      t.app.server.inject({ method: 'GET', url: logoutUrl(params), headers: cookie ? { cookie } : {} });
    const post = (fields: Record<string, string>, cookie?: string) =>
      t.app.server.inject({
        method: 'POST',
        url: logoutUrl(),
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
        payload: form(fields),
      });
    const stillThere = async (session: BrowserSession) => (await t.store.browserSessions.find(env.id, session.idHash, t.clock.now())) !== undefined;
    const hintFor = (session: BrowserSession, who = userId, typ = 'JWT') =>
      idToken(t.store, env, { sub: who, aud: client.clientId, ...(session.sid ? { sid: session.sid } : {}) }, t.clock.now(), typ);

    it('oidcc-rp-initiated-logout: a hint for the signed-in user ends the session at once and returns to the registered address with state', async () => {
      const { cookie, session } = await signedInSession(t.store, env, userId, t.clock.now());
      const familyId = await familyInSession(t.store, env, client.clientId, userId, session.sid, t.clock.now());
      const before = await t.store.backchannelLogouts.pending();
      events.length = 0;
      const res = await get(
        { id_token_hint: await hintFor(session), post_logout_redirect_uri: RP_LOGOUT_URI, state: 'af0ifjsldkj', ui_locales: 'fr en', logout_hint: 'alice' },
        cookie,
      );
      assert.equal(res.statusCode, 303, res.body);
      assert.equal(res.headers.location, `${RP_LOGOUT_URI}?state=af0ifjsldkj`);
      assertCookieCleared(res, env);
      assertPageHeaders(res);
      assert.equal(await stillThere(session), false);
      // The client has a back-channel logout URI: its logout token is queued, not sent on the request.
      assert.equal(await t.store.backchannelLogouts.pending(), before + 1);
      // Revocation is the client's choice, off by default.
      assert.equal((await t.store.tokenFamilies.find(env.id, familyId))?.revokedAt, null);
      assert.deepEqual(
        events.filter((e) => e.type === 'session.ended'),
        [{ type: 'session.ended', env: { id: env.id, name: env.name }, userId, clientId: client.clientId, trigger: 'hint', notified: 1, revoked: 0 }],
      );
    });

    it('oidcc-rp-initiated-logout-no-state: without state the address is used as registered; a registered query is kept and state added to it', async () => {
      const first = await signedInSession(t.store, env, userId, t.clock.now());
      const res = await get(
        { id_token_hint: await hintFor(first.session), post_logout_redirect_uri: 'https://rp.example.test/bye?lang=en', state: 'a b&c' },
        first.cookie,
      );
      assert.equal(res.headers.location, 'https://rp.example.test/bye?lang=en&state=a%20b%26c');
      const second = await signedInSession(t.store, env, userId, t.clock.now());
      const plain = await get({ id_token_hint: await hintFor(second.session), post_logout_redirect_uri: RP_LOGOUT_URI }, second.cookie);
      assert.equal(plain.headers.location, RP_LOGOUT_URI);
    });

    it('oidcc-rp-initiated-logout-no-post-logout-redirect-uri: a hint with no return address signs out and shows the signed-out page', async () => {
      const { cookie, session } = await signedInSession(t.store, env, userId, t.clock.now());
      const res = await get({ id_token_hint: await hintFor(session) }, cookie);
      assert.equal(res.statusCode, 200, res.body);
      assertPageHeaders(res);
      assertCookieCleared(res, env);
      assert.match(res.body, /You are signed out/);
      assert.equal(await stillThere(session), false);
    });

    it('oidcc-rp-initiated-logout-bad-post-logout-redirect-uri, oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri: an unregistered address is an error page, and the session stays', async () => {
      const { cookie, session } = await signedInSession(t.store, env, userId, t.clock.now());
      for (const uri of [
        'https://evil.example.test/',
        `${RP_LOGOUT_URI}/`,
        `${RP_LOGOUT_URI}?foo=bar`,
        RP_LOGOUT_URI.toUpperCase(),
        'https://rp.example.test/callback',
      ]) {
        const res = await get({ id_token_hint: await hintFor(session), post_logout_redirect_uri: uri, state: 's' }, cookie);
        assertErrorPage(res);
        assert.match(res.body, /not registered/);
      }
      assert.equal(await stillThere(session), true);
    });

    it('oidcc-rp-initiated-logout-no-id-token-hint: a post_logout_redirect_uri without an id_token_hint or client_id is an error page (§3)', async () => {
      const { cookie, session } = await signedInSession(t.store, env, userId, t.clock.now());
      assertErrorPage(await get({ post_logout_redirect_uri: RP_LOGOUT_URI }, cookie));
      assertErrorPage(await get({ post_logout_redirect_uri: RP_LOGOUT_URI }));
      assert.equal(await stillThere(session), true);
    });

    it('client_id must be an audience of the hint; an unknown client_id is refused', async () => {
      const other = await createLogoutClient(t.store, env, t.clock.now());
      const { cookie, session } = await signedInSession(t.store, env, userId, t.clock.now());
      assertErrorPage(await get({ id_token_hint: await hintFor(session), client_id: other.clientId, post_logout_redirect_uri: RP_LOGOUT_URI }, cookie));
      assertErrorPage(await get({ client_id: 'gh_nobody', post_logout_redirect_uri: RP_LOGOUT_URI }, cookie));
      assertErrorPage(await get({ client_id: 'gh_nobody' }, cookie));
      assert.equal(await stillThere(session), true);
    });

    it('oidcc-rp-initiated-logout-bad-id-token-hint, oidcc-rp-initiated-logout-modified-id-token-hint: a hint not signed by this issuer is an error page, never a redirect', async () => {
      const { cookie, session } = await signedInSession(t.store, env, userId, t.clock.now());
      const otherEnv = await createEnvironment(t.store, 'RS256', t.clock.now());
      const foreign = await idToken(t.store, otherEnv, { sub: userId, aud: client.clientId }, t.clock.now());
      const [header, payload] = (await hintFor(session)).split('.') as [string, string];
      const algNone = `${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(header, 'base64url').toString()), alg: 'none' })).toString('base64url')}.${payload}.`;
      for (const hint of ['not-a-jwt', foreign, algNone, `${(await hintFor(session)).slice(0, -4)}AAAA`]) {
        const res = await get({ id_token_hint: hint, post_logout_redirect_uri: RP_LOGOUT_URI, state: 's' }, cookie);
        assertErrorPage(res);
      }
      assert.equal(await stillThere(session), true);
    });

    it('an access token (typ at+jwt) and a logout token are refused as id_token_hint', async () => {
      const { cookie, session } = await signedInSession(t.store, env, userId, t.clock.now());
      for (const typ of ['at+jwt', 'application/at+jwt', 'logout+jwt']) {
        const res = await get({ id_token_hint: await hintFor(session, userId, typ), post_logout_redirect_uri: RP_LOGOUT_URI }, cookie);
        assertErrorPage(res);
        assert.match(res.body, /not an ID Token/);
      }
      assert.equal(await stillThere(session), true);
    });

    it('without a hint a confirmation page asks; its CSRF-protected form signs out and returns with state', async () => {
      const { cookie, session } = await signedInSession(t.store, env, userId, t.clock.now());
      const page = await get({ client_id: client.clientId, post_logout_redirect_uri: RP_LOGOUT_URI, state: 'xyz' }, cookie);
      assert.equal(page.statusCode, 200, page.body);
      assertPageHeaders(page);
      assert.equal(page.headers['set-cookie'], undefined);
      assert.match(page.body, new RegExp(`<h1>Sign out of ${env.name}\\?</h1>`));
      assert.match(page.body, /Relying Party/);
      assert.equal(formAction(page.body), `${issuerOf(env.name)}/logout`);
      const fields = hiddenFields(page.body);
      assert.deepEqual(Object.keys(fields).sort(), ['client_id', 'csrf_token', 'post_logout_redirect_uri', 'state']);
      // A bare GET ended nothing.
      assert.equal(await stillThere(session), true);
      assert.match(page.body, /<button type="submit" class="button primary" name="confirm" value="yes">Sign out<\/button>/);
      const res = await post({ ...fields, confirm: 'yes' }, cookie);
      assert.equal(res.statusCode, 303, res.body);
      assert.equal(res.headers.location, `${RP_LOGOUT_URI}?state=xyz`);
      assertCookieCleared(res, env);
      assert.equal(await stillThere(session), false);
    });

    it('oidcc-rp-initiated-logout-no-params: a bare link signs nobody out; the confirmation ends on the signed-out page', async () => {
      const { cookie, session } = await signedInSession(t.store, env, userId, t.clock.now());
      const page = await get({}, cookie);
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /A page asked to sign you out/);
      assert.equal(await stillThere(session), true);
      const res = await post(hiddenFields(page.body), cookie);
      assert.equal(res.statusCode, 200, res.body);
      assert.match(res.body, /You are signed out/);
      assertCookieCleared(res, env);
      assert.equal(await stillThere(session), false);
    });

    it('oidcc-rp-initiated-logout-only-state: state alone asks, signs out on confirmation and redirects nowhere', async () => {
      const { cookie, session } = await signedInSession(t.store, env, userId, t.clock.now());
      const page = await get({ state: 'only' }, cookie);
      assert.equal(page.statusCode, 200);
      assert.equal(hiddenFields(page.body).state, 'only');
      const res = await post({ ...hiddenFields(page.body), confirm: 'yes' }, cookie);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers.location, undefined);
      assert.match(res.body, /You are signed out/);
      assert.equal(await stillThere(session), false);
    });

    it('a confirmation with a wrong or missing CSRF token is refused (403), and the session stays', async () => {
      const { cookie, session } = await signedInSession(t.store, env, userId, t.clock.now());
      const other = await signedInSession(t.store, env, userId, t.clock.now());
      const otherToken = hiddenFields((await get({}, other.cookie)).body).csrf_token as string;
      const confirmations: Record<string, string>[] = [{ csrf_token: otherToken }, { csrf_token: 'x'.repeat(43) }, { confirm: 'yes' }];
      for (const fields of confirmations) {
        const res = await post({ ...fields, client_id: client.clientId, post_logout_redirect_uri: RP_LOGOUT_URI }, cookie);
        assertErrorPage(res, 403);
      }
      // A form POST without any CSRF token is a client's logout request: it only asks.
      const asked = await post({ client_id: client.clientId, post_logout_redirect_uri: RP_LOGOUT_URI }, cookie);
      assert.equal(asked.statusCode, 200);
      assert.match(asked.body, /Sign out of/);
      assert.equal(await stillThere(session), true);
    });

    it('a hint for another user asks before signing out the one signed in', async () => {
      const { cookie, session } = await signedInSession(t.store, env, userId, t.clock.now());
      const res = await get({ id_token_hint: await hintFor(session, 'usr_someone_else'), post_logout_redirect_uri: RP_LOGOUT_URI, state: 's' }, cookie);
      assert.equal(res.statusCode, 200, res.body);
      assert.match(res.body, /Sign out of/);
      assert.equal(hiddenFields(res.body).client_id, client.clientId);
      assert.equal(await stillThere(session), true);
    });

    it('a client POSTing the request form-serialised with a hint ends the session (§2: GET and POST)', async () => {
      const { cookie, session } = await signedInSession(t.store, env, userId, t.clock.now());
      const res = await post({ id_token_hint: await hintFor(session), post_logout_redirect_uri: RP_LOGOUT_URI, state: 'p' }, cookie);
      assert.equal(res.statusCode, 303, res.body);
      assert.equal(res.headers.location, `${RP_LOGOUT_URI}?state=p`);
      assert.equal(await stillThere(session), false);
    });

    it('a pairwise client hints with the pairwise sub', async () => {
      const pairwise = await createLogoutClient(t.store, env, t.clock.now(), { subjectType: 'pairwise' });
      const { cookie, session } = await signedInSession(t.store, env, userId, t.clock.now());
      const asPublic = await idToken(t.store, env, { sub: userId, aud: pairwise.clientId }, t.clock.now());
      assert.equal((await get({ id_token_hint: asPublic }, cookie)).statusCode, 200);
      assert.equal(await stillThere(session), true);
      const hint = await idToken(t.store, env, { sub: subjectFor(env, pairwise, userId), aud: pairwise.clientId }, t.clock.now());
      const res = await get({ id_token_hint: hint }, cookie);
      assert.match(res.body, /You are signed out/);
      assert.equal(await stillThere(session), false);
    });

    it('without a signed-in session there is nothing to end: straight back to a valid address, or the signed-out page', async () => {
      const { session } = await signedInSession(t.store, env, userId, t.clock.now());
      const res = await get({ id_token_hint: await hintFor(session), post_logout_redirect_uri: RP_LOGOUT_URI, state: 'n' });
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, `${RP_LOGOUT_URI}?state=n`);
      assert.equal(res.headers['set-cookie'], undefined);
      const page = await get({});
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /You are signed out/);
      assert.equal(await stillThere(session), true);
    });

    it('repeated parameters, an unknown environment and a body that is not a form are error pages', async () => {
      const { cookie } = await signedInSession(t.store, env, userId, t.clock.now());
      const repeated = await t.app.server.inject({ method: 'GET', url: `${logoutUrl({ state: 'a' })}&state=b`, headers: { cookie } });
      assertErrorPage(repeated);
      assert.match(repeated.body, /repeats the parameter state/);
      assertErrorPage(await t.app.server.inject({ method: 'GET', url: '/envs/NO_SUCH_ENV/logout' }), 404);
      const json = await t.app.server.inject({ method: 'POST', url: logoutUrl(), headers: { 'content-type': 'application/json', cookie }, payload: '{}' });
      assertErrorPage(json);
    });
  });
}
