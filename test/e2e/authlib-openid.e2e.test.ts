import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createRemoteJWKSet } from 'jose';
import { testDatabases } from '../helpers/databases.ts';
import { ROOT } from '../helpers/dev-server.ts';
import {
  type CliServer,
  createOidcClientAndUser,
  type IdTokenClaims,
  logoutTokenFor,
  PROFILE,
  RelyingPartyServer,
  startCliServer,
  verifyLogoutToken,
} from '../helpers/openid-e2e.ts';

/*
 * OpenID Connect sign-in driven from Python: Authlib (Debian's python3-authlib) is the relying
 * party and validates the ID Tokens with authlib.jose against the JWKS, requests plays the
 * browser on Gatehouse's login and consent pages (test/e2e/authlib_openid.py). The test runs the
 * relying party's back-channel logout endpoint and checks the logout token that reaches it when
 * the script ends the session. On `serve --dev` (SQLite) and `serve` over PostgreSQL, for a
 * client on the default RS256 and one registered for ES256.
 */

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(ROOT, 'test', 'e2e', 'authlib_openid.py');
const PASSWORD = 'correct horse battery staple';
const run = promisify(execFile);
const databases = (await testDatabases()).map((d) => d.name);

interface ValidatedIdToken {
  header: { alg: string; kid?: string; typ?: string };
  claims: IdTokenClaims;
}

interface Summary {
  pages: string[];
  token_type: string;
  scope: string;
  has_refresh_token: boolean;
  id_token: ValidatedIdToken;
  userinfo_get: Record<string, unknown>;
  userinfo_post: Record<string, unknown>;
  refreshed_id_token: ValidatedIdToken;
  refresh_token_rotated: boolean;
  logout_confirmation_page: boolean;
  post_logout_redirect: string;
  end_state: string;
  prompt_none_after_logout: Record<string, string>;
  prompt_none_state_ok: boolean;
}

describe('Authlib signs in through Gatehouse with OpenID Connect', () => {
  before(async () => {
    const probe = await run(PYTHON, ['-c', 'import authlib.oidc.core, authlib.jose, requests']).then(
      () => undefined,
      (error: Error) => error.message,
    );
    if (probe !== undefined) assert.fail(`${PYTHON} cannot import authlib and requests (apt-get install python3-authlib python3-requests): ${probe}`);
  });

  for (const database of ['sqlite', 'postgres'] as const) {
    describe(`on ${database === 'sqlite' ? '`serve --dev` (SQLite)' : '`serve` over PostgreSQL'}`, {
      skip: !databases.includes(database) && 'PostgreSQL is not reachable',
    }, () => {
      const rp = new RelyingPartyServer();
      let server: CliServer;

      before(async () => {
        await rp.start();
        server = await startCliServer(database);
      });

      after(async () => {
        await server?.stop();
        await rp.stop();
      });

      for (const alg of ['RS256', 'ES256'] as const) {
        it(`code flow with nonce and PKCE, ${alg} ID Token checked by authlib.jose, UserInfo, refresh, end session, back-channel logout`, async () => {
          const username = `grace-${alg.toLowerCase()}`;
          const created = await createOidcClientAndUser(server, rp, {
            username,
            password: PASSWORD,
            clientName: `Python App (${alg})`,
            ...(alg === 'ES256' ? { alg } : {}),
          });
          const from = rp.received.length;
          const { stdout } = await run(
            PYTHON,
            [SCRIPT, server.issuer, created.clientId, created.clientSecret, username, rp.redirectUri, rp.postLogoutRedirectUri, alg],
            { timeout: 30_000, env: { PATH: process.env.PATH, GATEHOUSE_E2E_PASSWORD: PASSWORD } },
          ).catch((error: Error & { stderr?: string }) => {
            throw new Error(`${SCRIPT} failed: ${error.stderr ?? error.message}`);
          });
          const summary = JSON.parse(stdout) as Summary;

          assert.deepEqual(summary.pages, ['login', 'consent']);
          assert.equal(summary.token_type, 'Bearer');
          assert.equal(summary.has_refresh_token, true, 'offline_access with prompt=consent: a refresh token');

          // The ID Token authlib validated: alg, and the claims Core §2 names.
          const { header, claims } = summary.id_token;
          assert.equal(header.alg, alg);
          assert.ok(header.kid);
          assert.equal(claims.iss, server.issuer);
          assert.equal(claims.sub, created.userId);
          assert.deepEqual([claims.aud].flat(), [created.clientId]);
          assert.equal(typeof claims.auth_time, 'number');
          assert.equal(typeof claims.nonce, 'string');
          assert.ok(claims.at_hash);
          assert.equal(typeof claims.sid, 'string');

          // UserInfo, GET and POST: the same claims.
          assert.deepEqual(summary.userinfo_post, summary.userinfo_get);
          const info = summary.userinfo_get;
          assert.equal(info.sub, created.userId);
          assert.equal(info.email, PROFILE.email);
          assert.equal(info.name, PROFILE.name);
          assert.equal(info.phone_number, PROFILE.phone_number);
          assert.equal((info.address as Record<string, string>).locality, PROFILE.address.locality);

          // The refreshed ID Token (Core §12.2).
          const again = summary.refreshed_id_token;
          assert.equal(again.header.alg, alg);
          assert.equal(again.claims.sub, claims.sub);
          assert.deepEqual(again.claims.aud, claims.aud);
          assert.equal(again.claims.auth_time, claims.auth_time);
          assert.ok(again.claims.iat >= claims.iat);
          assert.equal(summary.refresh_token_rotated, true);

          // RP-Initiated Logout: back to the registered URI with the state, then prompt=none fails.
          const back = new URL(summary.post_logout_redirect);
          assert.equal(`${back.origin}${back.pathname}`, rp.postLogoutRedirectUri);
          assert.equal(back.searchParams.get('state'), summary.end_state);
          assert.equal(summary.prompt_none_after_logout.error, 'login_required');
          assert.equal(summary.prompt_none_after_logout.code, undefined);
          assert.equal(summary.prompt_none_state_ok, true);

          // Back-Channel Logout: the token for this client reached the endpoint the test runs.
          const discovered = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
          const jwks = createRemoteJWKSet(new URL(discovered.jwks_uri));
          const token = await logoutTokenFor(rp, created.clientId, { from, sid: String(claims.sid) });
          const logout = await verifyLogoutToken(token, jwks, server.issuer, created.clientId);
          assert.equal(logout.sid, claims.sid);
        });
      }
    });
  }
});
