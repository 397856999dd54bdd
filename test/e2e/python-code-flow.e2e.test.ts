import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { freePort } from '../helpers/net.ts';

/*
 * The authorization code flow driven from Python: Authlib (Debian's python3-authlib) is the client,
 * requests.Session plays the browser, against `gatehouse serve --dev` with a user and a client
 * created by the CLI. See test/e2e/authlib_code_flow.py.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'gatehouse');
const PYTHON = '/usr/bin/python3';
const SCRIPT = join(ROOT, 'test', 'e2e', 'authlib_code_flow.py');
const SCOPE = 'invoices:read invoices:write';
const USERNAME = 'bob';
const PASSWORD = 'correct horse battery staple';
// Nothing listens here: the script stops at the Location header of the last redirect.
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const STARTUP_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;
const run = promisify(execFile);
const insecure = { [oauth.allowInsecureRequests]: true } as const;

/** Settles like `promise`, or rejects after `ms` (the message is built then); the timer never keeps the process alive. */
function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what()} did not happen within ${ms} ms`)), ms).unref());
  return Promise.race([promise, timeout]);
}

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
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-py-code-e2e-'));
  let env: NodeJS.ProcessEnv;
  let child: ChildProcess;
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let stdout = '';
  let stderr = '';
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
    assert.ok(existsSync(join(ROOT, 'dist', 'gatehouse.js')), 'dist/gatehouse.js is missing: run `npm run build` first');
    const port = await freePort();
    env = {
      PATH: process.env.PATH,
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_HOST: '127.0.0.1',
      GATEHOUSE_PORT: String(port),
      GATEHOUSE_LOG_LEVEL: 'warn',
      // The lowest scrypt cost: the CLI hashes with it, the server's dummy work for unknown users uses it.
      GATEHOUSE_PASSWORD_HASH_COST: '10',
    };
    child = spawn(process.execPath, [BIN, 'serve', '--dev'], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const listening = new RegExp(`Gatehouse is listening on (http://127\\.0\\.0\\.1:${port}) \\(development mode\\)[\\s\\S]*curl `);
    const match = await within(
      new Promise<RegExpExecArray>((resolve, reject) => {
        child.stdout?.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          const found = listening.exec(stdout);
          if (found) resolve(found);
        });
        void exited.then(({ code }) => reject(new Error(`serve --dev exited early with ${code}; stdout: ${stdout} stderr: ${stderr}`)));
      }),
      STARTUP_TIMEOUT_MS,
      () => `the banner on stdout (stdout so far: ${JSON.stringify(stdout)}; stderr: ${JSON.stringify(stderr)})`,
    );
    issuer = new URL(`${match[1]}/envs/DEVELOPMENT`);
  });

  after(async () => {
    try {
      if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid, 'SIGTERM');
        const { code, signal } = await within(exited, STOP_TIMEOUT_MS, () => 'serve stopping on SIGTERM').catch((error: Error) => {
          if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
          throw error;
        });
        assert.equal(signal, null, `serve was killed by ${signal}; stderr: ${stderr}`);
        assert.equal(code, 0, `serve should exit 0 on SIGTERM; stderr: ${stderr}`);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
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
