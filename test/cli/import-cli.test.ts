import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'gatehouse');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

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

const lines = [
  {
    kind: 'client',
    client_id: 'billing-app',
    name: 'Billing',
    confidential: true,
    secret: { format: 'bcrypt', value: bcrypt.hashSync('billing-secret', 4) },
    redirect_uris: [],
    scopes: ['read'],
    grant_types: ['client_credentials'],
  },
  { kind: 'client', client_id: 'half-done', name: 'x', confidential: true, secret: null, redirect_uris: [], scopes: [], grant_types: ['client_credentials'] },
  {
    kind: 'refresh_token',
    token: { format: 'sha256-hex', value: createHash('sha256').update('old-refresh').digest('hex') },
    client_id: 'billing-app',
    user_source_id: null,
    scopes: ['read'],
    issued_at: '2026-01-01T00:00:00Z',
    expires_at: null,
    revoked: false,
  },
]
  .map((record) => JSON.stringify(record))
  .join('\n');

describe('gatehouse import', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let file: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-import-cli-'));
    env = {
      PATH: process.env.PATH,
      GATEHOUSE_DATA_DIR: dir,
      GATEHOUSE_LOG_LEVEL: 'warn',
      GATEHOUSE_PUBLIC_URL: 'https://auth.example.test',
      GATEHOUSE_KEY_SECRET: randomBytes(32).toString('hex'),
    };
    file = join(dir, 'export.jsonl');
    writeFileSync(file, `${lines}\n`);
    assert.equal((await gatehouse(['env', 'create', 'PRODUCTION'], env)).code, 0);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints a dry run as text with every skip and its reason, writing nothing', async () => {
    const dry = await gatehouse(['import', 'jsonl', '--from', file, '--env', 'PRODUCTION', '--dry-run'], env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /dry run: nothing was written/);
    assert.match(dry.stdout, /^client\s+1\s+0\s+0\s+1$/m);
    assert.match(dry.stdout, /client "half-done": a confidential client without a secret/);
    assert.match(dry.stdout, /refresh token .* of client "billing-app": it has no resource owner/);
    const again = await gatehouse(['import', 'jsonl', '--from', file, '--env', 'PRODUCTION', '--dry-run', '--json'], env);
    assert.equal(JSON.parse(again.stdout).counts.client.imported, 1, 'the dry run wrote nothing');
  });

  it('imports from standard input, then a second run of the same named source changes nothing', async () => {
    const named = ['--source-id', 'billing-export', '--env', 'PRODUCTION', '--json'];
    const first = await gatehouse(['import', 'jsonl', '--from', '-', ...named], env, lines);
    assert.equal(first.code, 0, first.stderr);
    const report = JSON.parse(first.stdout);
    assert.equal(report.dry_run, false);
    assert.equal(report.source_id, 'billing-export');
    assert.deepEqual(report.counts.client, { imported: 1, updated: 0, unchanged: 0, skipped: 1 });
    const second = JSON.parse((await gatehouse(['import', 'jsonl', '--from', file, ...named], env)).stdout);
    assert.deepEqual(second.counts.client, { imported: 0, updated: 0, unchanged: 1, skipped: 1 });
    assert.deepEqual(second.updated, []);
    assert.deepEqual(second.refused, []);
    assert.doesNotMatch(first.stdout + first.stderr, /\$2[ab]\$|old-refresh/);
  });

  it('refuses, in the dry run and the real run alike, a client id another source imported; says which source', async () => {
    const other = join(dir, 'other.jsonl');
    writeFileSync(other, `${lines}\n`);
    const args = ['import', 'jsonl', '--from', other, '--env', 'PRODUCTION'];
    const dry = await gatehouse([...args, '--dry-run'], env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`^Source: jsonl:${other.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    assert.match(dry.stdout, /^client\s+0\s+0\s+0\s+2$/m);
    assert.match(
      dry.stdout,
      /Refused \(held by another source or created in Gatehouse; counted as skipped\):\n {2}client "billing-app": this client id belongs to a client imported from source "billing-export" \(not imported\)/,
    );
    const real = JSON.parse((await gatehouse([...args, '--json'], env)).stdout);
    assert.equal(real.source_id, `jsonl:${other}`);
    assert.deepEqual(real.counts, JSON.parse((await gatehouse([...args, '--dry-run', '--json'], env)).stdout).counts);
    assert.deepEqual(real.refused, [
      { kind: 'client', what: 'client "billing-app"', reason: 'this client id belongs to a client imported from source "billing-export" (not imported)' },
    ]);
    assert.ok(real.skipped.some((s: { reason: string }) => s.reason === 'its client was not imported from this source'));
  });

  it('takes a --source-id of printable characters, never the reserved legacy', async () => {
    const reserved = await gatehouse(['import', 'jsonl', '--from', file, '--env', 'PRODUCTION', '--source-id', 'legacy'], env);
    assert.notEqual(reserved.code, 0);
    assert.match(reserved.stderr, /option '--source-id <name>' argument 'legacy' is invalid\. "legacy" is reserved/);
    const blank = await gatehouse(['import', 'jsonl', '--from', file, '--env', 'PRODUCTION', '--source-id', ' x'], env);
    assert.notEqual(blank.code, 0);
    assert.match(blank.stderr, /must not hold control characters or start or end with a space/);
  });

  it('names the unknown source or environment', async () => {
    const source = await gatehouse(['import', 'nosuch', '--from', file, '--env', 'PRODUCTION'], env);
    assert.notEqual(source.code, 0);
    assert.match(source.stderr, /unknown import source nosuch \(known: jsonl/);
    const environment = await gatehouse(['import', 'jsonl', '--from', file, '--env', 'NOPE'], env);
    assert.notEqual(environment.code, 0);
    assert.match(environment.stderr, /no environment named NOPE/);
  });
});
