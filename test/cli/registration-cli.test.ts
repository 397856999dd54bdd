import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { ROOT } from '../helpers/dev-server.ts';

/** The `sh` blocks of docs/registration.md, one command a line. */
function documentedCommands(): string[][] {
  const doc = readFileSync(join(ROOT, 'docs', 'registration.md'), 'utf8');
  return [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) =>
    (m[1] ?? '')
      .trim()
      .split('\n')
      .map((line) => [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((t) => t[1] ?? t[2] ?? '')),
  );
}

describe('registration commands (the walk-through of docs/registration.md)', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-registration-cli-'));
    env = {
      PATH: process.env.PATH,
      GATEHOUSE_DATA_DIR: dir,
      GATEHOUSE_LOG_LEVEL: 'warn',
      GATEHOUSE_PUBLIC_URL: 'https://auth.example.test',
      GATEHOUSE_KEY_SECRET: randomBytes(32).toString('hex'),
    };
    assert.equal((await runCli(['env', 'create', 'DEVELOPMENT'], env)).code, 0);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every documented command', async () => {
    const commands = documentedCommands();
    assert.ok(commands.length >= 4);
    for (const [bin, ...args] of commands) {
      assert.ok(bin === 'gatehouse' || bin === './bin/gatehouse', `a gatehouse command: ${bin}`);
      const result = await runCli(args, env);
      assert.equal(result.code, 0, `gatehouse ${args.join(' ')}: ${result.stderr}`);
    }
  });

  it('shows the policy, creates, lists and deletes an initial access token', async () => {
    const shown = JSON.parse((await runCli(['registration', 'show', '--env', 'DEVELOPMENT', '--json'], env)).stdout) as Record<string, unknown>;
    assert.equal(shown.mode, 'initial_access_token');
    assert.deepEqual(shown.allowed_scopes, ['invoices:read']);
    assert.equal(shown.unused_client_days, 30);
    assert.equal(shown.registration_endpoint, 'https://auth.example.test/envs/DEVELOPMENT/register');
    const created = JSON.parse((await runCli(['registration', 'token', 'create', '--env', 'DEVELOPMENT', '--uses', '2', '--json'], env)).stdout) as {
      id: string;
      token: string;
      uses_left: number;
    };
    assert.equal(created.uses_left, 2);
    assert.ok(created.token.length >= 43);
    const listed = (await runCli(['registration', 'token', 'list', '--env', 'DEVELOPMENT', '--json'], env)).stdout;
    assert.ok(listed.includes(created.id) && !listed.includes(created.token), 'listed without its value');
    assert.equal((await runCli(['registration', 'token', 'delete', created.id, '--env', 'DEVELOPMENT'], env)).code, 0);
    const off = await runCli(['registration', 'set', '--env', 'DEVELOPMENT', '--mode', 'off', '--source-limit', '0'], env);
    assert.notEqual(off.code, 0, 'a source limit of 0 is refused');
    assert.match(off.stderr, /source limit/);
    const none = await runCli(['registration', 'set', '--env', 'DEVELOPMENT', '--unused-client-days', 'none', '--max-access-token-ttl', 'none', '--json'], env);
    assert.equal(none.code, 0, none.stderr);
    assert.equal(JSON.parse(none.stdout).unused_client_days, null);
    assert.equal(JSON.parse(none.stdout).max_access_token_ttl, null);
  });
});
