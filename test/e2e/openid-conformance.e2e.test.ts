import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, type JWK, jwtVerify, SignJWT } from 'jose';
import * as client from 'openid-client';
import type { Browser } from 'playwright-core';
import { AdminService } from '../../src/admin/admin-service.ts';
import { hashPassword } from '../../src/crypto/passwords.ts';
import type { Clock } from '../../src/domain/clock.ts';
import type { Client, User, UserProfile } from '../../src/domain/model.ts';
import type { Store } from '../../src/domain/storage.ts';
import { type Server as App, createServer } from '../../src/server/server.ts';
import { openStore } from '../../src/store/open.ts';
import { testConfig } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/net.ts';
import {
  BACKCHANNEL_LOGOUT_EVENT,
  browserSignIn,
  FormBrowser,
  formAction,
  hiddenFields,
  type IdTokenClaims,
  launchChromium,
  logoutTokenFor,
  OPENID_CLIENT_SCOPES,
  PROFILE,
  RelyingPartyServer,
  submitButton,
  verifyLogoutToken,
  type Walked,
} from '../helpers/openid-e2e.ts';

/*
 * The OpenID Foundation's conformance test plans for an OpenID Provider, one test per module that
 * applies to a code-flow OP, named after the module: "Basic OP" (oidcc-basic-certification-test-plan),
 * "Config OP", "RP-Initiated Logout OP" and "Back-Channel Logout OP". Each test asserts what its
 * module asserts (net.openid.conformance.openid.* in the suite); openid-client, an OpenID
 * Certified relying party, drives the requests and validates the responses, plain fetch sends the
 * malformed ones on purpose, and the pages are answered through their forms (Chromium for the
 * first happy flow). The server runs in this process over SQLite with a clock the tests move, so
 * max_age=1 and a code replayed 30 seconds later need no waiting.
 *
 * As in the suite's static-client variant, the main client is confidential and authenticates with
 * client_secret_basic. Unlike the suite's requests, every request here carries PKCE (S256):
 * Gatehouse's authorization endpoint requires it of every client (RFC 9700 §2.1.1).
 */

const ENV = 'CONFORMANCE';
const PASSWORD = 'correct horse battery staple';
/** Core §3.1.2.6: the errors a prompt=none request may answer with when a page would be needed. */
const UI_REQUIRED = ['interaction_required', 'login_required', 'account_selection_required', 'consent_required'];
/** RFC 6749 Appendix A.17: the characters of a refresh token. */
const VSCHAR = /^[\x20-\x7e]+$/;

/** A real clock moved forward by the tests; the relying party is told the same skew. */
class SteppedClock implements Clock {
  private offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
  get skewSeconds(): number {
    return Math.ceil(this.offsetMs / 1000);
  }
}

interface Registered {
  clientId: string;
  clientSecret: string;
}

interface SignedIn {
  walked: Walked;
  callback: URL;
  tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
  claims: IdTokenClaims;
  state: string;
  nonce: string | undefined;
}

const atHash = (accessToken: string): string => createHash('sha256').update(accessToken).digest().subarray(0, 16).toString('base64url');

