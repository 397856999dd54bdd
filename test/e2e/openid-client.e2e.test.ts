import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as client from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { testDatabases } from '../helpers/databases.ts';
import {
  browserSignIn,
  type CliServer,
  createOidcClientAndUser,
  type IdTokenClaims,
  launchChromium,
  logoutTokenFor,
  PROFILE,
  RelyingPartyServer,
  startCliServer,
  verifyLogoutToken,
  WAIT_MS,
} from '../helpers/openid-e2e.ts';

/*
 * OpenID Connect sign-in with openid-client (an OpenID Certified relying party) in Chromium, on
 * Gatehouse's real login and consent pages: discovery, the code flow with PKCE and nonce, the ID
 * Token (RS256 by default, ES256 for a client registered for it), UserInfo, refresh (a new ID
 * Token, Core §12.2), RP-Initiated Logout with id_token_hint, post_logout_redirect_uri and state,
 * and the Back-Channel Logout token at the relying party's own endpoint. Once on
 * `gatehouse serve --dev` (SQLite), once on `gatehouse serve` over PostgreSQL.
 */

const PASSWORD = 'correct horse battery staple';
const SCOPE = 'openid profile email address phone offline_access';
const databases = (await testDatabases()).map((d) => d.name);

interface SignedIn {
  config: client.Configuration;
  tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
  claims: IdTokenClaims;
}

