import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';

/** `keys list`, `keys rotate [--now]`, `keys revoke` and `env set-rotation` through the built CLI. */
describe('signing-key commands', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-keys-cli-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_LOG_LEVEL: 'warn',
    GATEHOUSE_PUBLIC_URL: 'https://auth.example.test',
    GATEHOUSE_KEY_SECRET: randomBytes(32).toString('hex'),
    GATEHOUSE_CACHE_TTL: '2',
    GATEHOUSE_JWKS_MAX_AGE: '30',
  };
  const ok = async <T>(args: string[]): Promise<T> => {
    const result = await runCli(args, env);
    assert.equal(result.code, 0, `gatehouse ${args.join(' ')}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  };
  type Key = {
    kid: string;
    status: string;
    published: boolean;
    created_at: string;
    activate_at: string;
    retired_at: string | null;
    publish_until: string | null;
  };

  it('rotate publishes a next key that activates after the lead time; a second rotate is refused; --now activates after the cache bound', async () => {
    await ok(['env', 'create', 'KEYS', '--json']);
    const [first] = await ok<Key[]>(['keys', 'list', '--env', 'KEYS', '--json']);
    assert.ok(first);
    const started = Date.now();
    const rotated = await ok<Key[]>(['keys', 'rotate', '--env', 'KEYS', '--json']);
    assert.deepEqual(
      rotated.map((k) => [k.status, k.published]),
      [
        ['next', true],
        ['active', true],
      ],
    );
    const [next, active] = rotated as [Key, Key];
    assert.equal(active.kid, first.kid);
    // Lead time: GATEHOUSE_CACHE_TTL + GATEHOUSE_JWKS_MAX_AGE + 1 s.
    assert.equal(Date.parse(next.activate_at) - Date.parse(next.created_at), 33_000);
    assert.ok(Date.parse(next.created_at) >= started - 1000);
    assert.equal(active.retired_at, next.activate_at);
    assert.ok(active.publish_until);

    const refused = await runCli(['keys', 'rotate', '--env', 'KEYS'], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /already has a next key; wait for its activation or use --now/);

    // --now: published at once, signing after GATEHOUSE_CACHE_TTL + 1 s (every node publishes it by then).
    const now = await ok<Key[]>(['keys', 'rotate', '--now', '--env', 'KEYS', '--json']);
    assert.deepEqual(
      now.map((k) => [k.kid, k.status, k.published]),
      [
        [now[0]?.kid, 'next', true],
        [next.kid, 'retired', true],
        [first.kid, 'active', true],
      ],
    );
    const [immediate] = now as [Key];
    assert.equal(Date.parse(immediate.activate_at) - Date.parse(immediate.created_at), 3000);
    assert.equal(now[2]?.retired_at, immediate.activate_at);
    const table = await runCli(['keys', 'list', '--env', 'KEYS'], env);
    assert.match(table.stdout, /^kid\s+alg\s+status\s+published\s+created_at\s+activate_at\s+retired_at\s+publish_until\s+revoked_at\n/i);
  });

  it('revoke withdraws a key at once and, for the signing key, activates a fresh one; unknown and repeated revocations are refused', async () => {
    await ok(['env', 'create', 'LEAK', '--json']);
    const [first] = await ok<Key[]>(['keys', 'list', '--env', 'LEAK', '--json']);
    assert.ok(first);
    type Revoked = { environment: string; kid: string; revoked_at: string; replaced_by: string | null; keys: (Key & { revoked_at: string | null })[] };
    // The kid goes after `--`: a JWK thumbprint may start with '-'.
    const revoked = await ok<Revoked>(['keys', 'revoke', '--env', 'LEAK', '--json', '--', first.kid]);
    assert.equal(revoked.environment, 'LEAK');
    assert.equal(revoked.kid, first.kid);
    assert.ok(revoked.replaced_by && revoked.replaced_by !== first.kid);
    assert.deepEqual(
      revoked.keys.map((k) => [k.kid, k.status, k.published, k.revoked_at]),
      [
        [revoked.replaced_by, 'active', true, null],
        [first.kid, 'revoked', false, revoked.revoked_at],
      ],
    );
    const again = await runCli(['keys', 'revoke', '--env', 'LEAK', '--', first.kid], env);
    assert.equal(again.code, 1);
    assert.match(again.stderr, new RegExp(`signing key ${first.kid} of environment LEAK was already revoked at ${revoked.revoked_at}; nothing changed`));
    const unknown = await runCli(['keys', 'revoke', '--env', 'LEAK', 'no-such-kid'], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no signing key no-such-kid in environment LEAK/);
    const text = await runCli(['keys', 'revoke', '--env', 'LEAK', '--', revoked.replaced_by], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      new RegExp(`^revoked signing key ${revoked.replaced_by} of environment LEAK at \\S+\nit was signing: the fresh key \\S+ signs now\n`),
    );
    const events = await ok<{ type: string; subject: { id: string }; outcome: string; details: Record<string, unknown> }[]>([
      'audit',
      'list',
      '--env',
      'LEAK',
      '--type',
      'signing_key.revoked',
      '--json',
    ]);
    assert.deepEqual(
      events.map((e) => [e.subject.id, e.outcome, e.details.reason ?? e.details.replaced_by]),
      [
        [revoked.replaced_by, 'success', events[0]?.details.replaced_by],
        ['no-such-kid', 'failure', 'not_found'],
        [first.kid, 'failure', 'conflict'],
        [first.kid, 'success', revoked.replaced_by],
      ],
    );
  });

  it('env set-rotation takes --every DURATION or --off', async () => {
    assert.deepEqual(await ok(['env', 'set-rotation', 'KEYS', '--every', '30d', '--json']), {
      environment: 'KEYS',
      key_rotation_interval: 30 * 86_400,
      activation_lead: 33,
    });
    assert.deepEqual(await ok(['env', 'set-rotation', 'KEYS', '--off', '--json']), { environment: 'KEYS', key_rotation_interval: null, activation_lead: 33 });
    const tooShort = await runCli(['env', 'set-rotation', 'KEYS', '--every', '10m'], env);
    assert.equal(tooShort.code, 1);
    assert.match(tooShort.stderr, /at least 3600 s/);
    const neither = await runCli(['env', 'set-rotation', 'KEYS'], env);
    assert.notEqual(neither.code, 0);
    assert.match(neither.stderr, /give either --every <duration> or --off/);
    const bad = await runCli(['env', 'set-rotation', 'KEYS', '--every', 'monthly'], env);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /a duration such as 30d/);
    const unknown = await runCli(['env', 'set-rotation', 'NOPE', '--off'], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no environment named NOPE/);
  });
});
