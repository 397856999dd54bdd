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
    alg: string;
    status: string;
    published: boolean;
    created_at: string;
    activate_at: string;
    retired_at: string | null;
    publish_until: string | null;
  };

  /** The access-token lineage of a key list; the RS256 key of ID Tokens rotates on its own. */
  const access = <K extends { alg: string }>(keys: K[]): K[] => keys.filter((k) => k.alg !== 'RS256');

  it('rotate publishes a next key that activates after the lead time; a second rotate is refused; --now activates after the cache bound', async () => {
    await ok(['env', 'create', 'KEYS', '--json']);
    const [first] = access(await ok<Key[]>(['keys', 'list', '--env', 'KEYS', '--json']));
    assert.ok(first);
    const started = Date.now();
    const rotated = access(await ok<Key[]>(['keys', 'rotate', '--env', 'KEYS', '--json']));
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
    const now = access(await ok<Key[]>(['keys', 'rotate', '--now', '--env', 'KEYS', '--json']));
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
    const [first] = access(await ok<Key[]>(['keys', 'list', '--env', 'LEAK', '--json']));
    assert.ok(first);
    type Revoked = { environment: string; kid: string; revoked_at: string; replaced_by: string | null; keys: (Key & { revoked_at: string | null })[] };
    // The kid goes after `--`: a JWK thumbprint may start with '-'.
    const revoked = await ok<Revoked>(['keys', 'revoke', '--env', 'LEAK', '--json', '--', first.kid]);
    assert.equal(revoked.environment, 'LEAK');
    assert.equal(revoked.kid, first.kid);
    assert.ok(revoked.replaced_by && revoked.replaced_by !== first.kid);
    assert.deepEqual(
      access(revoked.keys).map((k) => [k.kid, k.status, k.published, k.revoked_at]),
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

  it('every environment holds an RS256 key beside its access-token key; rotate --alg RS256 and revoke act on that lineage alone', async () => {
    await ok(['env', 'create', 'IDT', '--json']);
    const keys = await ok<Key[]>(['keys', 'list', '--env', 'IDT', '--json']);
    assert.deepEqual(keys.map((k) => [k.alg, k.status]).sort(), [
      ['ES256', 'active'],
      ['RS256', 'active'],
    ]);
    const es = keys.find((k) => k.alg === 'ES256') as Key;
    const rs = keys.find((k) => k.alg === 'RS256') as Key;
    const table = await runCli(['keys', 'list', '--env', 'IDT'], env);
    assert.match(table.stdout, new RegExp(`${rs.kid}\\s+RS256\\s+active`));
    assert.match(table.stdout, new RegExp(`${es.kid}\\s+ES256\\s+active`));

    // Rotating the RS256 lineage: a next RS256 key; the access-token key does not retire.
    const rotated = await ok<Key[]>(['keys', 'rotate', '--alg', 'RS256', '--env', 'IDT', '--json']);
    const next = rotated[0] as Key;
    assert.deepEqual([next.alg, next.status], ['RS256', 'next']);
    assert.equal(rotated.find((k) => k.kid === rs.kid)?.retired_at, next.activate_at);
    assert.equal(rotated.find((k) => k.kid === es.kid)?.retired_at, null);
    const refused = await runCli(['keys', 'rotate', '--alg', 'RS256', '--env', 'IDT'], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /already has a next RS256 key; wait for its activation or use --now/);
    // The access-token lineage is free to rotate meanwhile; --alg ES256 names it.
    const accessRotated = await ok<Key[]>(['keys', 'rotate', '--alg', 'ES256', '--env', 'IDT', '--json']);
    assert.deepEqual([accessRotated[0]?.alg, accessRotated[0]?.status], ['ES256', 'next']);
    const wrongAlg = await runCli(['keys', 'rotate', '--alg', 'EdDSA', '--env', 'IDT'], env);
    assert.equal(wrongAlg.code, 1);
    assert.match(wrongAlg.stderr, /new access-token keys are ES256 \(GATEHOUSE_SIGNING_ALG\): give alg ES256 or RS256/);
    const unknownAlg = await runCli(['keys', 'rotate', '--alg', 'HS256', '--env', 'IDT'], env);
    assert.notEqual(unknownAlg.code, 0);
    assert.match(unknownAlg.stderr, /Allowed choices are RS256, ES256, EdDSA/);

    // Revoking the active RS256 key: an RS256 key replaces it at once, the RS256 next key is withdrawn.
    type Revoked = { replaced_by: string | null; keys: Key[] };
    const revoked = await ok<Revoked>(['keys', 'revoke', '--env', 'IDT', '--json', '--', rs.kid]);
    const fresh = revoked.keys.find((k) => k.kid === revoked.replaced_by);
    assert.deepEqual([fresh?.alg, fresh?.status], ['RS256', 'active']);
    assert.deepEqual(
      revoked.keys.filter((k) => k.alg === 'RS256').map((k) => [k.kid, k.status]),
      [
        [revoked.replaced_by, 'active'],
        [next.kid, 'retired'],
        [rs.kid, 'revoked'],
      ],
    );
    assert.deepEqual(
      revoked.keys.filter((k) => k.alg === 'ES256').map((k) => [k.kid, k.status]),
      [
        [accessRotated[0]?.kid, 'next'],
        [es.kid, 'active'],
      ],
      'the access-token lineage is untouched',
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