describe('openid-client signs in through Gatehouse in Chromium', () => {
  let browser: Browser | undefined;

  before(async () => {
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
  });

  for (const database of ['sqlite', 'postgres'] as const) {
    describe(`on ${database === 'sqlite' ? '`serve --dev` (SQLite)' : '`serve` over PostgreSQL'}`, {
      skip: !databases.includes(database) && 'PostgreSQL is not reachable',
    }, () => {
      const rp = new RelyingPartyServer();
      const user = { username: `ada-${database}`, password: PASSWORD };
      let server: CliServer;
      let context: BrowserContext;
      let page: Page;
      let rs256: { clientId: string; clientSecret: string };
      let es256: { clientId: string; clientSecret: string };
      let userId: string;
      let jwks: ReturnType<typeof createRemoteJWKSet>;
      let first: SignedIn;
      let refreshed: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
      let second: SignedIn;

      before(async () => {
        await rp.start();
        server = await startCliServer(database);
        const created = await createOidcClientAndUser(server, rp, { ...user, clientName: 'Ledger (RS256)' });
        rs256 = created;
        userId = created.userId ?? '';
        es256 = await createOidcClientAndUser(server, rp, { ...user, clientName: 'Ledger (ES256)', alg: 'ES256', withUser: false });
        assert.ok(browser);
        context = await browser.newContext({ locale: 'en-US' });
        context.setDefaultTimeout(WAIT_MS);
        page = await context.newPage();
      });

      after(async () => {
        await context?.close().catch(() => undefined);
        await server?.stop();
        await rp.stop();
      });

      /** openid-client's configuration for a client, from discovery (OpenID Connect Discovery 1.0 §4). */
      async function discover(registered: { clientId: string; clientSecret: string }, alg?: 'ES256'): Promise<client.Configuration> {
        const config = await client.discovery(
          new URL(server.issuer),
          registered.clientId,
          { client_secret: registered.clientSecret, ...(alg ? { id_token_signed_response_alg: alg } : {}) },
          client.ClientSecretBasic(registered.clientSecret),
          { execute: [client.allowInsecureRequests] },
        );
        // The ID Token's signature is checked too, not only its claims (Core §3.1.3.7 step 6 allows skipping it).
        client.enableNonRepudiationChecks(config);
        return config;
      }

      /** The code flow with PKCE (S256), nonce and state, in the browser; openid-client redeems and validates. */
      async function signIn(config: client.Configuration, expectedPages: string[]): Promise<SignedIn> {
        const verifier = client.randomPKCECodeVerifier();
        const nonce = client.randomNonce();
        const state = client.randomState();
        const url = client.buildAuthorizationUrl(config, {
          redirect_uri: rp.redirectUri,
          scope: SCOPE,
          code_challenge: await client.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          nonce,
          state,
          // Core §11: offline_access is honoured with prompt=consent.
          prompt: 'consent',
        });
        const { callback, pages } = await browserSignIn(page, url, rp, user);
        assert.deepEqual(pages, expectedPages);
        assert.equal(callback.searchParams.get('iss'), server.issuer, 'RFC 9207 iss');
        const tokens = await client.authorizationCodeGrant(config, callback, {
          pkceCodeVerifier: verifier,
          expectedNonce: nonce,
          expectedState: state,
          idTokenExpected: true,
        });
        const claims = tokens.claims() as IdTokenClaims | undefined;
        assert.ok(claims, 'an ID Token came with the tokens');
        return { config, tokens, claims };
      }

      it('discovers the issuer: OpenID configuration with UserInfo, end session, back-channel logout and RS256', async () => {
        const config = await discover(rs256);
        const metadata = config.serverMetadata();
        assert.equal(metadata.issuer, server.issuer);
        assert.equal(metadata.userinfo_endpoint, `${server.issuer}/userinfo`);
        assert.ok(metadata.end_session_endpoint?.startsWith(server.issuer), String(metadata.end_session_endpoint));
        assert.ok(metadata.id_token_signing_alg_values_supported?.includes('RS256'), 'RS256 (Core §15.1)');
        assert.ok(metadata.id_token_signing_alg_values_supported?.includes('ES256'));
        assert.equal(metadata.backchannel_logout_supported, true);
        assert.equal(metadata.backchannel_logout_session_supported, true);
        for (const scope of SCOPE.split(' ')) assert.ok(metadata.scopes_supported?.includes(scope), `scopes_supported has ${scope}`);
        jwks = createRemoteJWKSet(new URL(String(metadata.jwks_uri)));
      });

      it('signs in with PKCE and nonce on the login and consent pages: an RS256 ID Token', async () => {
        first = await signIn(await discover(rs256), ['login', 'consent']);
        const { claims, tokens } = first;
        assert.equal(claims.iss, server.issuer);
        assert.equal(claims.sub, userId);
        assert.deepEqual([claims.aud].flat(), [rs256.clientId]);
        assert.equal(typeof claims.auth_time, 'number');
        assert.ok(claims.iat >= (claims.auth_time ?? 0));
        assert.ok(claims.exp > claims.iat);
        assert.match(String(claims.sid), /^[A-Za-z0-9_-]{16,}$/, 'a session id for logout');
        assert.ok(claims.at_hash, 'at_hash');
        assert.deepEqual(claims.amr, ['pwd']);
        const header = decodeProtectedHeader(String(tokens.id_token));
        assert.equal(header.alg, 'RS256');
        assert.notEqual(header.typ, 'at+jwt', 'an ID Token is not an access token');
        // The same token verifies with jose against the JWKS; the access token is not taken for it.
        await jwtVerify(String(tokens.id_token), jwks, { issuer: server.issuer, audience: rs256.clientId, algorithms: ['RS256'] });
        await assert.rejects(jwtVerify(String(tokens.id_token), jwks, { typ: 'at+jwt' }));
        assert.ok(tokens.refresh_token, 'offline_access granted: a refresh token');
        assert.equal(tokens.scope?.split(' ').sort().join(' '), SCOPE.split(' ').sort().join(' '));
      });

      it('reads UserInfo: sub and the claims of the granted scopes (Core §5.3, §5.4)', async () => {
        const info = await client.fetchUserInfo(first.config, first.tokens.access_token, first.claims.sub);
        assert.equal(info.sub, userId);
        assert.equal(info.email, PROFILE.email);
        assert.equal(info.email_verified, true);
        assert.equal(info.name, PROFILE.name);
        assert.equal(info.given_name, PROFILE.given_name);
        assert.equal(info.family_name, PROFILE.family_name);
        assert.equal(info.preferred_username, user.username);
        assert.equal(info.locale, PROFILE.locale);
        assert.equal(info.zoneinfo, PROFILE.zoneinfo);
        assert.equal(info.phone_number, PROFILE.phone_number);
        assert.equal(info.phone_number_verified, true);
        assert.deepEqual({ ...info.address, formatted: undefined }, { ...PROFILE.address, formatted: undefined });
      });

      it('refreshes: a new ID Token for the same authentication (Core §12.2)', async () => {
        refreshed = await client.refreshTokenGrant(first.config, String(first.tokens.refresh_token));
        assert.ok(refreshed.id_token, 'Core §12.2: a refresh of an OpenID grant returns a new ID Token');
        assert.notEqual(refreshed.id_token, first.tokens.id_token);
        assert.notEqual(refreshed.refresh_token, first.tokens.refresh_token, 'the refresh token rotates');
        const claims = refreshed.claims() as IdTokenClaims;
        assert.equal(claims.iss, first.claims.iss);
        assert.equal(claims.sub, first.claims.sub);
        assert.deepEqual(claims.aud, first.claims.aud);
        assert.equal(claims.auth_time, first.claims.auth_time, 'auth_time is the original authentication');
        assert.ok(claims.iat >= first.claims.iat);
        assert.ok(claims.nonce === undefined || claims.nonce === first.claims.nonce, 'no nonce, or the original one');
        assert.equal(claims.azp, first.claims.azp);
        assert.equal(decodeProtectedHeader(refreshed.id_token).alg, 'RS256');
        const info = await client.fetchUserInfo(first.config, refreshed.access_token, claims.sub);
        assert.equal(info.sub, userId);
      });

      it('a client registered with id_token_signed_response_alg ES256 gets an ES256 ID Token, without a second login', async () => {
        // The browser is signed in already: only this client's consent page shows.
        second = await signIn(await discover(es256, 'ES256'), ['consent']);
        assert.equal(decodeProtectedHeader(String(second.tokens.id_token)).alg, 'ES256');
        await jwtVerify(String(second.tokens.id_token), jwks, { issuer: server.issuer, audience: es256.clientId, algorithms: ['ES256'] });
        assert.equal(second.claims.sub, userId);
        assert.equal(second.claims.sid, first.claims.sid, 'the same browser session');
        assert.equal(second.claims.auth_time, first.claims.auth_time, 'the same authentication');
      });

      it('logs out RP-initiated; each client gets a back-channel logout token for the session', async () => {
        const from = rp.received.length;
        const state = client.randomState();
        const endSession = client.buildEndSessionUrl(first.config, {
          id_token_hint: String(refreshed.id_token),
          post_logout_redirect_uri: rp.postLogoutRedirectUri,
          state,
        });
        const back = rp.next('/post-logout');
        await page.goto(endSession.href);
        // RP-Initiated Logout §2: the OP may ask the user to confirm even with a valid hint.
        if (!page.url().startsWith(rp.postLogoutRedirectUri)) {
          await page
            .getByRole('button', { name: /log ?out|sign ?out|yes/i })
            .first()
            .click();
        }
        const arrived = await back;
        assert.equal(arrived.url.searchParams.get('state'), state, 'state comes back (RP-Initiated Logout §3)');
        assert.deepEqual([...arrived.url.searchParams.keys()], ['state']);

        for (const signedIn of [first, second]) {
          const clientId = String([signedIn.claims.aud].flat()[0]);
          const token = await logoutTokenFor(rp, clientId, { from, sid: String(first.claims.sid) });
          const claims = await verifyLogoutToken(token, jwks, server.issuer, clientId);
          assert.equal(claims.sid, first.claims.sid, 'sid is the ID Token’s (the client asked for it: backchannel_logout_session_required)');
          if (claims.sub !== undefined) assert.equal(claims.sub, signedIn.claims.sub);
        }

        // The browser session is over: prompt=none now answers login_required (Core §3.1.2.6).
        const state2 = client.randomState();
        const silent = client.buildAuthorizationUrl(first.config, {
          redirect_uri: rp.redirectUri,
          scope: 'openid',
          prompt: 'none',
          state: state2,
          nonce: client.randomNonce(),
          code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
          code_challenge_method: 'S256',
        });
        const callback = rp.next('/callback');
        await page.goto(silent.href);
        const answer = (await callback).url;
        assert.equal(answer.searchParams.get('error'), 'login_required');
        assert.equal(answer.searchParams.get('state'), state2);
        assert.equal(answer.searchParams.get('code'), null);
      });
    });
  }
});
