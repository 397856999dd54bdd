import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { verifyPassword } from '../../src/crypto/passwords.ts';
import { openStore } from '../../src/store/open.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'gatehouse');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with `input` piped to stdin (or stdin closed at once). */
function gatehouse(args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], timeout: 30_000 });
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
    child.stdin.end(input);
  });
}

describe('user commands', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const password = 'correct horse battery staple';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-user-cli-'));
    env = {
      PATH: process.env.PATH,
      GATEHOUSE_DATA_DIR: dir,
      GATEHOUSE_LOG_LEVEL: 'warn',
      GATEHOUSE_PUBLIC_URL: 'https://auth.example.test',
      GATEHOUSE_KEY_SECRET: randomBytes(32).toString('hex'),
      GATEHOUSE_PASSWORD_HASH_COST: '10',
    };
    assert.equal((await gatehouse(['env', 'create', 'DEVELOPMENT'], env)).code, 0);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a user from a password on stdin, stores only an scrypt hash, and never prints the password', async () => {
    const created = await gatehouse(['user', 'create', '--env', 'DEVELOPMENT', '--username', 'alice', '--password-stdin', '--json'], env, `${password}\n`);
    assert.equal(created.code, 0, created.stderr);
    const view = JSON.parse(created.stdout);
    assert.match(view.user_id, /^usr_/);
    assert.equal(view.username, 'alice');
    assert.equal(view.enabled, true);
    assert.doesNotMatch(created.stdout + created.stderr, /horse/);

    const store = openStore(join(dir, 'gatehouse.db'));
    try {
      const envRow = await store.environments.findByName('DEVELOPMENT');
      const user = await store.users.findByUsername(envRow?.id as string, 'alice');
      assert.match(String(user?.passwordHash), /^\$scrypt\$ln=10,r=8,p=1\$/);
      assert.equal(await verifyPassword(password, user?.passwordHash as string), true, 'the trailing newline is not part of the password');
    } finally {
      await store.close();
    }
    assert.ok(!readFileSync(join(dir, 'gatehouse.db')).includes(Buffer.from('horse')));
  });

  it('refuses a missing --password-stdin, a short password, a duplicate and an unknown environment', async () => {
    const noFlag = await gatehouse(['user', 'create', '--env', 'DEVELOPMENT', '--username', 'bob'], env, password);
    assert.equal(noFlag.code, 1);
    assert.match(noFlag.stderr, /--password-stdin/);
    const short = await gatehouse(['user', 'create', '--env', 'DEVELOPMENT', '--username', 'bob', '--password-stdin'], env, 'short');
    assert.equal(short.code, 1);
    assert.match(short.stderr, /8/);
    const duplicate = await gatehouse(['user', 'create', '--env', 'DEVELOPMENT', '--username', 'alice', '--password-stdin'], env, password);
    assert.equal(duplicate.code, 1);
    assert.match(duplicate.stderr, /already exists/);
    const unknownEnv = await gatehouse(['user', 'create', '--env', 'NOPE', '--username', 'bob', '--password-stdin'], env, password);
    assert.equal(unknownEnv.code, 1);
    assert.match(unknownEnv.stderr, /no environment named NOPE/);
    const badName = await gatehouse(['user', 'create', '--env', 'DEVELOPMENT', '--username', ' padded ', '--password-stdin'], env, password);
    assert.equal(badName.code, 1);
    for (const dots of ['.', '..']) {
      const refused = await gatehouse(['user', 'create', '--env', 'DEVELOPMENT', '--username', dots, '--password-stdin'], env, password);
      assert.equal(refused.code, 1, dots);
      assert.match(refused.stderr, /username cannot be \. or \.\./);
    }
  });

  it('lists, disables, enables and sets passwords', async () => {
    const list = JSON.parse((await gatehouse(['user', 'list', '--env', 'DEVELOPMENT', '--json'], env)).stdout);
    assert.deepEqual(
      list.map((u: { username: string }) => u.username),
      ['alice'],
    );
    const disabled = await gatehouse(['user', 'disable', 'alice', '--env', 'DEVELOPMENT', '--json'], env);
    assert.equal(JSON.parse(disabled.stdout).enabled, false);
    const enabled = await gatehouse(['user', 'enable', 'alice', '--env', 'DEVELOPMENT', '--json'], env);
    assert.equal(JSON.parse(enabled.stdout).enabled, true);
    const unknown = await gatehouse(['user', 'disable', 'nobody', '--env', 'DEVELOPMENT'], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no user nobody/);

    const changed = await gatehouse(['user', 'set-password', 'alice', '--env', 'DEVELOPMENT', '--password-stdin'], env, 'a brand new passphrase\r\n');
    assert.equal(changed.code, 0, changed.stderr);
    const store = openStore(join(dir, 'gatehouse.db'));
    try {
      const envRow = await store.environments.findByName('DEVELOPMENT');
      const user = await store.users.findByUsername(envRow?.id as string, 'alice');
      assert.equal(await verifyPassword('a brand new passphrase', user?.passwordHash as string), true);
      assert.equal(await verifyPassword(password, user?.passwordHash as string), false);
    } finally {
      await store.close();
    }
    const human = await gatehouse(['user', 'list', '--env', 'DEVELOPMENT'], env);
    assert.match(human.stdout, /USERNAME\s+USER_ID\s+ENABLED/);
  });
});
