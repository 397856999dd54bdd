import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { ensureConsoleClient, ensureDevOperator } from '../../src/console/bootstrap.ts';
import type { ConsoleDeps, ConsoleGrant } from '../../src/console/deps.ts';
import { registerConsole } from '../../src/console/routes.ts';
import { createAdminServices } from '../../src/server/admin.ts';
import { testDatabases } from '../helpers/databases.ts';
import { suiteStore, type TestApp } from '../helpers/fixtures.ts';

const [sqlite] = await testDatabases();
const ISSUER = 'https://auth.example.test/envs/MANAGEMENT';
const REDIRECT = 'http://127.0.0.1:9000/console/callback';
const TTL_S = 600;

/** The console over real admin services, with a fake token endpoint and verifier: code → token → grant. */
describe('web console routes', () => {
  const suite = suiteStore(sqlite as NonNullable<typeof sqlite>, { before, after });
  let t: TestApp;
  let app: FastifyInstance;
  let consoleClientId: string;
  /** What each access token stands for; a token removed from here no longer verifies. */
  const grants = new Map<string, ConsoleGrant>();
  /** What each code redeems to. */
  const codes = new Map<string, string>();
  const exchanges: { code: string; verifier: string; redirectUri: string }[] = [];
  const revokedTokens: string[] = [];
  /** Whom each request's services were built for. */
  const actors: string[] = [];

  before(async () => {
    t = await suite.build();
    await t.admin.createEnvironment('MANAGEMENT');
    await t.admin.createEnvironment('DEVELOPMENT');
    const services = createAdminServices(t.config, t.store, t.clock, t.app.core);
    const ensured = await ensureConsoleClient(services.admin, 'MANAGEMENT', REDIRECT);
    assert.equal(ensured.created, true);
    assert.ok(ensured.clientSecret);
    consoleClientId = ensured.clientId;
    const again = await ensureConsoleClient(services.admin, 'MANAGEMENT', REDIRECT);
    assert.deepEqual(again, { clientId: consoleClientId, created: false }, 'the second call finds the client and shows no secret');
    const rotated = await ensureConsoleClient(services.admin, 'MANAGEMENT', REDIRECT, { rotate: true });
    assert.equal(rotated.clientId, consoleClientId);
    assert.ok(rotated.clientSecret && rotated.clientSecret !== ensured.clientSecret, 'rotate gives the existing client a new secret');
    const shown = await services.admin.showClient('MANAGEMENT', consoleClientId);
    assert.equal(shown.secrets.length, 1, 'the old secret stops at once');
    assert.deepEqual([shown.grant_types, shown.scopes, shown.redirect_uris], [['authorization_code'], ['admin:read', 'admin:write'], [REDIRECT]]);
    const identifier = 'urn:gatehouse:admin-api';
    const scopes = [
      { name: 'admin:read', description: 'Read' },
      { name: 'admin:write', description: 'Change' },
    ];
    await services.apis.create({ env: 'MANAGEMENT', identifier, name: 'Admin API', scopes });
    for (let i = 0; i < 2; i++) await ensureConsoleClient(services.admin, 'MANAGEMENT', REDIRECT, { allowOn: { apis: services.apis, identifier } });
    assert.deepEqual((await services.apis.show('MANAGEMENT', identifier)).clients, [consoleClientId], 'allowed on the admin API, once');
    const operator = await ensureDevOperator(services.users, 'MANAGEMENT');
    assert.equal(operator?.username, 'admin');
    assert.match(operator?.password ?? '', /^[A-Za-z0-9_-]{16}$/);
    assert.equal(await ensureDevOperator(services.users, 'MANAGEMENT'), undefined, 'only while the environment has no user');
    const deps: ConsoleDeps = {
      clock: t.clock,
      issuer: ISSUER,
      client: { clientId: consoleClientId, clientSecret: ensured.clientSecret, redirectUri: REDIRECT },
      async exchangeCode(request) {
        exchanges.push(request);
        const token = codes.get(request.code);
        if (!token) throw new Error('invalid_grant');
        codes.delete(request.code);
        return { accessToken: token };
      },
      authorize: async (token) => grants.get(token),
      async revokeToken({ token, clientId }) {
        assert.equal(clientId, consoleClientId);
        grants.delete(token);
        revokedTokens.push(token);
      },
      cookieSecret: randomBytes(32),
      sessionTtl: TTL_S,
      servicesFor(operator) {
        actors.push(operator.subject);
        return services;
      },
    };
    app = Fastify();
    await registerConsole(app, deps);
    await app.ready();
  });
  after(() => app?.close());

  const cookieOf = (response: LightMyRequestResponse, name: string): string | undefined => {
    const header = [response.headers['set-cookie'] ?? []].flat();
    return header.find((c) => c.startsWith(`${name}=`))?.split(';')[0];
  };

  /** Signs in as `subject` with `scopes`; returns the session cookie. */
  async function signIn(subject: string, scopes: string[]): Promise<string> {
    const start = await app.inject({ method: 'GET', url: '/console/' });
    assert.equal(start.statusCode, 303);
    const location = new URL(String(start.headers.location));
    const pending = cookieOf(start, 'gatehouse_console_signin');
    assert.ok(pending);
    const code = `code-${randomBytes(8).toString('hex')}`;
    const token = `token-${randomBytes(8).toString('hex')}`;
    codes.set(code, token);
    grants.set(token, { subject, clientId: consoleClientId, scopes });
    const state = location.searchParams.get('state') ?? '';
    const back = await app.inject({
      method: 'GET',
      url: `/console/callback?code=${code}&state=${encodeURIComponent(state)}&iss=${encodeURIComponent(ISSUER)}`,
      headers: { cookie: pending },
    });
    assert.equal(back.statusCode, 303, back.body);
    assert.equal(back.headers.location, '/console/envs');
    const session = cookieOf(back, 'gatehouse_console');
    assert.ok(session, 'the session cookie is set');
    return session;
  }

  const csrfOf = (html: string): string => {
    const match = /name="csrf_token" value="([^"]+)"/.exec(html);
    assert.ok(match?.[1], 'the page carries a CSRF token');
    return match[1];
  };

  it('sends an operator without a session to the management environment’s authorization endpoint with PKCE', async () => {
    const response = await app.inject({ method: 'GET', url: '/console/envs' });
    assert.equal(response.statusCode, 303);
    const location = new URL(String(response.headers.location));
    assert.equal(`${location.origin}${location.pathname}`, `${ISSUER}/authorize`);
    assert.equal(location.searchParams.get('client_id'), consoleClientId);
    assert.equal(location.searchParams.get('redirect_uri'), REDIRECT);
    assert.equal(location.searchParams.get('response_type'), 'code');
    assert.equal(location.searchParams.get('code_challenge_method'), 'S256');
    assert.match(location.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    // No scope: the console client's default scopes (RFC 6749 §3.3), which say what operators may do.
    assert.equal(location.searchParams.get('scope'), null);
    const cookie = [response.headers['set-cookie']].flat().join('\n');
    assert.match(cookie, /^gatehouse_console_signin=v1\.[^;]+; Path=\/console; Max-Age=600; HttpOnly; SameSite=Lax$/);
    assert.doesNotMatch(cookie, /Secure/, 'no Secure on http loopback');
  });

  it('redeems the code with the verifier whose challenge it sent, and refuses a callback with another state', async () => {
    const start = await app.inject({ method: 'GET', url: '/console/' });
    const pending = cookieOf(start, 'gatehouse_console_signin') ?? '';
    codes.set('c1', 'tok1');
    grants.set('tok1', { subject: 'usr_x', clientId: consoleClientId, scopes: ['admin:read'] });
    const wrong = await app.inject({ method: 'GET', url: '/console/callback?code=c1&state=other', headers: { cookie: pending } });
    assert.equal(wrong.statusCode, 400);
    assert.equal(cookieOf(wrong, 'gatehouse_console'), undefined);
    const state = new URL(String(start.headers.location)).searchParams.get('state') ?? '';
    const iss = encodeURIComponent(ISSUER);
    const noCookie = await app.inject({ method: 'GET', url: `/console/callback?code=c1&state=${state}&iss=${iss}` });
    assert.equal(noCookie.statusCode, 400);
    for (const other of ['', `&iss=${encodeURIComponent('https://evil.example/envs/MANAGEMENT')}`]) {
      const mixUp = await app.inject({ method: 'GET', url: `/console/callback?code=c1&state=${state}${other}`, headers: { cookie: pending } });
      assert.equal(mixUp.statusCode, 400, 'a response without this issuer is refused (RFC 9207)');
    }
    assert.ok(codes.has('c1'), 'no code was redeemed');
    await signIn('usr_alice', ['admin:read', 'admin:write']);
    const last = exchanges.at(-1);
    assert.ok(last);
    assert.equal(last.redirectUri, REDIRECT);
    assert.match(last.verifier, /^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses a token issued to another client or without admin:read', async () => {
    for (const grant of [
      { subject: 'usr_y', clientId: 'gh_other', scopes: ['admin:read', 'admin:write'] },
      { subject: 'usr_y', clientId: '', scopes: ['invoices:read'] },
    ]) {
      const start = await app.inject({ method: 'GET', url: '/console/' });
      const state = new URL(String(start.headers.location)).searchParams.get('state') ?? '';
      codes.set('c2', 'tok2');
      grants.set('tok2', { ...grant, clientId: grant.clientId || consoleClientId });
      const back = await app.inject({
        method: 'GET',
        url: `/console/callback?code=c2&state=${state}&iss=${encodeURIComponent(ISSUER)}`,
        headers: { cookie: cookieOf(start, 'gatehouse_console_signin') ?? '' },
      });
      assert.equal(back.statusCode, 403);
      assert.equal(cookieOf(back, 'gatehouse_console'), undefined);
    }
  });

  it('serves pages with the strict policy and no caching', async () => {
    const session = await signIn('usr_alice', ['admin:read', 'admin:write']);
    const response = await app.inject({ method: 'GET', url: '/console/envs', headers: { cookie: session } });
    assert.equal(response.statusCode, 200);
    assert.match(
      String(response.headers['content-security-policy']),
      /^default-src 'none'; style-src 'sha256-[^']+' 'sha256-[^']+'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'$/,
    );
    assert.equal(response.headers['cache-control'], 'no-store');
    assert.equal(response.headers['x-frame-options'], 'DENY');
    assert.match(response.body, /DEVELOPMENT/);
    assert.doesNotMatch(response.body, /<script/);
    assert.doesNotMatch(response.body, /style="/);
    assert.equal(actors.at(-1), 'usr_alice', 'the services act for the signed-in operator');
  });

  it('answers 403 to a change without the CSRF token or with a wrong one, and makes it with the right one', async () => {
    const session = await signIn('usr_alice', ['admin:read', 'admin:write']);
    const page = await app.inject({ method: 'GET', url: '/console/envs/DEVELOPMENT/keys', headers: { cookie: session } });
    const csrf = csrfOf(page.body);
    const post = (body: string) =>
      app.inject({
        method: 'POST',
        url: '/console/envs/DEVELOPMENT/keys/rotate',
        headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
    const before = (await t.admin.listKeys('DEVELOPMENT')).length;
    assert.equal((await post('')).statusCode, 403);
    assert.equal((await post(`csrf_token=${csrf.slice(0, -1)}x`)).statusCode, 403);
    assert.equal((await post(`csrf_token=${csrf}x`)).statusCode, 403);
    assert.equal((await t.admin.listKeys('DEVELOPMENT')).length, before, 'nothing changed');
    const ok = await post(`csrf_token=${encodeURIComponent(csrf)}`);
    assert.equal(ok.statusCode, 303);
    assert.equal(ok.headers.location, '/console/envs/DEVELOPMENT/keys?done=key-rotated');
    assert.equal((await t.admin.listKeys('DEVELOPMENT')).length, before + 1);
    const again = await post(`csrf_token=${encodeURIComponent(csrf)}`);
    assert.equal(again.statusCode, 409, 'a second rotation waits for the next key');
    assert.match(again.body, /already has a next key/);
    assert.match(again.body, /Sign out/, 'the error page keeps the navigation');
    // The RS256 key of ID Tokens rotates on its own, chosen in the form.
    assert.match(
      page.body,
      /<select id="alg" name="alg"><option value="" selected>Access tokens[^<]*<\/option><option value="RS256">ID Tokens: RS256<\/option>/,
    );
    const rs = await post(`csrf_token=${encodeURIComponent(csrf)}&alg=RS256`);
    assert.equal(rs.statusCode, 303, rs.body);
    assert.equal((await t.admin.listKeys('DEVELOPMENT')).filter((k) => k.alg === 'RS256' && k.status === 'next').length, 1);
    const shown = await app.inject({ method: 'GET', url: '/console/envs/DEVELOPMENT/keys', headers: { cookie: session } });
    assert.match(shown.body, /<code>[^<]+<\/code> RS256/, 'the table shows each key with its algorithm');
    const unknown = await post(`csrf_token=${encodeURIComponent(csrf)}&alg=HS256`);
    assert.equal(unknown.statusCode, 400);
    assert.match(unknown.body, /unknown key algorithm HS256/);
    // Another session's token does not do either.
    const other = await signIn('usr_bob', ['admin:read', 'admin:write']);
    const crossed = await app.inject({
      method: 'POST',
      url: '/console/envs/DEVELOPMENT/users/enabled',
      headers: { cookie: other, 'content-type': 'application/x-www-form-urlencoded' },
      body: `csrf_token=${encodeURIComponent(csrf)}&username=x&enabled=false`,
    });
    assert.equal(crossed.statusCode, 403);
  });

  it('revokes a signing key from the key list: CSRF-checked, out of the JWKS at once, a second time refused', async () => {
    const session = await signIn('usr_alice', ['admin:read', 'admin:write']);
    const page = await app.inject({ method: 'GET', url: '/console/envs/DEVELOPMENT/keys', headers: { cookie: session } });
    const active = (await t.admin.listKeys('DEVELOPMENT')).find((k) => k.status === 'active');
    assert.ok(active);
    assert.match(
      page.body,
      new RegExp(
        `<input type="hidden" name="kid" value="${active.kid}"><button class="button danger inline" type="submit" aria-label="Revoke ${active.kid}">Revoke</button>`,
      ),
    );
    const csrf = csrfOf(page.body);
    const post = (body: string) =>
      app.inject({
        method: 'POST',
        url: '/console/envs/DEVELOPMENT/keys/revoke',
        headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
    assert.equal((await post(`kid=${encodeURIComponent(active.kid)}`)).statusCode, 403);
    assert.equal((await post(`csrf_token=${csrf}x&kid=${encodeURIComponent(active.kid)}`)).statusCode, 403);
    assert.equal((await t.admin.listKeys('DEVELOPMENT')).find((k) => k.kid === active.kid)?.status, 'active', 'nothing changed');
    const ok = await post(`csrf_token=${encodeURIComponent(csrf)}&kid=${encodeURIComponent(active.kid)}`);
    assert.equal(ok.statusCode, 303);
    assert.equal(ok.headers.location, '/console/envs/DEVELOPMENT/keys?done=key-revoked');
    const keys = await t.admin.listKeys('DEVELOPMENT');
    assert.equal(keys.find((k) => k.kid === active.kid)?.status, 'revoked');
    assert.equal(keys.filter((k) => k.status === 'active' && k.alg === active.alg).length, 1, 'a fresh key of the same algorithm signs');
    const jwks = await t.app.server.inject({ url: '/envs/DEVELOPMENT/jwks.json' });
    assert.ok(!jwks.body.includes(active.kid), 'out of the JWKS of this node at once');
    const shown = await app.inject({ method: 'GET', url: '/console/envs/DEVELOPMENT/keys?done=key-revoked', headers: { cookie: session } });
    assert.match(shown.body, /Signing key revoked/);
    assert.doesNotMatch(shown.body, new RegExp(`aria-label="Revoke ${active.kid}"`));
    const again = await post(`csrf_token=${encodeURIComponent(csrf)}&kid=${encodeURIComponent(active.kid)}`);
    assert.equal(again.statusCode, 409);
    assert.match(again.body, /already revoked/);
    assert.equal((await post(`csrf_token=${encodeURIComponent(csrf)}&kid=nope`)).statusCode, 404);
  });

  it('shows a read-only operator the pages without forms and refuses their changes', async () => {
    const session = await signIn('usr_reader', ['admin:read']);
    const page = await app.inject({ method: 'GET', url: '/console/envs/DEVELOPMENT/keys', headers: { cookie: session } });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /\(read only\)/);
    assert.doesNotMatch(page.body, /Rotate signing key/);
    assert.doesNotMatch(page.body, />Revoke</);
    const csrf = csrfOf(page.body); // the sign-out form
    const response = await app.inject({
      method: 'POST',
      url: '/console/envs/DEVELOPMENT/keys/rotate',
      headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' },
      body: `csrf_token=${encodeURIComponent(csrf)}`,
    });
    assert.equal(response.statusCode, 403);
    assert.match(response.body, /admin:write/);
    const create = await app.inject({
      method: 'POST',
      url: '/console/envs/DEVELOPMENT/clients',
      headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' },
      body: `csrf_token=${encodeURIComponent(csrf)}&name=x`,
    });
    assert.equal(create.statusCode, 403);
  });

  it('ends the session when it expires or its token stops verifying', async () => {
    const session = await signIn('usr_alice', ['admin:read', 'admin:write']);
    const page = await app.inject({ method: 'GET', url: '/console/envs', headers: { cookie: session } });
    const csrf = csrfOf(page.body);
    t.clock.advance(TTL_S * 1000 + 1);
    const later = await app.inject({ method: 'GET', url: '/console/envs', headers: { cookie: session } });
    assert.equal(later.statusCode, 303, 'an expired session signs in again');
    assert.match(String(later.headers.location), /\/authorize\?/);
    const post = await app.inject({
      method: 'POST',
      url: '/console/envs',
      headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' },
      body: `csrf_token=${encodeURIComponent(csrf)}&name=LATE`,
    });
    assert.equal(post.statusCode, 403);
    const fresh = await signIn('usr_alice', ['admin:read', 'admin:write']);
    for (const [token, grant] of grants) if (grant.subject === 'usr_alice') grants.delete(token);
    const revoked = await app.inject({ method: 'GET', url: '/console/envs', headers: { cookie: fresh } });
    assert.equal(revoked.statusCode, 303, 'a token that no longer verifies ends the session');
    const forged = await app.inject({ method: 'GET', url: '/console/envs', headers: { cookie: `gatehouse_console=${fresh.split('=')[1]?.slice(0, -2)}AA` } });
    assert.equal(forged.statusCode, 303, 'a tampered cookie is no session');
  });

  it('creates a client and shows its secret once, on the POST response only', async () => {
    const session = await signIn('usr_alice', ['admin:read', 'admin:write']);
    const form = await app.inject({ method: 'GET', url: '/console/envs/DEVELOPMENT/clients/new', headers: { cookie: session } });
    const csrf = csrfOf(form.body);
    const created = await app.inject({
      method: 'POST',
      url: '/console/envs/DEVELOPMENT/clients',
      headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        csrf_token: csrf,
        name: 'Billing <job>',
        kind: 'confidential',
        grant_type: 'client_credentials',
        scopes: 'invoices:read',
      }).toString(),
    });
    assert.equal(created.statusCode, 200);
    assert.equal(created.headers['cache-control'], 'no-store');
    assert.match(created.body, /shown only now/);
    assert.match(created.body, /Billing &lt;job&gt;/);
    const secret = /id="client_secret" value="([^"]+)" readonly/.exec(created.body)?.[1];
    const clientId = /id="client_id" value="([^"]+)" readonly/.exec(created.body)?.[1];
    assert.ok(secret && clientId);
    const detail = await app.inject({ method: 'GET', url: `/console/envs/DEVELOPMENT/clients/${clientId}`, headers: { cookie: session } });
    assert.equal(detail.statusCode, 200);
    assert.ok(!detail.body.includes(secret), 'the detail page never shows the secret');
    const refused = await app.inject({
      method: 'POST',
      url: '/console/envs/DEVELOPMENT/clients',
      headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf_token: csrf, name: 'x', grant_type: 'authorization_code' }).toString(),
    });
    assert.equal(refused.statusCode, 400);
    assert.match(refused.body, /role="alert"/);
    await t.admin.createEnvironment('CONSOLE_RP');
    const rp = await app.inject({
      method: 'POST',
      url: '/console/envs/CONSOLE_RP/clients',
      headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        csrf_token: csrf,
        name: 'Relying party',
        kind: 'public',
        grant_type: 'authorization_code',
        redirect_uris: 'https://rp.example.test/cb',
        post_logout_redirect_uris: 'https://rp.example.test/bye',
        backchannel_logout_uri: 'https://rp.example.test/bc',
      }).toString(),
    });
    assert.equal(rp.statusCode, 303, 'a public client has no secret to show');
    const rpId = String(rp.headers.location).split('/').at(-1) ?? '';
    const rpView = await t.admin.getClient('CONSOLE_RP', rpId);
    assert.deepEqual([rpView.post_logout_redirect_uris, rpView.backchannel_logout_uri], [['https://rp.example.test/bye'], 'https://rp.example.test/bc']);
    const badLogout = await app.inject({
      method: 'POST',
      url: '/console/envs/CONSOLE_RP/clients',
      headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        csrf_token: csrf,
        name: 'x',
        kind: 'public',
        grant_type: 'authorization_code',
        redirect_uris: 'https://rp.example.test/cb',
        backchannel_logout_uri: 'http://rp.example.test/bc',
      }).toString(),
    });
    assert.equal(badLogout.statusCode, 400);
    assert.match(badLogout.body, /backchannel_logout_uri must use https/);
    assert.match(badLogout.body, /value="http:\/\/rp\.example\.test\/bc"/, 'the form comes back filled in');
    const missing = await app.inject({ method: 'GET', url: '/console/envs/NOPE/clients', headers: { cookie: session } });
    assert.equal(missing.statusCode, 404);
    const multipart = await app.inject({
      method: 'POST',
      url: '/console/envs',
      headers: { cookie: session, 'content-type': 'multipart/form-data; boundary=x' },
      body: '--x--',
    });
    assert.equal(multipart.statusCode, 415, 'only URL-encoded forms are read');
  });

  it("shows a user's profile and saves changes from the form: CSRF-checked, refused values shown, stale pages refused", async () => {
    const services = createAdminServices(t.config, t.store, t.clock, t.app.core);
    await services.users.create({
      env: 'DEVELOPMENT',
      username: 'ada',
      password: 'correct horse battery staple',
      profile: { email: 'ada@example.test', emailVerified: true },
    });
    const session = await signIn('usr_alice', ['admin:read', 'admin:write']);
    const list = await app.inject({ method: 'GET', url: '/console/envs/DEVELOPMENT/users', headers: { cookie: session } });
    assert.match(list.body, /<a href="\/console\/envs\/DEVELOPMENT\/users\/ada">ada<\/a>/);
    const page = await app.inject({ method: 'GET', url: '/console/envs/DEVELOPMENT/users/ada', headers: { cookie: session } });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /ada@example\.test \(verified\)/);
    const updatedAt = /name="updated_at" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
    const url = '/console/envs/DEVELOPMENT/users/ada/profile';
    const headers = { cookie: session, 'content-type': 'application/x-www-form-urlencoded' };
    const fields = (changes: Record<string, string>, version = updatedAt) =>
      new URLSearchParams({
        csrf_token: csrfOf(page.body),
        updated_at: version,
        email_verified_was: '1',
        phone_number_verified_was: '',
        email: 'ada@example.test',
        email_verified: '1',
        given_name: 'Ada',
        zoneinfo: 'Europe/London',
        address_locality: 'London',
        ...changes,
      }).toString();
    assert.equal((await app.inject({ method: 'POST', url, headers, body: 'given_name=x' })).statusCode, 403, 'no CSRF token');
    const saved = await app.inject({ method: 'POST', url, headers, body: fields({}) });
    assert.equal(saved.statusCode, 303, saved.body);
    assert.equal(saved.headers.location, '/console/envs/DEVELOPMENT/users/ada?done=saved');
    const ada = await services.users.get('DEVELOPMENT', 'ada');
    assert.deepEqual(
      [ada.given_name, ada.zoneinfo, ada.address, ada.email_verified, ada.family_name],
      ['Ada', 'Europe/London', { locality: 'London' }, true, null],
    );
    const stale = await app.inject({ method: 'POST', url, headers, body: fields({ given_name: 'Stale' }) });
    assert.equal(stale.statusCode, 409);
    assert.match(stale.body, /changed since this page was loaded/);
    const bad = await app.inject({ method: 'POST', url, headers, body: fields({ zoneinfo: 'Moon/Base' }, ada.updated_at) });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /role="alert" id="form-error">zoneinfo is not an IANA time zone/);
    // A new email with the box left as it was is unverified.
    const moved = await app.inject({ method: 'POST', url, headers, body: fields({ email: 'ada@lovelace.test' }, ada.updated_at) });
    assert.equal(moved.statusCode, 303);
    assert.deepEqual(
      [(await services.users.get('DEVELOPMENT', 'ada')).email, (await services.users.get('DEVELOPMENT', 'ada')).email_verified],
      ['ada@lovelace.test', false],
    );
    const reader = await signIn('usr_reader', ['admin:read']);
    const readOnly = await app.inject({ method: 'GET', url: '/console/envs/DEVELOPMENT/users/ada', headers: { cookie: reader } });
    assert.ok(!readOnly.body.includes('Save profile'), 'no form for a reader');
    assert.equal((await app.inject({ method: 'GET', url: '/console/envs/DEVELOPMENT/users/nobody', headers: { cookie: session } })).statusCode, 404);
  });

  it("changes the environment's Client ID Metadata Document settings from its page", async () => {
    const session = await signIn('usr_alice', ['admin:read', 'admin:write']);
    const url = '/console/envs/DEVELOPMENT/settings/client-metadata-documents';
    const settingsPage = await app.inject({ method: 'GET', url: '/console/envs/DEVELOPMENT/settings', headers: { cookie: session } });
    assert.match(settingsPage.body, /href="\/console\/envs\/DEVELOPMENT\/settings\/client-metadata-documents"/);
    const page = await app.inject({ method: 'GET', url, headers: { cookie: session } });
    assert.equal(page.statusCode, 200, page.body);
    assert.match(page.body, /Accepted<\/dt><dd>no/);
    const headers = { cookie: session, 'content-type': 'application/x-www-form-urlencoded' };
    const fields = { csrf_token: csrfOf(page.body), enabled: '1', allowed_hosts: 'claude.ai *.example.com', scopes: 'mcp:tools', access_token_ttl: '900' };
    const saved = await app.inject({ method: 'POST', url, headers, body: new URLSearchParams(fields).toString() });
    assert.equal(saved.statusCode, 303, saved.body);
    const stored = await t.store.environments.findByName('DEVELOPMENT');
    assert.equal(stored?.clientMetadataDocuments?.enabled, true);
    assert.deepEqual(stored?.clientMetadataDocuments?.allowedHosts, ['claude.ai', '*.example.com']);
    assert.equal(stored?.clientMetadataDocuments?.refreshTokens, false);
    const refused = await app.inject({ method: 'POST', url, headers, body: new URLSearchParams({ ...fields, allowed_hosts: 'https://x/' }).toString() });
    assert.equal(refused.statusCode, 400);
    assert.match(refused.body, /client_metadata_documents\.allowed_hosts/);
    const reader = await signIn('usr_bob', ['admin:read']);
    const readOnly = await app.inject({ method: 'GET', url, headers: { cookie: reader } });
    assert.equal(readOnly.statusCode, 200);
    assert.doesNotMatch(readOnly.body, /<form method="post" action="[^"]*client-metadata-documents"/);
  });

  it('sets the registration policy and issues and deletes initial access tokens from its page', async () => {
    const session = await signIn('usr_alice', ['admin:read', 'admin:write']);
    const url = '/console/envs/DEVELOPMENT/settings/registration';
    const settingsPage = await app.inject({ method: 'GET', url: '/console/envs/DEVELOPMENT/settings', headers: { cookie: session } });
    assert.match(settingsPage.body, /href="\/console\/envs\/DEVELOPMENT\/settings\/registration"/);
    const page = await app.inject({ method: 'GET', url, headers: { cookie: session } });
    assert.equal(page.statusCode, 200, page.body);
    assert.match(page.body, /Mode<\/dt><dd>off/);
    const headers = { cookie: session, 'content-type': 'application/x-www-form-urlencoded' };
    const csrf = csrfOf(page.body);
    const policy = { csrf_token: csrf, mode: 'initial_access_token', allowed_scopes: 'invoices:read', allowed_apis: '', unused_client_days: '30' };
    const saved = await app.inject({ method: 'POST', url, headers, body: new URLSearchParams(policy).toString() });
    assert.equal(saved.statusCode, 303, saved.body);
    const shown = (await app.inject({ method: 'GET', url, headers: { cookie: session } })).body;
    assert.match(shown, /Mode<\/dt><dd>initial access token/);
    assert.match(shown, /Scopes<\/dt><dd><code>invoices:read<\/code>/);
    assert.match(shown, /deleted after<\/dt><dd>30 days/);
    const refused = await app.inject({ method: 'POST', url, headers, body: new URLSearchParams({ ...policy, mode: 'wide-open' }).toString() });
    assert.equal(refused.statusCode, 400);
    assert.match(refused.body, /role="alert"/);

    const issued = await app.inject({
      method: 'POST',
      url: `${url}/tokens`,
      headers,
      body: new URLSearchParams({ csrf_token: csrf, description: 'partner X', uses: '2', expires_in_days: '3' }).toString(),
    });
    assert.equal(issued.statusCode, 200, issued.body);
    assert.equal(issued.headers['cache-control'], 'no-store');
    const token = /<code id="initial-access-token">([^<]+)<\/code>/.exec(issued.body)?.[1] ?? '';
    assert.ok(token.length >= 43, 'the token is shown once');
    const listed = await app.inject({ method: 'GET', url, headers: { cookie: session } });
    assert.match(listed.body, /partner X/);
    assert.ok(!listed.body.includes(token), 'the list never shows a token');
    const id = /settings\/registration\/tokens\/([^/"]+)\/delete/.exec(listed.body)?.[1] ?? '';
    const deleted = await app.inject({
      method: 'POST',
      url: `${url}/tokens/${id}/delete`,
      headers,
      body: new URLSearchParams({ csrf_token: csrf }).toString(),
    });
    assert.equal(deleted.statusCode, 303, deleted.body);
    assert.doesNotMatch((await app.inject({ method: 'GET', url, headers: { cookie: session } })).body, /partner X/);

    const reader = await signIn('usr_bob', ['admin:read']);
    const readOnly = await app.inject({ method: 'GET', url, headers: { cookie: reader } });
    assert.equal(readOnly.statusCode, 200);
    assert.doesNotMatch(readOnly.body, /<form method="post"/);
  });

  it("changes the environment's OpenID Connect settings and a client's metadata from their pages", async () => {
    const session = await signIn('usr_alice', ['admin:read', 'admin:write']);
    const headers = { cookie: session, 'content-type': 'application/x-www-form-urlencoded' };
    const settings = await app.inject({ method: 'GET', url: '/console/envs/DEVELOPMENT/settings', headers: { cookie: session } });
    assert.equal(settings.statusCode, 200);
    assert.match(settings.body, /aria-current="page">Settings/);
    const csrf = csrfOf(settings.body);
    const saved = await app.inject({
      method: 'POST',
      url: '/console/envs/DEVELOPMENT/settings',
      headers,
      body: new URLSearchParams({ csrf_token: csrf, subject_type: 'public', refresh_token_policy: 'offline_access' }).toString(),
    });
    assert.equal(saved.statusCode, 303);
    assert.equal((await t.admin.getEnvironment('DEVELOPMENT')).refresh_token_policy, 'offline_access');
    const refused = await app.inject({
      method: 'POST',
      url: '/console/envs/DEVELOPMENT/settings',
      headers,
      body: new URLSearchParams({ csrf_token: csrf, subject_type: 'secret', refresh_token_policy: 'client' }).toString(),
    });
    assert.equal(refused.statusCode, 400);
    assert.match(refused.body, /subject_type must be one of public, pairwise/);

    const { client_id: id } = await t.admin.createClient({
      env: 'DEVELOPMENT',
      name: 'rp',
      grantTypes: ['authorization_code'],
      redirectUris: ['https://rp.example.test/cb'],
    });
    const url = `/console/envs/DEVELOPMENT/clients/${id}/oidc`;
    const form = (changes: Record<string, string>) =>
      new URLSearchParams({
        csrf_token: csrf,
        post_logout_redirect_uris: 'https://rp.example.test/bye https://rp.example.test/bye2',
        backchannel_logout_uri: 'https://rp.example.test/bc',
        logout_revokes_tokens: '1',
        id_token_signed_response_alg: 'ES256',
        subject_type: '',
        sector_identifier_uri: '',
        ...changes,
      }).toString();
    const ok = await app.inject({ method: 'POST', url, headers, body: form({}) });
    assert.equal(ok.statusCode, 303, ok.body);
    const rp = await t.admin.getClient('DEVELOPMENT', id);
    assert.deepEqual(
      [
        rp.post_logout_redirect_uris,
        rp.backchannel_logout_uri,
        rp.logout_revokes_tokens,
        rp.backchannel_logout_session_required,
        rp.id_token_signed_response_alg,
        rp.subject_type,
      ],
      [['https://rp.example.test/bye', 'https://rp.example.test/bye2'], 'https://rp.example.test/bc', true, false, 'ES256', null],
    );
    const detail = await app.inject({ method: 'GET', url: `/console/envs/DEVELOPMENT/clients/${id}`, headers: { cookie: session } });
    assert.match(detail.body, /<dt>Back-channel logout URI<\/dt><dd><code>https:\/\/rp\.example\.test\/bc<\/code><\/dd>/);
    const bad = await app.inject({ method: 'POST', url, headers, body: form({ backchannel_logout_uri: 'http://rp.example.test/bc' }) });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /backchannel_logout_uri must use https/);
    const cleared = await app.inject({
      method: 'POST',
      url,
      headers,
      body: form({ post_logout_redirect_uris: '', backchannel_logout_uri: '', logout_revokes_tokens: '', id_token_signed_response_alg: '' }),
    });
    assert.equal(cleared.statusCode, 303);
    const after = await t.admin.getClient('DEVELOPMENT', id);
    assert.deepEqual(
      [after.post_logout_redirect_uris, after.backchannel_logout_uri, after.logout_revokes_tokens, after.id_token_signed_response_alg],
      [[], null, false, null],
    );
  });

  it('lists secrets by id and revokes one with the CSRF token', async () => {
    const session = await signIn('usr_alice', ['admin:write']);
    const clientId = (await t.admin.createClient({ env: 'DEVELOPMENT', name: 'two secrets' })).client_id;
    await t.admin.rotateClientSecret('DEVELOPMENT', clientId, 3600);
    const [newer, older] = await t.admin.listClientSecrets('DEVELOPMENT', clientId).then((s) => [...s].sort((a, b) => (a.created_at < b.created_at ? 1 : -1)));
    assert.ok(newer && older);
    const page = await app.inject({ method: 'GET', url: `/console/envs/DEVELOPMENT/clients/${clientId}`, headers: { cookie: session } });
    assert.equal(page.statusCode, 200, 'admin:write alone reads too');
    assert.match(page.body, new RegExp(`<code>${older.id}</code>`));
    assert.match(page.body, new RegExp(`aria-label="Revoke ${older.id}"`));
    const url = `/console/envs/DEVELOPMENT/clients/${clientId}/secrets/revoke`;
    const headers = { cookie: session, 'content-type': 'application/x-www-form-urlencoded' };
    assert.equal((await app.inject({ method: 'POST', url, headers, body: `secret_id=${older.id}` })).statusCode, 403);
    assert.equal((await t.admin.listClientSecrets('DEVELOPMENT', clientId)).length, 2);
    const done = await app.inject({ method: 'POST', url, headers, body: `secret_id=${older.id}&csrf_token=${encodeURIComponent(csrfOf(page.body))}` });
    assert.equal(done.statusCode, 303);
    assert.equal(done.headers.location, `/console/envs/DEVELOPMENT/clients/${clientId}?done=secret-revoked`);
    assert.deepEqual(
      (await t.admin.listClientSecrets('DEVELOPMENT', clientId)).map((s) => s.id),
      [newer.id],
    );
  });

  it('signs out with the CSRF token, clearing the session cookie', async () => {
    const session = await signIn('usr_alice', ['admin:read', 'admin:write']);
    const page = await app.inject({ method: 'GET', url: '/console/envs', headers: { cookie: session } });
    const headers = { cookie: session, 'content-type': 'application/x-www-form-urlencoded' };
    assert.equal((await app.inject({ method: 'POST', url: '/console/signout', headers, body: 'csrf_token=wrong' })).statusCode, 403);
    const out = await app.inject({ method: 'POST', url: '/console/signout', headers, body: `csrf_token=${encodeURIComponent(csrfOf(page.body))}` });
    assert.equal(out.statusCode, 303);
    assert.equal(out.headers.location, '/console/signed-out');
    assert.match(String(out.headers['set-cookie']), /^gatehouse_console=; Path=\/console; Max-Age=0; HttpOnly; SameSite=Lax$/);
    assert.equal(revokedTokens.length, 1, 'the access token is revoked');
    const copied = await app.inject({ method: 'GET', url: '/console/envs', headers: { cookie: session } });
    assert.equal(copied.statusCode, 303, 'a copy of the cookie no longer signs in');
  });
});

describe('web console cookies on https', () => {
  it('use the __Host- prefix, Secure and Path=/', async () => {
    const app = Fastify();
    const noop = async () => {
      throw new Error('not called');
    };
    await registerConsole(app, {
      servicesFor: () => {
        throw new Error('not called');
      },
      clock: { now: () => 0 },
      issuer: ISSUER,
      client: { clientId: 'gh_console', clientSecret: 's', redirectUri: 'https://admin.example.test/console/callback' },
      exchangeCode: noop,
      authorize: noop,
      cookieSecret: randomBytes(32),
    });
    const response = await app.inject({ method: 'GET', url: '/console/' });
    await app.close();
    assert.equal(response.statusCode, 303);
    assert.match(String(response.headers['set-cookie']), /^__Host-gatehouse_console_signin=[^;]+; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax; Secure$/);
  });
});
