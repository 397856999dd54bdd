import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseApiScope } from '../../src/admin/apis.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'gatehouse');

function gatehouse(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('api commands', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let clientId: string;
  const billing = 'https://api.example.test/billing';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-api-cli-'));
    env = {
      PATH: process.env.PATH,
      GATEHOUSE_DATA_DIR: dir,
      GATEHOUSE_LOG_LEVEL: 'warn',
      GATEHOUSE_PUBLIC_URL: 'https://auth.example.test',
      GATEHOUSE_KEY_SECRET: randomBytes(32).toString('hex'),
    };
    assert.equal((await gatehouse(['env', 'create', 'DEVELOPMENT'], env)).code, 0);
    const created = await gatehouse(['client', 'create', '--env', 'DEVELOPMENT', '--name', 'app', '--json'], env);
    clientId = JSON.parse(created.stdout).client_id;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('creates an API with scopes, clients and the default flag, lists it, and denies a client', async () => {
    const created = await gatehouse(
      [
        'api',
        'create',
        '--env',
        'DEVELOPMENT',
        '--identifier',
        billing,
        '--name',
        'Billing',
        '--scope',
        'invoices:read:Read your invoices',
        '--token-format',
        'opaque',
        '--access-token-ttl',
        '600',
        '--client',
        clientId,
        '--default',
        '--json',
      ],
      env,
    );
    assert.equal(created.code, 0, created.stderr);
    const view = JSON.parse(created.stdout);
    assert.deepEqual(
      { ...view, created_at: undefined, updated_at: undefined },
      {
        identifier: billing,
        name: 'Billing',
        environment: 'DEVELOPMENT',
        scopes: [{ name: 'invoices:read', description: 'Read your invoices' }],
        token_format: 'opaque',
        access_token_ttl: 600,
        clients: [clientId],
        default: true,
        created_at: undefined,
        updated_at: undefined,
      },
    );
    const list = await gatehouse(['api', 'list', '--env', 'DEVELOPMENT'], env);
    assert.equal(list.code, 0);
    assert.match(list.stdout, /^IDENTIFIER\s+NAME\s+DEFAULT\s+TOKEN_FORMAT\s+SCOPES\s+CLIENTS\n/);
    assert.match(list.stdout, new RegExp(`${billing}\\s+Billing\\s+true\\s+opaque\\s+invoices:read\\s+${clientId}`));
    const denied = await gatehouse(['api', 'deny-client', '--env', 'DEVELOPMENT', billing, clientId, '--json'], env);
    assert.deepEqual(JSON.parse(denied.stdout).clients, []);
    const shown = await gatehouse(['api', 'show', '--env', 'DEVELOPMENT', billing], env);
    assert.match(shown.stdout, /\n {2}invoices:read {2}Read your invoices\n/);
  });

  it('refuses a fragment, an unknown client, a duplicate and an unknown API with exit code 1', async () => {
    const cases: [string[], RegExp][] = [
      [['api', 'create', '--env', 'DEVELOPMENT', '--identifier', 'https://x.test/a#b', '--name', 'X'], /absolute URI without a fragment/],
      [['api', 'create', '--env', 'DEVELOPMENT', '--identifier', 'relative/path', '--name', 'X'], /absolute URI/],
      [['api', 'create', '--env', 'DEVELOPMENT', '--identifier', 'https://x.test/a', '--name', 'X', '--client', 'gh_nobody'], /no client gh_nobody/],
      [['api', 'create', '--env', 'DEVELOPMENT', '--identifier', billing, '--name', 'X'], /already exists/],
      [['api', 'show', '--env', 'DEVELOPMENT', 'https://x.test/none'], /no API https:\/\/x.test\/none in DEVELOPMENT/],
      [['api', 'delete', '--env', 'DEVELOPMENT', 'https://x.test/none'], /no API/],
    ];
    for (const [args, message] of cases) {
      const result = await gatehouse(args, env);
      assert.equal(result.code, 1, args.join(' '));
      assert.match(result.stderr, message);
    }
  });

  it('updates and deletes an API', async () => {
    const updated = await gatehouse(
      ['api', 'update', '--env', 'DEVELOPMENT', billing, '--no-default', '--clear-access-token-ttl', '--name', 'Invoices', '--json'],
      env,
    );
    assert.equal(updated.code, 0, updated.stderr);
    const view = JSON.parse(updated.stdout);
    assert.equal(view.default, false);
    assert.equal(view.access_token_ttl, null);
    assert.equal(view.name, 'Invoices');
    const deleted = await gatehouse(['api', 'delete', '--env', 'DEVELOPMENT', billing, '--json'], env);
    assert.deepEqual(JSON.parse(deleted.stdout), { identifier: billing, environment: 'DEVELOPMENT', deleted: true });
  });
});

describe('parseApiScope', () => {
  it('ends the name at the last colon before the first space', () => {
    assert.deepEqual(parseApiScope('invoices:read:Read your invoices'), { name: 'invoices:read', description: 'Read your invoices' });
    assert.deepEqual(parseApiScope('invoices:read: Read: all'), { name: 'invoices:read', description: 'Read: all' });
    assert.deepEqual(parseApiScope('read:Reading'), { name: 'read', description: 'Reading' });
    assert.deepEqual(parseApiScope('invoices:read:'), { name: 'invoices:read', description: '' });
    assert.throws(() => parseApiScope('nodescription'), /name:description/);
  });
});
