import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { BIN, type DevServer, ROOT, startDevServer, within } from '../helpers/dev-server.ts';

/*
 * The authorization code flow driven from Python: Authlib (Debian's python3-authlib) is the client,
 * requests.Session plays the browser, against `gatehouse serve --dev` with a user and a client
 * created by the CLI. See test/e2e/authlib_code_flow.py.
 */

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(ROOT, 'test', 'e2e', 'authlib_code_flow.py');
const SCOPE = 'invoices:read invoices:write';
const USERNAME = 'bob';
const PASSWORD = 'correct horse battery staple';
// Nothing listens here: the script stops at the Location header of the last redirect.
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const run = promisify(execFile);
const insecure = { [oauth.allowInsecureRequests]: true } as const;

interface Summary {
  iss: string;
  state_ok: boolean;
  session_cookie: string;
  consent_scopes: string[];
  code_prefix: string;
  token_type: string;
  expires_in: number;
  scope: string;
  access_token: string;
  access_token_sub: string;
  refreshed: boolean;
  refreshed_scope: string;
  refreshed_access_token: string;
  refreshed_access_token_sub: string;
  reused_refresh_token_error: string | null;
}

describe('authorization code flow from Python (Authlib + requests) against `gatehouse serve --dev`', () => {
  let server: DevServer;
  let env: NodeJS.ProcessEnv;
  let issuer: URL;

  /** Runs the CLI against the server's data directory, `input` on its stdin; returns its parsed JSON output. */
  function cliJson<T>(args: string[], input = ''): Promise<T> {
    return within(
      new Promise<T>((resolve, reject) => {
        const cli = spawn(process.execPath, [BIN, ...args], { env, cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        cli.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
        });
        cli.stderr.on('data', (chunk: Buffer) => {
          err += chunk.toString();
        });
        cli.once('error', reject);
        cli.once('exit', (code) => {
          if (code === 0) resolve(JSON.parse(out) as T);
          else reject(new Error(`gatehouse ${args.join(' ')} exited ${code}: ${err}`));
        });
        cli.stdin.end(input);
      }),
      30_000,
      () => `gatehouse ${args.join(' ')}`,
    );
  }

  before(async () => {
    // The lowest scrypt cost: the CLI hashes with it, the server's dummy work for unknown users uses it.
    // Authlib presents the retired refresh token again with the same parameters a moment after its
    // rotation: with a grace period that is an exact retry (README: Codes and refresh tokens). This
    // node has none, so the replay meets reuse detection.
    server = await startDevServer({ GATEHOUSE_PASSWORD_HASH_COST: '10', GATEHOUSE_REFRESH_RETRY_GRACE: '0' });
    env = server.env;
    const listening = new RegExp(`Gatehouse is listening on (http://127\\.0\\.0\\.1:${server.port}) \\(development mode\\)[\\s\\S]*curl `);
    const match = await server.waitFor(listening, 'the banner');
    issuer = new URL(`${match[1]}/envs/DEVELOPMENT`);
  });

  after(async () => {
    await server?.stop();
  });

  it('signs in, consents, redeems the code with PKCE and refreshes with Authlib', async () => {
    const probe = await run(PYTHON, ['-c', 'import authlib, requests']).then(
      () => undefined,
      (error: Error) => error.message,
    );
    if (probe !== undefined) {
      assert.fail(`${PYTHON} cannot import authlib and requests (apt-get install python3-authlib python3-requests): ${probe}`);
    }

    const user = await cliJson<{ user_id: string }>(['user', 'create', '--env', 'DEVELOPMENT', '--username', USERNAME, '--password-stdin', '--json'], PASSWORD);
    assert.match(user.user_id, /^usr_/);
    const created = await cliJson<{ client_id: string; client_secret: string }>([
      'client',
      'create',
      '--env',
      'DEVELOPMENT',
      '--name',
      'Python App',
      '--scope',
      SCOPE,
      '--grant-type',
      'authorization_code',
      '--grant-type',
      'refresh_token',
      '--redirect-uri',
      REDIRECT_URI,
      '--json',
    ]);

    const { stdout: out } = await run(PYTHON, [SCRIPT, issuer.href, created.client_id, created.client_secret, USERNAME, REDIRECT_URI, SCOPE], {
      timeout: 30_000,
      env: { PATH: process.env.PATH, GATEHOUSE_E2E_PASSWORD: PASSWORD },
    }).catch((error: Error & { stderr?: string }) => {
      throw new Error(`${SCRIPT} failed: ${error.stderr ?? error.message}`);
    });
    const summary = JSON.parse(out) as Summary;

    assert.equal(summary.iss, issuer.href);
    assert.equal(summary.state_ok, true);
    const cookie = summary.session_cookie.split(';').map((part) => part.trim());
    assert.match(cookie[0] ?? '', /^gatehouse_session=/);
    assert.ok(cookie.includes('HttpOnly'), summary.session_cookie);
    assert.ok(cookie.includes('SameSite=Lax'), summary.session_cookie);
    assert.ok(cookie.includes('Path=/envs/DEVELOPMENT'), summary.session_cookie);
    assert.ok(!cookie.includes('Secure'), 'no Secure on an http public URL');
    assert.deepEqual(summary.consent_scopes, ['Read your invoices', 'Create and change your invoices']);
    assert.equal(summary.code_prefix, 'gac_');
    assert.equal(summary.token_type, 'Bearer');
    assert.equal(summary.expires_in, 3600);
    assert.equal(summary.scope, SCOPE);
    assert.equal(summary.access_token_sub, user.user_id);
    assert.equal(summary.refreshed, true);
    assert.equal(summary.refreshed_scope, SCOPE);
    assert.equal(summary.refreshed_access_token_sub, user.user_id);
    assert.equal(summary.reused_refresh_token_error, 'invalid_grant');

    // The tokens Authlib got verify against the published JWKS...
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
    const jwks = createRemoteJWKSet(new URL(as.jwks_uri ?? ''));
    for (const token of [summary.access_token, summary.refreshed_access_token]) {
      const { payload } = await jwtVerify(token, jwks, { issuer: issuer.href, audience: issuer.href, typ: 'at+jwt' });
      assert.equal(payload.sub, user.user_id);
      assert.equal(payload.client_id, created.client_id);
    }
    // ...and the reuse of the retired refresh token revoked the whole family (README: refresh tokens).
    const client = { client_id: created.client_id };
    const auth = oauth.ClientSecretBasic(created.client_secret);
    for (const token of [summary.access_token, summary.refreshed_access_token]) {
      const introspection = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, token, insecure));
      assert.deepEqual(introspection, { active: false });
    }
  });
});
