import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type CliResult, runCli } from '../helpers/cli.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PUBLIC_URL = 'https://auth.example.test';
const BAD_QUOTA = /a quota is a whole number of requests per window, 1\.\.100000000/;

type Result = CliResult;

const gatehouse = (args: string[], env: NodeJS.ProcessEnv): Promise<Result> => runCli(args, env);

/** Runs a command that must succeed and returns its output. */
async function succeeding(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const result = await gatehouse(args, env);
  assert.equal(result.code, 0, `gatehouse ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

const json = async <T = Record<string, unknown>>(args: string[], env: NodeJS.ProcessEnv): Promise<T> => JSON.parse(await succeeding(args, env)) as T;

/** Runs a command that must be refused: exit code 1, a message on stderr, nothing on stdout. */
async function failing(args: string[], env: NodeJS.ProcessEnv, stderr: RegExp): Promise<void> {
  const result = await gatehouse(args, env);
  assert.equal(result.code, 1, `gatehouse ${args.join(' ')} should fail with 1; stdout: ${result.stdout} stderr: ${result.stderr}`);
  assert.match(result.stderr, stderr);
  assert.equal(result.stdout, '');
}

describe('quota commands', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let clientId: string;

  before(async () => {
    assert.ok(existsSync(join(ROOT, 'dist', 'gatehouse.js')), 'dist/gatehouse.js is missing: run `npm run build` first');
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-quota-cli-'));
    env = {
      PATH: process.env.PATH,
      GATEHOUSE_DATA_DIR: dir,
      GATEHOUSE_LOG_LEVEL: 'warn',
      GATEHOUSE_PUBLIC_URL: PUBLIC_URL,
      GATEHOUSE_KEY_SECRET: randomBytes(32).toString('hex'),
    };
    await succeeding(['env', 'create', 'METERED'], env);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('env list shows no default quota for a new environment', async () => {
    const list = await json<Record<string, unknown>[]>(['env', 'list', '--json'], env);
    assert.deepEqual(
      list.map((e) => [e.name, e.default_quota]),
      [['METERED', null]],
    );
  });

  it('client create --quota N sets the client’s quota; client show displays it', async () => {
    const created = await json(['client', 'create', '--env', 'METERED', '--name', 'billing', '--quota', '7', '--json'], env);
    assert.equal(created.quota, 7);
    clientId = String(created.client_id);
    assert.equal((await json(['client', 'show', clientId, '--env', 'METERED', '--json'], env)).quota, 7);
    const shown = await succeeding(['client', 'show', clientId, '--env', 'METERED'], env);
    assert.match(shown, /^quota\s+7$/m);
  });

  it('client create without --quota leaves the quota to the environment (null)', async () => {
    const created = await json(['client', 'create', '--env', 'METERED', '--name', 'reports', '--json'], env);
    assert.equal(created.quota, null);
    const shown = await succeeding(['client', 'show', String(created.client_id), '--env', 'METERED'], env);
    assert.match(shown, /^quota\s+-$/m);
  });

  it('client set-quota --quota N replaces the quota', async () => {
    const updated = await json(['client', 'set-quota', clientId, '--env', 'METERED', '--quota', '250', '--json'], env);
    assert.equal(updated.client_id, clientId);
    assert.equal(updated.quota, 250);
    assert.equal((await json(['client', 'show', clientId, '--env', 'METERED', '--json'], env)).quota, 250);
    const text = await succeeding(['client', 'set-quota', clientId, '--env', 'METERED', '--quota', '100000000'], env);
    assert.equal(text, `client ${clientId}: quota 100000000 requests per 60 s\n`);
    assert.match(await succeeding(['client', 'show', clientId, '--env', 'METERED'], env), /^quota\s+100000000$/m);
  });

  it('the text output names the configured quota window', async () => {
    const text = await succeeding(['client', 'set-quota', clientId, '--env', 'METERED', '--quota', '9'], { ...env, GATEHOUSE_QUOTA_WINDOW: '30' });
    assert.equal(text, `client ${clientId}: quota 9 requests per 30 s\n`);
  });

  it('client set-quota --unlimited removes the client’s own quota, so the environment default applies', async () => {
    const updated = await json(['client', 'set-quota', clientId, '--env', 'METERED', '--unlimited', '--json'], env);
    assert.equal(updated.quota, null);
    assert.equal((await json(['client', 'show', clientId, '--env', 'METERED', '--json'], env)).quota, null);
    const text = await succeeding(['client', 'set-quota', clientId, '--env', 'METERED', '--unlimited'], env);
    assert.match(text, /no quota of its own \(the environment's default applies\)/);
    const help = await succeeding(['client', 'set-quota', '--help'], env);
    assert.match(help, /--unlimited\s+remove the client's own quota: the environment's default quota\s+applies/);
  });

  it('env set-quota sets and removes the default quota; env list shows it', async () => {
    const set = await json(['env', 'set-quota', 'METERED', '--quota', '40', '--json'], env);
    assert.deepEqual(set, {
      name: 'METERED',
      issuer: `${PUBLIC_URL}/envs/METERED`,
      default_quota: 40,
      subject_type: 'public',
      refresh_token_policy: 'client',
      dpop_nonce_required: false,
      require_pushed_authorization_requests: false,
      security_profile: null,
      created_at: set.created_at,
    });
    const list = await json<Record<string, unknown>[]>(['env', 'list', '--json'], env);
    assert.equal(list[0]?.default_quota, 40);
    const table = (await succeeding(['env', 'list'], env)).trimEnd().split('\n');
    assert.match(table[0] ?? '', /^NAME\s+ISSUER\s+DEFAULT_QUOTA\s+SUBJECT_TYPE\s+REFRESH_TOKEN_POLICY\s+CREATED_AT$/);
    assert.match(table[1] ?? '', /^METERED\s+\S+\s+40\s+public\s+client\s+\S+$/);
    assert.equal(await succeeding(['env', 'set-quota', 'METERED', '--quota', '41'], env), 'environment METERED: default quota 41 requests per 60 s\n');

    const removed = await json(['env', 'set-quota', 'METERED', '--unlimited', '--json'], env);
    assert.equal(removed.default_quota, null);
    assert.equal((await json<Record<string, unknown>[]>(['env', 'list', '--json'], env))[0]?.default_quota, null);
    assert.match(await succeeding(['env', 'set-quota', 'METERED', '--unlimited'], env), /no default quota/);
  });

  it('client set-quota also takes a service account', async () => {
    const account = await json(['service-account', 'create', '--env', 'METERED', '--name', 'robot', '--json'], env);
    const id = String(account.service_account_id);
    const updated = await json(['client', 'set-quota', id, '--env', 'METERED', '--quota', '3', '--json'], env);
    assert.equal(updated.client_id, id);
    assert.equal(updated.quota, 3);
  });

  for (const value of ['0', '-1', '1.5', 'abc', '1e3', '100000001', '']) {
    it(`refuses the quota ${JSON.stringify(value)} in client create, client set-quota and env set-quota`, async () => {
      await Promise.all([
        failing(['client', 'create', '--env', 'METERED', '--name', 'x', '--quota', value, '--json'], env, BAD_QUOTA),
        failing(['client', 'set-quota', clientId, '--env', 'METERED', '--quota', value, '--json'], env, BAD_QUOTA),
        failing(['env', 'set-quota', 'METERED', '--quota', value, '--json'], env, BAD_QUOTA),
      ]);
    });
  }

  it('requires exactly one of --quota and --unlimited', async () => {
    await failing(['client', 'set-quota', clientId, '--env', 'METERED', '--json'], env, /give either --quota <n> or --unlimited/);
    await failing(['env', 'set-quota', 'METERED'], env, /give either --quota <n> or --unlimited/);
    await failing(
      ['client', 'set-quota', clientId, '--env', 'METERED', '--quota', '5', '--unlimited'],
      env,
      /'--quota <n>' cannot be used with option '--unlimited'/,
    );
    await failing(['env', 'set-quota', 'METERED', '--unlimited', '--quota', '5'], env, /cannot be used with/);
  });

  it('refuses unknown environments and clients, naming them', async () => {
    await failing(['client', 'set-quota', 'gh_nope', '--env', 'METERED', '--quota', '5'], env, /^gatehouse: no client gh_nope in environment METERED$/m);
    await failing(['client', 'set-quota', clientId, '--env', 'NOPE', '--unlimited'], env, /^gatehouse: no environment named NOPE$/m);
    await failing(['env', 'set-quota', 'NOPE', '--quota', '5', '--json'], env, /^gatehouse: no environment named NOPE$/m);
    await failing(['client', 'set-quota', clientId, '--quota', '5'], env, /required option '--env <name>' not specified/);
    // Nothing was changed by the refusals.
    assert.equal((await json(['client', 'show', clientId, '--env', 'METERED', '--json'], env)).quota, null);
    assert.equal((await json<Record<string, unknown>[]>(['env', 'list', '--json'], env))[0]?.default_quota, null);
  });
});
