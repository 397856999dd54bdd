import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';

describe('gatehouse admin bootstrap', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-admin-bootstrap-'));
    env = {
      PATH: process.env.PATH,
      GATEHOUSE_DATA_DIR: dir,
      GATEHOUSE_LOG_LEVEL: 'warn',
      GATEHOUSE_PUBLIC_URL: 'https://auth.example.test',
      GATEHOUSE_KEY_SECRET: randomBytes(32).toString('hex'),
      GATEHOUSE_ADMIN_PORT: '9090',
    };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the management environment, the admin API and an admin client, and prints the secret once', async () => {
    const first = await runCli(['admin', 'bootstrap'], env);
    assert.equal(first.code, 0, first.stderr);
    const id = /client_id\s+(gh_\S+)/.exec(first.stdout)?.[1];
    const secret = /client_secret\s+(\S+)/.exec(first.stdout)?.[1];
    assert.ok(id && secret, first.stdout);
    assert.ok(first.stdout.includes(`curl -s -u '${id}:${secret}' -d grant_type=client_credentials https://auth.example.test/envs/gatehouse-admin/token`));
    assert.ok(first.stdout.includes('http://127.0.0.1:9090/admin/v1/environments'));

    const envs = await runCli(['env', 'list', '--json'], env);
    assert.deepEqual(
      JSON.parse(envs.stdout).map((e: { name: string }) => e.name),
      ['gatehouse-admin'],
    );
    const api = JSON.parse((await runCli(['api', 'show', 'urn:gatehouse:admin-api', '--env', 'gatehouse-admin', '--json'], env)).stdout);
    assert.deepEqual([api.clients, api.default], [[id], true]);
    const shown = await runCli(['client', 'show', id, '--env', 'gatehouse-admin', '--json'], env);
    assert.ok(!shown.stdout.includes(secret), 'the secret is never shown again');
  });

  it('refuses a second bootstrap with a clear message and a non-zero exit, unless --force', async () => {
    const again = await runCli(['admin', 'bootstrap'], env);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /an admin client already exists in gatehouse-admin/);
    assert.equal(again.stdout, '');
    const forced = await runCli(['admin', 'bootstrap', '--force', '--json'], env);
    assert.equal(forced.code, 0, forced.stderr);
    const result = JSON.parse(forced.stdout);
    assert.equal(result.created_environment, false);
    assert.deepEqual(result.scopes, ['admin:read', 'admin:write']);
    const api = JSON.parse((await runCli(['api', 'show', 'urn:gatehouse:admin-api', '--env', 'gatehouse-admin', '--json'], env)).stdout);
    assert.equal(api.clients.length, 2);
  });
});
