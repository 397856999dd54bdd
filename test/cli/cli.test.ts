import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type CliResult, runCli } from '../helpers/cli.ts';
import { freePort } from '../helpers/net.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'gatehouse');
const PUBLIC_URL = 'https://auth.example.test';
const KEY_SECRET = randomBytes(32).toString('hex');

type Result = CliResult;

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The environment of a CLI run: only PATH from the parent, so no stray GATEHOUSE_* setting leaks in. */
function cliEnv(dataDir: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_LOG_LEVEL: 'warn' };
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

const gatehouse = (args: string[], env: NodeJS.ProcessEnv): Promise<Result> => runCli(args, env);

/** Runs a command that must succeed and parses its JSON output. */
async function json<T = Record<string, unknown>>(args: string[], env: NodeJS.ProcessEnv): Promise<T> {
  const result = await gatehouse(args, env);
  assert.equal(result.code, 0, `gatehouse ${args.join(' ')} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** Runs a command that must fail with exit code 1 (a refused admin operation) and a message on stderr. */
async function failing(args: string[], env: NodeJS.ProcessEnv, stderr: RegExp): Promise<Result> {
  const result = await gatehouse(args, env);
  assert.equal(result.code, 1, `gatehouse ${args.join(' ')} should fail with 1; stdout: ${result.stdout} stderr: ${result.stderr}`);
  assert.match(result.stderr, stderr);
  assert.equal(result.stdout, '');
  return result;
}

before(() => {
  assert.ok(existsSync(join(ROOT, 'dist', 'gatehouse.js')), 'dist/gatehouse.js is missing: run `npm run build` first');
});

describe('admin commands', () => {
  let env: NodeJS.ProcessEnv;
  let clientId: string;
  let clientSecret: string;

  before(() => {
    env = cliEnv(tempDir(), { GATEHOUSE_KEY_SECRET: KEY_SECRET, GATEHOUSE_PUBLIC_URL: PUBLIC_URL });
  });

  it('migrate --json reports the database up to date', async () => {
    const result = await json(['migrate', '--json'], env);
    assert.equal(result.status, 'up to date');
    assert.match(String(result.database), /gatehouse\.db$/);
  });

  it('env list --json is empty before any environment exists', async () => {
    assert.deepEqual(await json(['env', 'list', '--json'], env), []);
  });

  it('env create --json creates an environment under the public URL', async () => {
    const created = await json(['env', 'create', 'STAGING', '--json'], env);
    assert.equal(created.name, 'STAGING');
    assert.equal(created.issuer, `${PUBLIC_URL}/envs/STAGING`);
    assert.equal(created.jwks_uri, `${PUBLIC_URL}/envs/STAGING/jwks.json`);
    assert.equal(typeof created.kid, 'string');
  });

  it('refuses a duplicate environment with a clear message', async () => {
    await failing(['env', 'create', 'STAGING', '--json'], env, /environment STAGING already exists/);
  });

  for (const name of ['bad name', 'a/b', 'x'.repeat(65)]) {
    it(`refuses the invalid environment name ${JSON.stringify(name.slice(0, 12))}`, async () => {
      await failing(['env', 'create', name], env, /environment names use/);
    });
  }

  it('env list --json lists the environment', async () => {
    const list = await json<{ name: string; issuer: string; created_at: string }[]>(['env', 'list', '--json'], env);
    assert.deepEqual(
      list.map((e) => [e.name, e.issuer]),
      [['STAGING', `${PUBLIC_URL}/envs/STAGING`]],
    );
    assert.ok(!Number.isNaN(Date.parse(list[0]?.created_at ?? '')));
  });

  it('client create --json returns the id, a 256-bit secret and the issuer', async () => {
    const created = await json(['client', 'create', '--env', 'STAGING', '--name', 'X', '--scope', 'a b', '--json'], env);
    assert.equal(typeof created.client_id, 'string');
    assert.match(String(created.client_secret), /^[A-Za-z0-9_-]{43,}$/);
    assert.ok(Buffer.from(String(created.client_secret), 'base64url').length >= 32);
    assert.equal(created.issuer, `${PUBLIC_URL}/envs/STAGING`);
    assert.equal(created.environment, 'STAGING');
    assert.equal(created.type, 'confidential');
    assert.deepEqual(created.scopes, ['a', 'b']);
    assert.deepEqual(created.grant_types, ['client_credentials']);
    assert.equal(created.token_format, 'jwt');
    assert.equal(created.enabled, true);
    clientId = String(created.client_id);
    clientSecret = String(created.client_secret);
  });

  it('refuses a public client for client_credentials', async () => {
    await failing(['client', 'create', '--env', 'STAGING', '--name', 'pub', '--public', '--json'], env, /public client cannot use client_credentials/);
  });

  it('refuses an unknown environment, naming it', async () => {
    await Promise.all([
      failing(['client', 'create', '--env', 'NOPE', '--name', 'X', '--json'], env, /no environment named NOPE/),
      failing(['client', 'list', '--env', 'NOPE', '--json'], env, /no environment named NOPE/),
      failing(['keys', 'rotate', '--env', 'NOPE', '--json'], env, /no environment named NOPE/),
    ]);
  });

  it('client list --json and client show --json show the client, never its secret', async () => {
    const list = await json<Record<string, unknown>[]>(['client', 'list', '--env', 'STAGING', '--json'], env);
    assert.deepEqual(
      list.map((c) => c.client_id),
      [clientId],
    );
    const shown = await json(['client', 'show', clientId, '--env', 'STAGING', '--json'], env);
    assert.equal(shown.client_id, clientId);
    assert.equal(shown.name, 'X');
    assert.ok(Array.isArray(shown.secrets) && shown.secrets.length === 1);
    for (const output of [JSON.stringify(list), JSON.stringify(shown)]) {
      assert.ok(!output.includes(clientSecret), 'a stored secret must never be shown again');
      assert.ok(!('client_secret' in (list[0] ?? {})));
    }
  });

  it('client show refuses an unknown client id', async () => {
    await failing(['client', 'show', 'gh_nope', '--env', 'STAGING', '--json'], env, /no client gh_nope/);
  });

  it('client list without --json prints a table with a header line', async () => {
    const result = await gatehouse(['client', 'list', '--env', 'STAGING'], env);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^CLIENT_ID\s+NAME\s+TYPE\s+GRANT_TYPES\s+TOKEN_FORMAT\s+ENABLED\s+LAST_USED$/);
    assert.equal(lines.length, 2);
    assert.ok(lines[1]?.startsWith(clientId));
  });

  it('client rotate-secret --json returns a different secret', async () => {
    const rotated = await json(['client', 'rotate-secret', clientId, '--env', 'STAGING', '--json'], env);
    assert.equal(rotated.client_id, clientId);
    assert.match(String(rotated.client_secret), /^[A-Za-z0-9_-]{43,}$/);
    assert.notEqual(rotated.client_secret, clientSecret);
    assert.ok(Date.parse(String(rotated.previous_secrets_expire_at)) > Date.now());
    const shown = await json<{ secrets: unknown[] }>(['client', 'show', clientId, '--env', 'STAGING', '--json'], env);
    assert.equal(shown.secrets.length, 2, 'the previous secret stays valid during the overlap');
  });

  it('client disable --json shows the client disabled', async () => {
    const disabled = await json(['client', 'disable', clientId, '--env', 'STAGING', '--json'], env);
    assert.equal(disabled.client_id, clientId);
    assert.equal(disabled.enabled, false);
    const shown = await json(['client', 'show', clientId, '--env', 'STAGING', '--json'], env);
    assert.equal(shown.enabled, false);
  });

  it('client disable refuses an unknown client', async () => {
    await failing(['client', 'disable', 'gh_nope', '--env', 'STAGING'], env, /no client gh_nope in environment STAGING/);
  });

  it('keys list --json shows one active key per lineage; keys rotate --now --json publishes one that signs after the cache bound', async () => {
    const listed = await json<{ kid: string; status: string; published: boolean; alg: string }[]>(['keys', 'list', '--env', 'STAGING', '--json'], env);
    assert.deepEqual(listed.map((k) => [k.alg, k.status, k.published]).sort(), [
      ['ES256', 'active', true],
      ['RS256', 'active', true],
    ]);
    const before = listed.filter((k) => k.alg === 'ES256');
    const oldKid = before[0]?.kid;

    type Key = { kid: string; alg: string; status: string; published: boolean; activate_at: string; retired_at: string | null; publish_until: string | null };
    const rotated = await json<Key[]>(['keys', 'rotate', '--now', '--env', 'STAGING', '--json'], env);
    // The RS256 key of ID Tokens is not part of this rotation.
    assert.deepEqual(
      rotated.filter((k) => k.alg === 'RS256').map((k) => [k.kid, k.status, k.retired_at]),
      listed.filter((k) => k.alg === 'RS256').map((k) => [k.kid, 'active', null]),
    );
    const after = rotated.filter((k) => k.alg !== 'RS256');
    assert.deepEqual(
      after.map((k) => [k.status, k.published]),
      [
        ['next', true],
        ['active', true],
      ],
    );
    const [next, old] = after as [Key, Key];
    assert.notEqual(next.kid, oldKid);
    assert.equal(old.kid, oldKid);
    // The old key signs until the new one does, and stays published for its tokens.
    assert.equal(old.retired_at, next.activate_at);
    assert.ok(Date.parse(old.publish_until ?? '') > Date.parse(next.activate_at));
    assert.deepEqual(await json(['keys', 'list', '--env', 'STAGING', '--json'], env), rotated);
  });

  it('a missing mandatory --env is refused', async () => {
    await failing(['client', 'list', '--json'], env, /--env/);
  });
});

// Configuration errors exit with 78 (EX_CONFIG) and name the setting.
describe('serve configuration checks', { concurrency: true }, () => {
  const serveFails = (extra: Record<string, string | undefined>) => gatehouse(['serve'], cliEnv(tempDir(), { GATEHOUSE_PORT: '0', ...extra }));

  it('refuses to start without GATEHOUSE_PUBLIC_URL', async () => {
    const result = await serveFails({ GATEHOUSE_KEY_SECRET: KEY_SECRET });
    assert.equal(result.code, 78, result.stderr);
    assert.match(result.stderr, /GATEHOUSE_PUBLIC_URL/);
  });

  it('refuses a non-loopback http public URL', async () => {
    const result = await serveFails({ GATEHOUSE_KEY_SECRET: KEY_SECRET, GATEHOUSE_PUBLIC_URL: 'http://example.com' });
    assert.equal(result.code, 78, result.stderr);
    assert.match(result.stderr, /GATEHOUSE_PUBLIC_URL/);
  });

  it('refuses a short GATEHOUSE_KEY_SECRET', async () => {
    const result = await serveFails({ GATEHOUSE_KEY_SECRET: 'abcd'.repeat(8), GATEHOUSE_PUBLIC_URL: PUBLIC_URL });
    assert.equal(result.code, 78, result.stderr);
    assert.match(result.stderr, /GATEHOUSE_KEY_SECRET/);
  });

  it('refuses to start without GATEHOUSE_KEY_SECRET', async () => {
    const result = await serveFails({ GATEHOUSE_PUBLIC_URL: PUBLIC_URL });
    assert.equal(result.code, 78, result.stderr);
    assert.match(result.stderr, /GATEHOUSE_KEY_SECRET/);
  });
});

describe('serve in production mode', () => {
  let child: ChildProcess | undefined;

  after(() => {
    // Only if the test did not get as far as stopping it.
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  });

  it('starts on valid settings without creating any environment, and stops cleanly on SIGTERM', async () => {
    const env = cliEnv(tempDir(), { GATEHOUSE_KEY_SECRET: KEY_SECRET, GATEHOUSE_PUBLIC_URL: PUBLIC_URL, GATEHOUSE_HOST: '127.0.0.1' });
    env.GATEHOUSE_PORT = String(await freePort());
    const proc = spawn(process.execPath, [BIN, 'serve'], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    let stdout = '';
    let stderr = '';
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve printed no listening line within 20s; stdout: ${stdout} stderr: ${stderr}`)), 20_000);
      proc.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (/Gatehouse is listening on http:\/\/127\.0\.0\.1:\d+ \(production mode(, \d+ workers)?\)/.test(stdout)) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`serve exited with ${code}; stderr: ${stderr}`));
      });
    });
    assert.doesNotMatch(stdout, /Created environment/);
    assert.deepEqual(await json(['env', 'list', '--json'], env), []);

    assert.ok(proc.pid !== undefined);
    process.kill(proc.pid, 'SIGTERM');
    const code = await Promise.race([exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 10_000).unref())]);
    assert.equal(code, 0, `serve should exit 0 on SIGTERM; stderr: ${stderr}`);
  });
});
