import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('metadata-documents commands', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const run = async (args: string[]) => {
    const result = await runCli(args, env);
    assert.equal(result.code, 0, `gatehouse ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout;
  };

  before(async () => {
    assert.ok(existsSync(join(ROOT, 'dist', 'gatehouse.js')), 'dist/gatehouse.js is missing: run `npm run build` first');
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-cimd-cli-'));
    env = {
      PATH: process.env.PATH,
      GATEHOUSE_DATA_DIR: dir,
      GATEHOUSE_LOG_LEVEL: 'warn',
      GATEHOUSE_PUBLIC_URL: 'https://auth.example.test',
      GATEHOUSE_KEY_SECRET: randomBytes(32).toString('hex'),
    };
    await run(['env', 'create', 'PROD']);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('shows the settings off, turns them on with hosts and a policy, and off again', async () => {
    assert.equal(JSON.parse(await run(['metadata-documents', 'show', '--env', 'PROD', '--json'])).enabled, false);
    const set = JSON.parse(
      await run([
        'metadata-documents',
        'set',
        '--env',
        'PROD',
        '--enable',
        '--allow-host',
        'claude.ai',
        '--allow-host',
        '*.example.com',
        '--block-host',
        'bad.example.com',
        '--scope',
        'mcp:tools',
        '--access-token-ttl',
        '900',
        '--no-refresh-tokens',
        '--json',
      ]),
    );
    assert.deepEqual(set, {
      enabled: true,
      allowed_hosts: ['claude.ai', '*.example.com'],
      blocked_hosts: ['bad.example.com'],
      scopes: ['mcp:tools'],
      apis: [],
      access_token_ttl: 900,
      refresh_tokens: false,
    });
    const off = JSON.parse(await run(['metadata-documents', 'set', '--env', 'PROD', '--no-enable', '--clear-hosts', '--json']));
    assert.equal(off.enabled, false);
    assert.deepEqual(off.allowed_hosts, []);
    assert.deepEqual(off.scopes, ['mcp:tools']);
  });

  it('refuses an invalid host rule, naming the field', async () => {
    const result = await runCli(['metadata-documents', 'set', '--env', 'PROD', '--allow-host', 'https://x/'], env);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /client_metadata_documents\.allowed_hosts/);
  });
});
