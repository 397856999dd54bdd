import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';

const FILE = `# Gatehouse configuration as code
version: 1
environments:
  - name: PROD
    default_quota: 1000
    clients:
      - name: billing-worker
        scopes: [invoices:read]
      - name: reporting
        scopes: [reports:read]
        quota: 60
      - name: web
        grant_types: [authorization_code, refresh_token]
        scopes: [invoices:read]
        redirect_uris: [https://app.example.test/callback]
    apis:
      - identifier: https://api.example.test/billing
        name: Billing
        scopes:
          - { name: invoices:read, description: Read invoices }
        clients: [billing-worker, web]
`;

describe('plan and apply from the command line', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let file: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-apply-cli-'));
    env = {
      PATH: process.env.PATH,
      GATEHOUSE_DATA_DIR: dir,
      GATEHOUSE_PUBLIC_URL: 'https://auth.example.test',
      GATEHOUSE_KEY_SECRET: randomBytes(32).toString('hex'),
    };
    file = join(dir, 'gatehouse.yaml');
    writeFileSync(file, FILE);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('plans, applies a file with three clients, and applies it again without a change', async () => {
    const plan = await runCli(['plan', file, '--exit-code'], env);
    assert.equal(plan.code, 2, plan.stderr);
    assert.match(plan.stdout, /^\+ environment PROD$/m);
    assert.match(plan.stdout, /^\+ client PROD\/billing-worker$/m);
    assert.match(plan.stdout, /^Plan: 5 to create, 0 to update, 0 unchanged\.$/m);

    const applied = await runCli(['apply', file], env);
    assert.equal(applied.code, 0, applied.stderr);
    const secrets = [...applied.stdout.matchAll(/client PROD\/(\S+): client_id (gh_\S+)\s+client_secret (\S+)/g)];
    assert.deepEqual(
      secrets.map((m) => m[1]),
      ['billing-worker', 'reporting', 'web'],
    );

    const again = await runCli(['apply', file, '--json'], env);
    assert.equal(again.code, 0, again.stderr);
    const result = JSON.parse(again.stdout) as { changes: { action: string }[]; secrets: unknown[] };
    assert.ok(
      result.changes.every((c) => c.action === 'unchanged'),
      again.stdout,
    );
    assert.deepEqual(result.secrets, []);
    const unchanged = await runCli(['plan', file, '--exit-code'], env);
    assert.equal(unchanged.code, 0, unchanged.stdout);
    assert.match(unchanged.stdout, /^Plan: 0 to create, 0 to update, 5 unchanged\.$/m);

    // A change in the file is one update; the secret never appears again.
    writeFileSync(file, FILE.replace('quota: 60', 'quota: 120'));
    const changed = await runCli(['apply', file], env);
    assert.equal(changed.code, 0, changed.stderr);
    assert.match(changed.stdout, /^~ client PROD\/reporting \(gh_\S+\)\n {4}quota: 60 → 120$/m);
    for (const [, , , secret] of secrets) assert.ok(!changed.stdout.includes(String(secret)));
  });

  it('refuses a file it cannot read, naming the place, with exit code 1', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'version: 1\nenvironments:\n  - name: PROD\n    clients:\n      - name: x\n        client_secret: nope\n');
    const bad = await runCli(['apply', join(dir, 'bad.yaml')], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /environments\[0\]\.clients\[0\]\.client_secret: unknown field/);
    const broken = await runCli(['plan', join(dir, 'missing.yaml')], env);
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /cannot read/);
  });
});