describe('OpenID Connect conformance modules (Basic OP, Config OP, RP-Initiated Logout OP, Back-Channel Logout OP)', () => {
  const rp = new RelyingPartyServer();
  const clock = new SteppedClock();
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-conformance-'));
  let store: Store | undefined;
  let app: App | undefined;
  let chromium: Browser | undefined;
  let issuer: string;
  let metadata: client.ServerMetadata;
  let jwks: ReturnType<typeof createRemoteJWKSet>;
  /** The suite's "client": basic auth, post-logout and back-channel logout URIs registered. */
  let main: Registered;
  /** The suite's "client2" (refresh tokens are bound to their client). */
  let second: Registered;
  /** Registered with id_token_signed_response_alg RS256 (oidcc-idtoken-rs256). */
  let rs256: Registered;
  let ada: { username: string; userId: string };
  let buffy: { username: string; userId: string };

  before(async () => {
    await rp.start();
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const config = testConfig({ publicUrl, host: '127.0.0.1', port, passwordHashCost: 10, dataDir });
    store = openStore(join(dataDir, 'gatehouse.db'));
    await store.migrate();
    app = await createServer(config, { store, clock });
    assert.equal(await app.start(), publicUrl);
    const admin = new AdminService(config, config.keySecret, store, app.core, clock);
    issuer = (await admin.createEnvironment(ENV)).issuer;
    const envId = (await store.environments.findByName(ENV))?.id;
    assert.ok(envId);

    const oidc: Partial<Client> = {
      postLogoutRedirectUris: [rp.postLogoutRedirectUri],
      backchannelLogoutUri: rp.backchannelLogoutUri,
      backchannelLogoutSessionRequired: true,
    };
    const register = async (name: string, extra: Partial<Client> = {}): Promise<Registered> => {
      const created = await admin.createClient({
        env: ENV,
        name,
        grantTypes: ['authorization_code', 'refresh_token'],
        scopes: OPENID_CLIENT_SCOPES.split(' '),
        redirectUris: [rp.redirectUri],
      });
      const stored = await store?.clients.find(envId, created.client_id);
      assert.ok(stored, 'the client was stored');
      assert.ok(await store?.clients.update({ ...stored, ...oidc, ...extra }), 'the client took its OpenID Connect metadata');
      return { clientId: created.client_id, clientSecret: String(created.client_secret) };
    };
    main = await register('Conformance RP');
    second = await register('Conformance RP 2');
    rs256 = await register('Conformance RP (RS256)', { idTokenSignedResponseAlg: 'RS256' });

    const profile: UserProfile = {
      email: PROFILE.email,
      emailVerified: true,
      name: PROFILE.name,
      givenName: PROFILE.given_name,
      familyName: PROFILE.family_name,
      preferredUsername: null,
      picture: null,
      locale: PROFILE.locale,
      zoneinfo: PROFILE.zoneinfo,
      phoneNumber: PROFILE.phone_number,
      phoneNumberVerified: true,
      address: { ...PROFILE.address },
    };
    const addUser = async (username: string): Promise<{ username: string; userId: string }> => {
      const now = clock.now();
      const user: User = {
        envId,
        userId: `usr_${randomBytes(12).toString('base64url')}`,
        username,
        passwordHash: await hashPassword(PASSWORD, { log2N: config.passwordHashCost, r: 8, p: 1 }),
        enabled: true,
        createdAt: now,
        updatedAt: now,
        profile,
      };
      await store?.users.create(user);
      return { username, userId: user.userId };
    };
    ada = await addUser('ada');
    // The suite's default login_hint: buffy@ and the issuer's host.
    buffy = await addUser(`buffy@${new URL(issuer).hostname}`);

    // The OpenID document; should it be missing, the RFC 8414 one, so that each module fails on its own.
    const discover = (algorithm: 'oidc' | 'oauth2') =>
      client.discovery(new URL(issuer), main.clientId, main.clientSecret, client.ClientSecretBasic(main.clientSecret), {
        algorithm,
        execute: [client.allowInsecureRequests],
      });
    const discovered = await discover('oidc').catch(() => discover('oauth2'));
    metadata = { ...discovered.serverMetadata() };
    jwks = createRemoteJWKSet(new URL(String(metadata.jwks_uri)));
  });

  after(async () => {
    try {
      await chromium?.close().catch(() => undefined);
      await rp.stop();
      await app?.stop();
      await store?.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  const user = (who: { username: string }) => ({ username: who.username, password: PASSWORD });

  /** openid-client for a registered client: its auth method, the server clock's skew, signatures checked. */
  function rpFor(registered: Registered, auth: 'basic' | 'post' = 'basic'): client.Configuration {
    const config = new client.Configuration(
      metadata,
      registered.clientId,
      { client_secret: registered.clientSecret, [client.clockSkew]: clock.skewSeconds },
      auth === 'basic' ? client.ClientSecretBasic(registered.clientSecret) : client.ClientSecretPost(registered.clientSecret),
    );
    client.allowInsecureRequests(config);
    client.enableNonRepudiationChecks(config);
    return config;
  }

  /**
   * An authentication request built by openid-client: scope openid, state, nonce (unless `nonce:
   * null`), PKCE S256 (Gatehouse requires it of every client), then the extra parameters.
   */
  function request(
    config: client.Configuration,
    params: Record<string, string | null> = {},
  ): { url: URL; state: string; nonce: string | undefined; verifier: string } {
    const state = client.randomState();
    const nonce = params.nonce === null ? undefined : (params.nonce ?? client.randomNonce());
    const verifier = client.randomPKCECodeVerifier();
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const all: Record<string, string> = {
      redirect_uri: rp.redirectUri,
      scope: 'openid',
      state,
      ...(nonce ? { nonce } : {}),
      code_challenge: challenge,
      code_challenge_method: 'S256',
    };
    for (const [name, value] of Object.entries(params)) if (value !== null) all[name] = value;
    return { url: client.buildAuthorizationUrl(config, all), state, nonce, verifier };
  }

  /**
   * One authorization in `browser` through to the tokens, checked by openid-client (state, iss,
   * the ID Token's signature and claims, nonce, auth_time against max_age).
   */
  async function signIn(
    browser: FormBrowser,
    options: {
      registered?: Registered;
      auth?: 'basic' | 'post';
      params?: Record<string, string | null>;
      who?: { username: string };
      pages?: ('login' | 'consent')[];
    } = {},
  ): Promise<SignedIn> {
    const config = rpFor(options.registered ?? main, options.auth);
    const params = { ...options.params };
    const { url, state, nonce, verifier } = request(config, params);
    const walked = await browser.authorize(url, { user: user(options.who ?? ada) });
    assert.ok(walked.location, `the authorization ended on a page instead of the redirect URI: ${walked.page?.status} ${walked.page?.html.slice(0, 300)}`);
    if (options.pages) assert.deepEqual(walked.pages, options.pages, 'the pages shown');
    const maxAge = params.max_age ? Number(params.max_age) : undefined;
    const tokens = await client.authorizationCodeGrant(config, walked.location, {
      expectedState: state,
      ...(nonce ? { expectedNonce: nonce } : {}),
      ...(maxAge !== undefined ? { maxAge } : {}),
      pkceCodeVerifier: verifier,
      idTokenExpected: true,
    });
    const claims = tokens.claims() as IdTokenClaims | undefined;
    assert.ok(claims, 'an ID Token');
    return { walked, callback: walked.location, tokens, claims, state, nonce };
  }

  /** PerformStandardIdTokenChecks, and what oidcc-server adds: signature by a published key, claims, at_hash. */
  async function standardIdTokenChecks(signedIn: SignedIn, clientId = main.clientId): Promise<void> {
    const token = String(signedIn.tokens.id_token);
    const header = decodeProtectedHeader(token);
    assert.ok(header.kid, 'the ID Token names its key (OP-IDToken-kid)');
    assert.notEqual(header.alg, 'none');
    const { payload } = await jwtVerify(token, jwks, { issuer, audience: clientId, currentDate: new Date(clock.now()) });
    const claims = payload as IdTokenClaims;
    assert.equal(typeof claims.sub, 'string');
    assert.ok(claims.sub.length > 0 && claims.sub.length <= 255, 'Core §2: sub at most 255 ASCII characters');
    assert.equal(typeof claims.iat, 'number');
    assert.ok(claims.exp > claims.iat);
    if (signedIn.nonce) assert.equal(claims.nonce, signedIn.nonce);
    else assert.equal(claims.nonce, undefined);
    if (claims.azp !== undefined) assert.equal(claims.azp, clientId);
    if (claims.at_hash !== undefined) assert.equal(claims.at_hash, atHash(signedIn.tokens.access_token), 'at_hash (Core §3.1.3.6)');
    if (claims.auth_time !== undefined) assert.equal(typeof claims.auth_time, 'number');
  }

  /** UserInfo with the access token: GET, POST with the header, or POST with the token in the body. */
  async function userinfo(accessToken: string, how: 'get' | 'post-header' | 'post-body' = 'get'): Promise<Response> {
    const endpoint = String(metadata.userinfo_endpoint);
    if (how === 'get') return fetch(endpoint, { headers: { authorization: `Bearer ${accessToken}` } });
    if (how === 'post-header') return fetch(endpoint, { method: 'POST', headers: { authorization: `Bearer ${accessToken}` } });
    return fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ access_token: accessToken }).toString(),
    });
  }

  /** ValidateUserInfoStandardClaims, EnsureUserInfoContainsSub, and the same sub as the ID Token. */
  async function validUserInfo(response: Response, claims: IdTokenClaims): Promise<Record<string, unknown>> {
    const text = await response.text();
    assert.equal(response.status, 200, text);
    assert.match(String(response.headers.get('content-type')), /^application\/json/, 'Core §5.3.2: JSON');
    const info = JSON.parse(text) as Record<string, unknown>;
    assert.equal(info.sub, claims.sub, 'Core §5.3.2: the same sub as the ID Token');
    for (const name of ['name', 'given_name', 'family_name', 'preferred_username', 'email', 'locale', 'zoneinfo', 'phone_number']) {
      if (info[name] !== undefined) assert.equal(typeof info[name], 'string', `${name} is a string (Core §5.1)`);
    }
    for (const name of ['email_verified', 'phone_number_verified']) if (info[name] !== undefined) assert.equal(typeof info[name], 'boolean');
    if (info.address !== undefined) assert.equal(typeof info.address, 'object');
    if (info.updated_at !== undefined) assert.equal(typeof info.updated_at, 'number');
    return info;
  }

  /** The error parameters of a redirect back to the client (performGenericAuthorizationEndpointErrorResponseValidation). */
  function errorResponse(walked: Walked, state: string): URLSearchParams {
    assert.ok(walked.location, `expected a redirect to the client, got a page: ${walked.page?.status} ${walked.page?.html.slice(0, 300)}`);
    assert.equal(`${walked.location.origin}${walked.location.pathname}`, rp.redirectUri);
    const params = walked.location.searchParams;
    assert.ok(params.get('error'), `an error: ${walked.location}`);
    assert.equal(params.get('code'), null, 'no code beside an error');
    assert.equal(params.get('state'), state);
    assert.equal(params.get('iss'), issuer, 'RFC 9207 iss');
    assert.doesNotMatch(params.get('error_description') ?? '', /[\r\n\t]/);
    return params;
  }

  /** An error page of Gatehouse's own: the browser is not sent anywhere (ExpectRedirectUriErrorPage). */
  function errorPage(walked: Walked): void {
    assert.equal(walked.location, undefined, `no redirect (went to ${walked.location})`);
    assert.ok(walked.page);
    assert.ok(walked.page.status >= 400 && walked.page.status < 500, `an error status, got ${walked.page.status}`);
    assert.match(walked.page.html, /<html/i, 'an HTML page for the user');
  }

  /** The refresh token grant of Core §12.2, checked like RefreshTokenRequestSteps. */
  async function refreshAndCheck(config: client.Configuration, signedIn: SignedIn) {
    const refreshed = await client.refreshTokenGrant(config, String(signedIn.tokens.refresh_token));
    assert.ok(refreshed.access_token);
    assert.ok(refreshed.id_token, 'Core §12.2: a new ID Token');
    const claims = refreshed.claims() as IdTokenClaims;
    assert.equal(claims.iss, signedIn.claims.iss);
    assert.equal(claims.sub, signedIn.claims.sub);
    assert.deepEqual(claims.aud, signedIn.claims.aud);
    assert.ok(claims.iat >= signedIn.claims.iat);
    assert.equal(claims.auth_time, signedIn.claims.auth_time, 'auth_time of the original authentication');
    assert.equal(claims.azp, signedIn.claims.azp);
    assert.ok(claims.nonce === undefined || claims.nonce === signedIn.claims.nonce);
    await jwtVerify(refreshed.id_token, jwks, { issuer, currentDate: new Date(clock.now()) });
    return { refreshed, claims };
  }

  /** The end_session_endpoint with `params`, in `browser`; returns the first response and where it sent the browser. */
  async function endSession(browser: FormBrowser, params: Record<string, string>): Promise<{ status: number; location?: URL; html: string }> {
    const url = new URL(String(metadata.end_session_endpoint));
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    const response = await browser.request(url);
    const location = response.headers.get('location');
    return { status: response.status, html: await response.text(), ...(location ? { location: new URL(location, url) } : {}) };
  }

  /** Ends the session as a user would: follows the OP's redirect, or confirms on its page. */
  async function logOut(browser: FormBrowser, params: Record<string, string>): Promise<{ location?: URL; html: string; confirmed: boolean }> {
    const first = await endSession(browser, params);
    if (first.status === 303 || first.status === 302) return { ...first, confirmed: false };
    assert.equal(first.status, 200, first.html.slice(0, 300));
    if (!/<form/i.test(first.html)) return { html: first.html, confirmed: false };
    const answer = await browser.request(new URL(formAction(first.html), String(metadata.end_session_endpoint)), {
      form: { ...hiddenFields(first.html), ...submitButton(first.html) },
    });
    const location = answer.headers.get('location');
    return { html: await answer.text(), confirmed: true, ...(location ? { location: new URL(location, String(metadata.end_session_endpoint)) } : {}) };
  }

  /** The second authorization of the logout modules: prompt=none must fail, the user being logged out. */
  async function assertLoggedOut(browser: FormBrowser): Promise<void> {
    const { url, state } = request(rpFor(main), { prompt: 'none' });
    const params = errorResponse(await browser.authorize(url), state);
    assert.ok(UI_REQUIRED.includes(String(params.get('error'))), `CheckErrorFromAuthorizationEndpointIsOneThatRequiredAUserInterface: ${params.get('error')}`);
  }

  /** A flow whose end-session request must not send the browser back to the client (the -bad- logout modules). */
  async function assertNoRedirectBack(browser: FormBrowser, params: Record<string, string>): Promise<void> {
    const answer = await endSession(browser, params);
    assert.ok(
      answer.location === undefined || !answer.location.href.startsWith(rp.postLogoutRedirectUri),
      `the OP redirected back to ${answer.location}: it must show an error or ask the user`,
    );
    assert.ok([200, 400].includes(answer.status), `an error page or a confirmation page, got ${answer.status}`);
    assert.match(answer.html, /<html/i);
  }

  // ── Config OP ────────────────────────────────────────────────────────────────────────────

  it('oidcc-discovery-endpoint-verification', async () => {
    const response = await fetch(`${issuer}/.well-known/openid-configuration`);
    assert.equal(response.status, 200);
    assert.match(String(response.headers.get('content-type')), /^application\/json/);
    const doc = (await response.json()) as Record<string, unknown>;
    assert.equal(doc.issuer, issuer, 'CheckDiscEndpointIssuer (Discovery §4.3)');
    assert.ok(new URL(String(doc.issuer)).search === '' && new URL(String(doc.issuer)).hash === '', 'the issuer has no query or fragment');
    for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'end_session_endpoint']) {
      assert.ok(String(doc[endpoint]).startsWith(`${issuer}/`), `${endpoint} under the issuer: ${doc[endpoint]}`);
    }
    const list = (name: string): string[] => {
      assert.ok(Array.isArray(doc[name]), `${name} is an array`);
      return doc[name] as string[];
    };
    assert.ok(list('response_types_supported').includes('code'), 'OIDCCCheckDiscEndpointResponseTypesSupported');
    assert.ok(list('subject_types_supported').length > 0);
    for (const type of list('subject_types_supported')) assert.ok(['public', 'pairwise'].includes(type));
    assert.ok(list('id_token_signing_alg_values_supported').includes('RS256'), 'Core §15.1: RS256');
    assert.ok(list('scopes_supported').includes('openid'), 'CheckDiscEndpointScopesSupportedContainsOpenId');
    for (const scope of list('scopes_supported')) assert.match(scope, /^[\x21\x23-\x5b\x5d-\x7e]+$/, 'RFC 6749 §3.3 scope syntax');
    assert.ok(list('claims_supported').includes('sub'), 'OIDCCCheckDiscEndpointClaimsSupported');
    assert.ok(list('grant_types_supported').includes('authorization_code'));
    assert.ok(list('code_challenge_methods_supported').includes('S256'));
    if (doc.claims_parameter_supported !== undefined) assert.equal(typeof doc.claims_parameter_supported, 'boolean');
    // Discovery §3: request_uri_parameter_supported defaults to true; an OP without it must say false.
    assert.equal(doc.request_uri_parameter_supported, false, 'CheckDiscEndpointRequestUriParameterSupported');
    assert.ok(doc.request_parameter_supported === undefined || doc.request_parameter_supported === false);
    // The RFC 8414 document says the same.
    const oauthDoc = (await (await fetch(`${new URL(issuer).origin}/.well-known/oauth-authorization-server${new URL(issuer).pathname}`)).json()) as Record<
      string,
      unknown
    >;
    for (const name of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri']) assert.equal(oauthDoc[name], doc[name], name);
    // FetchServerKeys, ValidateServerJWKs, CheckDistinctKeyIdValueInServerJWKs.
    const keys = ((await (await fetch(String(doc.jwks_uri))).json()) as { keys: JWK[] }).keys;
    const kids = keys.map((k) => k.kid);
    assert.equal(new Set(kids).size, kids.length, 'distinct kids');
    for (const key of keys) {
      assert.ok(key.kid && key.kty);
      assert.ok(key.use === undefined || key.use === 'sig');
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) assert.equal(key[secret as keyof JWK], undefined, `no private member ${secret}`);
    }
    assert.ok(
      keys.some((k) => k.kty === 'RSA' && (k.alg === undefined || k.alg === 'RS256')),
      'an RSA key for RS256',
    );
  });

  it('oidcc-discovery-issuer-not-matching-config', async () => {
    // A relying-party module (the suite plays an OP whose document names another issuer). The OP's
    // side of it: each environment's document names exactly the issuer it is fetched under, and an
    // unknown environment has no document rather than some other issuer's.
    const doc = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { issuer: string };
    assert.equal(doc.issuer, issuer);
    const unknown = await fetch(`${new URL(issuer).origin}/envs/NO_SUCH_ENV/.well-known/openid-configuration`);
    assert.equal(unknown.status, 404);
    // openid-client refuses a document whose issuer differs from the URL it discovered.
    await assert.rejects(
      client.discovery(new URL(`${issuer}/`), main.clientId, main.clientSecret, undefined, { execute: [client.allowInsecureRequests] }),
      'a mismatching issuer is refused by the relying party',
    );
  });

  // ── Basic OP ─────────────────────────────────────────────────────────────────────────────

  it('oidcc-server', async () => {
    // The happy flow in a real browser.
    chromium = await launchChromium();
    const context = await chromium.newContext({ locale: 'en-US' });
    try {
      const page = await context.newPage();
      const config = rpFor(main);
      const { url, state, nonce, verifier } = request(config);
      const { callback, pages } = await browserSignIn(page, url, rp, user(ada));
      assert.deepEqual(pages, ['login', 'consent']);
      const code = String(callback.searchParams.get('code'));
      assert.ok(code.length >= 22, 'EnsureMinimumAuthorizationCodeLength (128 bits)');
      assert.equal(callback.searchParams.get('iss'), issuer);
      const tokens = await client.authorizationCodeGrant(config, callback, {
        expectedState: state,
        expectedNonce: String(nonce),
        pkceCodeVerifier: verifier,
        idTokenExpected: true,
      });
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      assert.equal(typeof tokens.expires_in, 'number', 'ExtractExpiresInFromTokenEndpointResponse');
      const claims = tokens.claims() as IdTokenClaims;
      const signedIn: SignedIn = { walked: { pages }, callback, tokens, claims, state, nonce };
      await standardIdTokenChecks(signedIn);
      assert.equal(claims.sub, ada.userId);
      assert.equal(claims.name, undefined, 'EnsureIdTokenDoesNotContainName (Core §5.4: claims come from UserInfo)');
      for (const claim of ['email', 'phone_number', 'address', 'given_name', 'family_name'])
        assert.equal(claims[claim], undefined, `no ${claim}: not requested`);
      // The access token reaches the protected resource (UserInfo).
      await validUserInfo(await userinfo(tokens.access_token), claims);
    } finally {
      await context.close();
    }
  });

  it('oidcc-response-type-missing', async () => {
    const browser = new FormBrowser(issuer);
    const { url, state } = request(rpFor(main));
    url.searchParams.delete('response_type');
    const walked = await browser.authorize(url, { user: user(ada) });
    if (walked.location) {
      const params = errorResponse(walked, state);
      assert.ok(['invalid_request', 'unsupported_response_type'].includes(String(params.get('error'))), String(params.get('error')));
    } else {
      errorPage(walked);
    }
  });

  it('oidcc-idtoken-signature', async () => {
    const signedIn = await signIn(new FormBrowser(issuer));
    await standardIdTokenChecks(signedIn);
    const header = decodeProtectedHeader(String(signedIn.tokens.id_token));
    assert.equal(header.alg, 'RS256', 'EnsureIdTokenSignatureIsRS256: the default without a registered algorithm');
    assert.ok(header.kid);
  });

  it('oidcc-idtoken-rs256', async () => {
    const signedIn = await signIn(new FormBrowser(issuer), { registered: rs256 });
    await standardIdTokenChecks(signedIn, rs256.clientId);
    const header = decodeProtectedHeader(String(signedIn.tokens.id_token));
    assert.equal(header.alg, 'RS256');
    assert.ok(header.kid, 'EnsureIdTokenContainsKid');
  });

  it('oidcc-idtoken-unsigned', async () => {
    // Skipped by the suite when discovery does not offer alg none, which Gatehouse never does: an
    // unsigned ID Token would let anyone mint one. The ID Tokens it issues are all signed.
    assert.ok(!(metadata.id_token_signing_alg_values_supported ?? []).includes('none'), 'none is not offered');
    const signedIn = await signIn(new FormBrowser(issuer));
    assert.notEqual(decodeProtectedHeader(String(signedIn.tokens.id_token)).alg, 'none');
    assert.equal(String(signedIn.tokens.id_token).split('.')[2]?.length ? 'signed' : 'unsigned', 'signed');
  });

  it('oidcc-userinfo-get', async () => {
    const signedIn = await signIn(new FormBrowser(issuer));
    await validUserInfo(await userinfo(signedIn.tokens.access_token, 'get'), signedIn.claims);
    // openid-client's own UserInfo request agrees.
    assert.equal((await client.fetchUserInfo(rpFor(main), signedIn.tokens.access_token, signedIn.claims.sub)).sub, signedIn.claims.sub);
  });

  it('oidcc-userinfo-post-header', async () => {
    const signedIn = await signIn(new FormBrowser(issuer));
    await validUserInfo(await userinfo(signedIn.tokens.access_token, 'post-header'), signedIn.claims);
  });

  it('oidcc-userinfo-post-body', async () => {
    // RFC 6750 §2.2 (the token in a form body) is optional: the suite passes with a warning when
    // it is refused with an HTTP error. Either the claims, or a refusal that says how (§3).
    const signedIn = await signIn(new FormBrowser(issuer));
    const response = await userinfo(signedIn.tokens.access_token, 'post-body');
    if (response.status === 200) {
      await validUserInfo(response, signedIn.claims);
    } else {
      assert.ok([400, 401].includes(response.status), `a refusal, got ${response.status}`);
      assert.match(String(response.headers.get('www-authenticate')), /^Bearer/, 'RFC 6750 §3: WWW-Authenticate');
    }
  });

  it('oidcc-ensure-request-without-nonce-succeeds-for-code-flow', async () => {
    const signedIn = await signIn(new FormBrowser(issuer), { params: { nonce: null } });
    assert.equal(signedIn.claims.nonce, undefined);
    await standardIdTokenChecks(signedIn);
  });

  /** The oidcc-scope-* modules: UserInfo gives the scope's claims (Core §5.4), and only the granted scopes'. */
  async function scopeModule(scopes: ('profile' | 'email' | 'address' | 'phone')[]): Promise<void> {
    const signedIn = await signIn(new FormBrowser(issuer), { params: { scope: ['openid', ...scopes].join(' ') } });
    const info = await validUserInfo(await userinfo(signedIn.tokens.access_token), signedIn.claims);
    const expected: Record<string, string[]> = {
      profile: ['name', 'given_name', 'family_name', 'preferred_username', 'locale', 'zoneinfo'],
      email: ['email', 'email_verified'],
      address: ['address'],
      phone: ['phone_number', 'phone_number_verified'],
    };
    for (const [scope, claims] of Object.entries(expected)) {
      for (const claim of claims) {
        if (scopes.includes(scope as 'profile')) assert.notEqual(info[claim], undefined, `VerifyScopesReturnedInUserInfoClaims: ${claim} for scope ${scope}`);
        else assert.equal(info[claim], undefined, `${claim} only with scope ${scope}`);
      }
    }
    if (scopes.includes('profile')) {
      assert.equal(info.name, PROFILE.name);
      assert.equal(info.preferred_username, ada.username);
    }
    if (scopes.includes('email')) assert.equal(info.email, PROFILE.email);
    if (scopes.includes('address')) assert.equal((info.address as { locality?: string }).locality, PROFILE.address.locality);
    if (scopes.includes('phone')) assert.equal(info.phone_number, PROFILE.phone_number);
    // With an access token issued, the scope claims come from UserInfo, not the ID Token (Core §5.4).
    for (const claim of ['name', 'email', 'address', 'phone_number']) assert.equal(signedIn.claims[claim], undefined);
  }

  it('oidcc-scope-profile', () => scopeModule(['profile']));
  it('oidcc-scope-email', () => scopeModule(['email']));
  it('oidcc-scope-address', () => scopeModule(['address']));
  it('oidcc-scope-phone', () => scopeModule(['phone']));
  it('oidcc-scope-all', () => scopeModule(['address', 'email', 'phone', 'profile']));

  it('oidcc-ensure-other-scope-order-succeeds', async () => {
    const signedIn = await signIn(new FormBrowser(issuer), { params: { scope: 'email openid' } });
    await standardIdTokenChecks(signedIn);
    assert.equal((await validUserInfo(await userinfo(signedIn.tokens.access_token), signedIn.claims)).email, PROFILE.email);
  });

  it('oidcc-alternate-happy-flow', async () => {
    // The scopes reversed and the query parameters in another order (RFC 6749 §3.3: order does not matter).
    const config = rpFor(main);
    const state = client.randomState();
    const nonce = client.randomNonce();
    const verifier = client.randomPKCECodeVerifier();
    const url = new URL(String(metadata.authorization_endpoint));
    for (const [name, value] of [
      ['code_challenge_method', 'S256'],
      ['nonce', nonce],
      ['code_challenge', await client.calculatePKCECodeChallenge(verifier)],
      ['state', state],
      ['scope', 'profile phone email openid'],
      ['redirect_uri', rp.redirectUri],
      ['client_id', main.clientId],
      ['response_type', 'code'],
    ]) {
      url.searchParams.set(String(name), String(value));
    }
    const walked = await new FormBrowser(issuer).authorize(url, { user: user(ada) });
    assert.ok(walked.location);
    const tokens = await client.authorizationCodeGrant(config, walked.location, {
      expectedState: state,
      expectedNonce: nonce,
      pkceCodeVerifier: verifier,
      idTokenExpected: true,
    });
    assert.equal((tokens.claims() as IdTokenClaims).sub, ada.userId);
  });

  it('oidcc-display-page', async () => {
    const signedIn = await signIn(new FormBrowser(issuer), { params: { display: 'page' } });
    assert.equal(signedIn.walked.pages[0], 'login', 'a normal login page');
  });

  it('oidcc-display-popup', async () => {
    const signedIn = await signIn(new FormBrowser(issuer), { params: { display: 'popup' } });
    assert.equal(signedIn.walked.pages[0], 'login', 'a login page (Gatehouse shows one layout for both)');
  });

  it('oidcc-prompt-login', async () => {
    const browser = new FormBrowser(issuer);
    const first = await signIn(browser);
    clock.advance(2_000);
    // prompt=login: the login page again although the session is live (ExpectSecondLoginPage).
    const again = await signIn(browser, { params: { prompt: 'login' } });
    assert.equal(again.walked.pages[0], 'login', 'the user is asked to sign in again');
    assert.equal(again.claims.sub, first.claims.sub);
    assert.ok(first.claims.auth_time !== undefined && again.claims.auth_time !== undefined);
    assert.ok(again.claims.auth_time > first.claims.auth_time, 'CheckSecondIdTokenAuthTimeIsLaterIfPresent');
  });

  it('oidcc-prompt-none-not-logged-in', async () => {
    const { url, state } = request(rpFor(main), { prompt: 'none' });
    const params = errorResponse(await new FormBrowser(issuer).authorize(url), state);
    assert.ok(UI_REQUIRED.includes(String(params.get('error'))), `Core §3.1.2.6: ${params.get('error')}`);
    assert.equal(params.get('error'), 'login_required');
  });

  it('oidcc-prompt-none-logged-in', async () => {
    const browser = new FormBrowser(issuer);
    const first = await signIn(browser);
    const silent = await signIn(browser, { params: { prompt: 'none' }, pages: [] });
    assert.equal(silent.claims.sub, first.claims.sub, 'CheckIdTokenSubConsistentForSecondAuthorization');
    assert.equal(silent.claims.auth_time, first.claims.auth_time, 'CheckIdTokenAuthTimeClaimsSameIfPresent');
  });

  it('oidcc-max-age-1', async () => {
    const browser = new FormBrowser(issuer);
    const first = await signIn(browser);
    // The suite waits; the server's clock is moved instead.
    clock.advance(2_000);
    const again = await signIn(browser, { params: { max_age: '1' } });
    assert.equal(again.walked.pages[0], 'login', 'ExpectSecondLoginPage: max_age=1 has passed, so the user signs in again');
    assert.equal(typeof again.claims.auth_time, 'number', 'CheckIdTokenAuthTimeClaimPresentDueToMaxAge');
    assert.ok(Number(again.claims.auth_time) > Number(first.claims.auth_time), 'CheckSecondIdTokenAuthTimeIsLaterIfPresent');
    assert.ok(Math.abs(Number(again.claims.auth_time) - clock.now() / 1000) < 60, 'CheckIdTokenAuthTimeIsRecentIfPresent');
  });

  it('oidcc-max-age-10000', async () => {
    const browser = new FormBrowser(issuer);
    const first = await signIn(browser, { params: { max_age: '15000' } });
    assert.equal(typeof first.claims.auth_time, 'number', 'CheckIdTokenAuthTimeClaimPresentDueToMaxAge');
    clock.advance(2_000);
    const again = await signIn(browser, { params: { max_age: '10000' }, pages: [] });
    assert.equal(typeof again.claims.auth_time, 'number');
    assert.equal(again.claims.auth_time, first.claims.auth_time);
    assert.equal(again.claims.sub, first.claims.sub);
  });

  it('oidcc-ensure-request-with-unknown-parameter-succeeds', async () => {
    const signedIn = await signIn(new FormBrowser(issuer), { params: { extra: 'foobar' } });
    await standardIdTokenChecks(signedIn);
  });

  it('oidcc-id-token-hint', async () => {
    const browser = new FormBrowser(issuer);
    const first = await signIn(browser);
    const again = await signIn(browser, { params: { prompt: 'none', id_token_hint: String(first.tokens.id_token) }, pages: [] });
    assert.equal(again.claims.sub, first.claims.sub);
    assert.equal(again.claims.auth_time, first.claims.auth_time);
  });

  it('oidcc-login-hint', async () => {
    const signedIn = await signIn(new FormBrowser(issuer), { params: { login_hint: buffy.username }, who: buffy });
    assert.equal(signedIn.walked.pages[0], 'login');
    const field = /<input[^>]*name="username"[^>]*>/.exec(String(signedIn.walked.loginHtml))?.[0] ?? '';
    assert.match(field, new RegExp(`value="${buffy.username.replace(/\./g, '\\.')}"`), 'the login page is pre-filled with the hint');
    assert.equal(signedIn.claims.sub, buffy.userId);
  });

  it('oidcc-ui-locales', async () => {
    const signedIn = await signIn(new FormBrowser(issuer), { params: { ui_locales: 'se' } });
    assert.equal(signedIn.walked.pages[0], 'login', 'the login page showed without an error');
  });

  it('oidcc-claims-locales', async () => {
    const signedIn = await signIn(new FormBrowser(issuer), { params: { claims_locales: 'se', scope: 'openid profile' } });
    await validUserInfo(await userinfo(signedIn.tokens.access_token), signedIn.claims);
  });

  it('oidcc-ensure-request-with-acr-values-succeeds', async () => {
    const values = metadata.acr_values_supported?.length ? metadata.acr_values_supported : ['1', '2'];
    const signedIn = await signIn(new FormBrowser(issuer), { params: { acr_values: values.join(' ') } });
    if (signedIn.claims.acr !== undefined) assert.ok(values.includes(signedIn.claims.acr), `acr ${signedIn.claims.acr}`);
  });

  /** Presents a used code again (AbstractOIDCCAuthCodeReuse): 400 invalid_grant in JSON. */
  async function reuseCode(callback: URL): Promise<void> {
    const response = await fetch(String(metadata.token_endpoint), {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(main.clientId)}:${encodeURIComponent(main.clientSecret)}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: String(callback.searchParams.get('code')), redirect_uri: rp.redirectUri }).toString(),
    });
    assert.equal(response.status, 400);
    assert.match(String(response.headers.get('content-type')), /^application\/json/);
    const body = (await response.json()) as { error: string; error_description?: string };
    assert.equal(body.error, 'invalid_grant');
    assert.doesNotMatch(body.error_description ?? '', /[\r\n\t]/);
  }

  it('oidcc-codereuse', async () => {
    const signedIn = await signIn(new FormBrowser(issuer));
    await reuseCode(signedIn.callback);
  });

  it('oidcc-codereuse-30seconds', async () => {
    const signedIn = await signIn(new FormBrowser(issuer));
    assert.equal((await userinfo(signedIn.tokens.access_token)).status, 200);
    clock.advance(30_000);
    await reuseCode(signedIn.callback);
    // RFC 6749 §4.1.2: the tokens issued for the code should be revoked.
    const after = await userinfo(signedIn.tokens.access_token);
    assert.equal(after.status, 401, 'the access token issued for the replayed code no longer works');
    assert.match(String(after.headers.get('www-authenticate')), /^Bearer .*error="invalid_token"/);
  });

  it('oidcc-ensure-registered-redirect-uri', async () => {
    const { url } = request(rpFor(main), { redirect_uri: `${rp.redirectUri}/unregistered` });
    const walked = await new FormBrowser(issuer).authorize(url, { user: user(ada) });
    errorPage(walked);
    assert.equal(rp.received.filter((r) => r.url.pathname.startsWith('/callback/unregistered')).length, 0);
  });

  it('oidcc-server-client-secret-post', async () => {
    const signedIn = await signIn(new FormBrowser(issuer), { auth: 'post' });
    await standardIdTokenChecks(signedIn);
    assert.ok((metadata.token_endpoint_auth_methods_supported ?? []).includes('client_secret_post'));
  });

  it('oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported', async () => {
    // Skipped by the suite unless discovery offers unsigned request objects; Gatehouse offers none
    // and answers request_uri_not_supported (Core §3.1.2.6).
    assert.notEqual(metadata.request_uri_parameter_supported, true);
    // Set on the URL directly: openid-client builds a request-object request with its client_id alone.
    const { url, state } = request(rpFor(main));
    url.searchParams.set('request_uri', `${rp.url}/request.jwt`);
    const params = errorResponse(await new FormBrowser(issuer).authorize(url, { user: user(ada) }), state);
    assert.equal(params.get('error'), 'request_uri_not_supported');
  });

  it('oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported', async () => {
    assert.notEqual(metadata.request_parameter_supported, true);
    const requestObject = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ iss: main.clientId, aud: issuer, response_type: 'code', client_id: main.clientId, scope: 'openid', redirect_uri: rp.redirectUri }),
    ).toString('base64url')}.`;
    const { url, state } = request(rpFor(main));
    url.searchParams.set('request', requestObject);
    const params = errorResponse(await new FormBrowser(issuer).authorize(url, { user: user(ada) }), state);
    assert.equal(params.get('error'), 'request_not_supported', 'Core §3.1.2.6: processed, or refused as unsupported, never ignored');
  });

  it('oidcc-ensure-request-object-with-redirect-uri', async () => {
    // The request object names another redirect_uri than the query; unsupported request objects
    // are refused at the query's (registered) redirect URI.
    const requestObject = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ client_id: main.clientId, response_type: 'code', scope: 'openid', redirect_uri: `${rp.url}/elsewhere` }),
    ).toString('base64url')}.`;
    const { url, state } = request(rpFor(main));
    url.searchParams.set('request', requestObject);
    const params = errorResponse(await new FormBrowser(issuer).authorize(url, { user: user(ada) }), state);
    assert.equal(params.get('error'), 'request_not_supported');
  });

  it('oidcc-claims-essential', async () => {
    const claims = JSON.stringify({ userinfo: { name: { essential: true } } });
    const signedIn = await signIn(new FormBrowser(issuer), { params: { claims } });
    const info = await validUserInfo(await userinfo(signedIn.tokens.access_token), signedIn.claims);
    // Without claims_parameter_supported the parameter is ignored: the suite then warns that no name came back.
    if (metadata.claims_parameter_supported === true) assert.equal(info.name, PROFILE.name);
  });

  it('oidcc-refresh-token', async () => {
    // offline_access with prompt=consent (AddPromptConsentToAuthorizationEndpointRequestIfScopeContainsOfflineAccess).
    const scope = (metadata.scopes_supported ?? []).includes('offline_access') ? 'openid offline_access' : 'openid';
    const browser = new FormBrowser(issuer);
    const first = await signIn(browser, { params: { scope, prompt: 'consent' }, pages: ['login', 'consent'] });
    assert.ok(first.tokens.refresh_token, 'a refresh token');
    assert.match(first.tokens.refresh_token, VSCHAR, 'EnsureRefreshTokenContainsAllowedCharactersOnly');
    assert.ok((metadata.grant_types_supported ?? []).includes('refresh_token'), 'EnsureServerConfigurationSupportsRefreshToken');
    const { refreshed, claims } = await refreshAndCheck(rpFor(main), first);
    await validUserInfo(await userinfo(refreshed.access_token), claims);
    // Client 2's refresh token presented by client 1: refused (RefreshTokenRequestExpectingErrorSteps).
    const other = await signIn(browser, { registered: second, params: { scope, prompt: 'consent' }, pages: ['consent'] });
    await assert.rejects(client.refreshTokenGrant(rpFor(main), String(other.tokens.refresh_token)), (error: unknown) => {
      assert.ok(error instanceof client.ResponseBodyError, String(error));
      assert.equal(error.error, 'invalid_grant');
      return true;
    });
  });

  it('oidcc-ensure-request-with-valid-pkce-succeeds', async () => {
    // Every flow here sends PKCE; this one also checks that the verifier is enforced.
    const signedIn = await signIn(new FormBrowser(issuer));
    await standardIdTokenChecks(signedIn);
    const config = rpFor(main);
    const { url, state, nonce } = request(config);
    const walked = await new FormBrowser(issuer).authorize(url, { user: user(ada) });
    assert.ok(walked.location);
    await assert.rejects(
      client.authorizationCodeGrant(config, walked.location, {
        expectedState: state,
        expectedNonce: String(nonce),
        pkceCodeVerifier: client.randomPKCECodeVerifier(),
        idTokenExpected: true,
      }),
      (error: unknown) => error instanceof client.ResponseBodyError && error.error === 'invalid_grant',
    );
  });

  it('oidcc-ensure-post-request-succeeds', async () => {
    // Core §3.1.2.1: the authorization endpoint MUST support POST (form-serialized parameters).
    const config = rpFor(main);
    const { url, state, nonce, verifier } = request(config);
    const endpoint = new URL(String(metadata.authorization_endpoint));
    const walked = await new FormBrowser(issuer).authorize(endpoint, { user: user(ada), form: Object.fromEntries(url.searchParams) });
    assert.ok(walked.location, `POST /authorize answered ${walked.page?.status}: ${walked.page?.html.slice(0, 200)}`);
    const tokens = await client.authorizationCodeGrant(config, walked.location, {
      expectedState: state,
      expectedNonce: String(nonce),
      pkceCodeVerifier: verifier,
      idTokenExpected: true,
    });
    assert.equal((tokens.claims() as IdTokenClaims).sub, ada.userId);
  });

  // ── RP-Initiated Logout OP ───────────────────────────────────────────────────────────────

  it('oidcc-rp-initiated-logout-discovery-endpoint-verification', () => {
    assert.ok(metadata.end_session_endpoint, 'end_session_endpoint');
    assert.ok(String(metadata.end_session_endpoint).startsWith(`${issuer}/`));
  });

  it('oidcc-rp-initiated-logout', async () => {
    const browser = new FormBrowser(issuer);
    // A long state, to check the OP does not corrupt it.
    const signedIn = await signIn(browser);
    const state = randomBytes(96).toString('base64url');
    const config = rpFor(main);
    const url = client.buildEndSessionUrl(config, {
      id_token_hint: String(signedIn.tokens.id_token),
      post_logout_redirect_uri: rp.postLogoutRedirectUri,
      state,
    });
    const out = await logOut(browser, Object.fromEntries(url.searchParams));
    assert.ok(out.location, 'sent back to the post-logout redirect URI');
    assert.equal(`${out.location.origin}${out.location.pathname}`, rp.postLogoutRedirectUri);
    assert.equal(out.location.searchParams.get('state'), state, 'CheckPostLogoutState');
    assert.deepEqual([...out.location.searchParams.keys()], ['state'], 'CheckForUnexpectedParametersInPostLogoutRedirect');
    await assertLoggedOut(browser);
  });

  it('oidcc-rp-initiated-logout-bad-post-logout-redirect-uri', async () => {
    const browser = new FormBrowser(issuer);
    const signedIn = await signIn(browser);
    await assertNoRedirectBack(browser, {
      id_token_hint: String(signedIn.tokens.id_token),
      post_logout_redirect_uri: `${rp.url}/not-registered`,
      state: client.randomState(),
    });
  });

  it('oidcc-rp-initiated-logout-modified-id-token-hint', async () => {
    const browser = new FormBrowser(issuer);
    const signedIn = await signIn(browser);
    const [, payload] = String(signedIn.tokens.id_token).split('.');
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    await assertNoRedirectBack(browser, { id_token_hint: unsigned, post_logout_redirect_uri: rp.postLogoutRedirectUri, state: client.randomState() });
  });

  it('oidcc-rp-initiated-logout-bad-id-token-hint', async () => {
    const browser = new FormBrowser(issuer);
    const signedIn = await signIn(browser);
    // The same claims, signed by a key the OP never published.
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const kid = (await exportJWK(publicKey)).n?.slice(0, 16) ?? 'foreign';
    const forged = await new SignJWT(decodeJwt(String(signedIn.tokens.id_token))).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(privateKey);
    await assertNoRedirectBack(browser, { id_token_hint: forged, post_logout_redirect_uri: rp.postLogoutRedirectUri, state: client.randomState() });
  });

  it('oidcc-rp-initiated-logout-no-id-token-hint', async () => {
    const browser = new FormBrowser(issuer);
    await signIn(browser);
    await assertNoRedirectBack(browser, { post_logout_redirect_uri: rp.postLogoutRedirectUri, state: client.randomState() });
  });

  it('oidcc-rp-initiated-logout-no-params', async () => {
    const browser = new FormBrowser(issuer);
    await signIn(browser);
    const out = await logOut(browser, {});
    assert.equal(out.location === undefined || !out.location.href.startsWith(rp.url), true, 'no redirect to the client without a hint');
    assert.match(out.html, /<html/i, 'a "you are logged out" page');
    await assertLoggedOut(browser);
  });

  it('oidcc-rp-initiated-logout-no-post-logout-redirect-uri', async () => {
    const browser = new FormBrowser(issuer);
    const signedIn = await signIn(browser);
    const out = await logOut(browser, { id_token_hint: String(signedIn.tokens.id_token) });
    assert.equal(out.location === undefined || !out.location.href.startsWith(rp.url), true, 'nowhere to send the browser back to');
    assert.match(out.html, /<html/i, 'a "you are logged out" page');
    await assertLoggedOut(browser);
  });

  it('oidcc-rp-initiated-logout-no-state', async () => {
    const browser = new FormBrowser(issuer);
    const signedIn = await signIn(browser);
    const out = await logOut(browser, { id_token_hint: String(signedIn.tokens.id_token), post_logout_redirect_uri: rp.postLogoutRedirectUri });
    assert.ok(out.location);
    assert.equal(out.location.href, rp.postLogoutRedirectUri, 'no state added');
    await assertLoggedOut(browser);
  });

  it('oidcc-rp-initiated-logout-only-state', async () => {
    const browser = new FormBrowser(issuer);
    await signIn(browser);
    const out = await logOut(browser, { state: client.randomState() });
    assert.equal(out.location === undefined || !out.location.href.startsWith(rp.url), true);
    assert.match(out.html, /<html/i);
    await assertLoggedOut(browser);
  });

  it('oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri', async () => {
    const browser = new FormBrowser(issuer);
    const signedIn = await signIn(browser);
    await assertNoRedirectBack(browser, {
      id_token_hint: String(signedIn.tokens.id_token),
      post_logout_redirect_uri: `${rp.postLogoutRedirectUri}?foo=bar`,
      state: client.randomState(),
    });
  });

  // ── Back-Channel Logout OP ───────────────────────────────────────────────────────────────

  it('oidcc-backchannel-logout-discovery-endpoint-verification', () => {
    assert.equal(metadata.backchannel_logout_supported, true, 'CheckDiscEndpointBackchannelLogoutSupported');
    assert.equal(metadata.backchannel_logout_session_supported, true, 'CheckDiscEndpointBackchannelLogoutSessionSupported (required for certification)');
    assert.ok(metadata.end_session_endpoint);
  });

  it('oidcc-backchannel-rp-initiated-logout', async () => {
    // The client is registered with backchannel_logout_session_required: the token must carry sid.
    const browser = new FormBrowser(issuer);
    const signedIn = await signIn(browser);
    assert.ok(signedIn.claims.sid, 'the ID Token carries the session id (backchannel_logout_session_supported)');
    const from = rp.received.length;
    const state = client.randomState();
    const out = await logOut(browser, { id_token_hint: String(signedIn.tokens.id_token), post_logout_redirect_uri: rp.postLogoutRedirectUri, state });
    assert.equal(out.location?.searchParams.get('state'), state, 'CheckPostLogoutState');
    const token = await logoutTokenFor(rp, main.clientId, { from, sid: String(signedIn.claims.sid) });
    const claims = await verifyLogoutToken(token, jwks, issuer, main.clientId, new Date(clock.now()));
    assert.equal(claims.sid, signedIn.claims.sid, 'CheckIdTokenSidMatchesLogoutToken');
    // backchannel_logout_session_required: every logout token this client got carries a sid.
    for (const other of rp.logoutTokens().filter((t) => [decodeJwt(t).aud].flat().includes(main.clientId))) {
      assert.equal(typeof decodeJwt(other).sid, 'string');
    }
    if (claims.sub !== undefined) assert.equal(claims.sub, signedIn.claims.sub, 'CheckIdTokenSubMatchesLogoutToken');
    assert.deepEqual(Object.keys(claims.events as object), [BACKCHANNEL_LOGOUT_EVENT]);
    await assertLoggedOut(browser);
  });
});
