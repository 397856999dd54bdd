import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';

interface Listed {
  id: string;
  type: string;
  time: string;
  environment: { id: string; name: string } | null;
  actor: { kind: string; id: string };
  subject: { kind: string; id: string };
  outcome: string;
  details: Record<string, unknown>;
}

describe('audit list', { timeout: 600_000 }, () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const secrets: string[] = [];
  let clientId = '';

  const list = async (...args: string[]): Promise<Listed[]> => {
    const result = await runCli(['audit', 'list', ...args, '--json'], env);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as Listed[];
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-audit-cli-'));
    env = {
      PATH: process.env.PATH,
      USER: process.env.USER,
      GATEHOUSE_DATA_DIR: dir,
      GATEHOUSE_LOG_LEVEL: 'warn',
      GATEHOUSE_PUBLIC_URL: 'https://auth.example.test',
      GATEHOUSE_KEY_SECRET: randomBytes(32).toString('hex'),
    };
    for (const name of ['DEVELOPMENT', 'PRODUCTION']) assert.equal((await runCli(['env', 'create', name], env)).code, 0);
    const created = await runCli(['client', 'create', '--env', 'DEVELOPMENT', '--name', 'billing', '--scope', 'invoices:read', '--json'], env);
    assert.equal(created.code, 0, created.stderr);
    ({ client_id: clientId } = JSON.parse(created.stdout));
    secrets.push(JSON.parse(created.stdout).client_secret);
    const rotated = await runCli(['client', 'rotate-secret', clientId, '--env', 'DEVELOPMENT', '--json'], env);
    assert.equal(rotated.code, 0, rotated.stderr);
    secrets.push(JSON.parse(rotated.stdout).client_secret);
    assert.equal((await runCli(['client', 'disable', 'gh_nobody', '--env', 'DEVELOPMENT'], env)).code, 1);
    assert.equal((await runCli(['keys', 'rotate', '--env', 'PRODUCTION'], env)).code, 0);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('lists every change newest first with its actor, subject and outcome', async () => {
    const events = await list();
    assert.deepEqual(
      events.map((e) => e.type),
      ['signing_key.rotated', 'client.disabled', 'client.secret_rotated', 'client.created', 'environment.created', 'environment.created'],
    );
    for (const event of events) {
      assert.equal(event.actor.kind, 'cli');
      assert.ok(event.actor.id.length > 0);
      assert.match(event.time, /^\d{4}-\d{2}-\d{2}T/);
    }
    const [rotation, refused, secretRotated, created] = events;
    assert.equal(rotation?.environment?.name, 'PRODUCTION');
    assert.equal(rotation?.subject.kind, 'signing_key');
    assert.equal(rotation?.details.trigger, 'manual');
    assert.deepEqual([refused?.outcome, refused?.subject, refused?.details], ['failure', { kind: 'client', id: 'gh_nobody' }, { reason: 'not_found' }]);
    assert.deepEqual([secretRotated?.outcome, secretRotated?.subject], ['success', { kind: 'client', id: clientId }]);
    assert.equal(created?.details.name, 'billing');
  });

  it('filters by environment, type, time and count', async () => {
    assert.deepEqual(
      (await list('--env', 'PRODUCTION')).map((e) => e.type),
      ['signing_key.rotated', 'environment.created'],
    );
    assert.deepEqual(
      (await list('--type', 'client.secret_rotated')).map((e) => e.subject.id),
      [clientId],
    );
    assert.equal((await list('--since', '1h')).length, 6);
    assert.equal((await list('--since', '2000-01-01')).length, 6);
    assert.deepEqual(await list('--since', '2100-01-01T00:00:00Z'), []);
    assert.deepEqual(
      (await list('--limit', '1')).map((e) => e.type),
      ['signing_key.rotated'],
    );
  });

  it('prints a table, and refuses an unknown type and a bad time', async () => {
    const table = await runCli(['audit', 'list', '--env', 'DEVELOPMENT'], env);
    assert.equal(table.code, 0, table.stderr);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    assert.match(header ?? '', /^TIME\s+TYPE\s+ENVIRONMENT\s+ACTOR\s+SUBJECT\s+OUTCOME\s+DETAILS$/);
    assert.equal(rows.length, 4);
    assert.match(rows[0] ?? '', /client\.disabled\s+DEVELOPMENT\s+cli:\S+\s+client:gh_nobody\s+failure\s+reason=not_found/);
    const badType = await runCli(['audit', 'list', '--type', 'client.exploded'], env);
    assert.notEqual(badType.code, 0);
    assert.match(badType.stderr, /unknown event type/);
    const badTime = await runCli(['audit', 'list', '--since', 'yesterday'], env);
    assert.notEqual(badTime.code, 0);
    assert.match(badTime.stderr, /ISO 8601/);
  });

  it('never stores or prints a client secret', async () => {
    const output = JSON.stringify(await list());
    for (const file of readdirSync(dir)) {
      const bytes = readFileSync(join(dir, file));
      for (const secret of secrets) {
        assert.ok(secret.length >= 32);
        assert.ok(!bytes.includes(Buffer.from(secret)), `${file} holds a secret`);
        assert.ok(!output.includes(secret));
      }
    }
  });
});
