import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { BIN, ROOT } from '../helpers/dev-server.ts';
import { freePort } from '../helpers/net.ts';

const run = promisify(execFile);

/** Records the file of every module the process imports (ESM resolution, which every import of Gatehouse's own code goes through). */
const HOOKS = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(process.env.GATEHOUSE_TEST_IMPORT_LOG, resolved.url + '\\n');
  return resolved;
}
`;

/** Packages no data command needs: the HTTP server and what only it uses, other databases' drivers, the YAML reader. */
const SERVER_ONLY = ['fastify', 'pg', 'mysql2', '@simplewebauthn/server', 'prom-client', 'pino', 'pino-pretty', 'qrcode', 'otpauth', 'yaml'];

/**
 * The CLI loads what a command works with, when it runs: `--help` only the command-line parser,
 * a local data command the store and the services, a `--server` command the admin API client.
 * Each of these costs start-up time on every run (hundreds of runs in the test suite).
 */
describe('what the built CLI loads for a command', () => {
  let dir: string;
  let register: string;

  before(() => {
    assert.ok(existsSync(join(ROOT, 'dist', 'gatehouse.js')), 'dist/gatehouse.js is missing: run `npm run build` first');
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-startup-'));
    writeFileSync(join(dir, 'hooks.mjs'), HOOKS);
    register = join(dir, 'register.mjs');
    writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The packages (by name) the CLI imported running `args`, and how it ended. */
  async function packagesLoaded(name: string, args: string[], env: Record<string, string>): Promise<{ packages: Set<string>; code: number; stderr: string }> {
    const log = join(dir, `${name}.log`);
    writeFileSync(log, '');
    const childEnv = { PATH: process.env.PATH, GATEHOUSE_TEST_IMPORT_LOG: log, ...env };
    const ended = await run(process.execPath, ['--import', register, BIN, ...args], { env: childEnv, cwd: ROOT, timeout: 30_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code?: number; stderr?: string }) => ({ code: e.code ?? -1, stderr: e.stderr ?? '' }),
    );
    const packages = new Set(
      readFileSync(log, 'utf8')
        .split('\n')
        .flatMap((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? []),
    );
    return { packages, ...ended };
  }

  it('--help: only the command-line parser', async () => {
    const { packages, code } = await packagesLoaded('help', ['--help'], {});
    assert.equal(code, 0);
    assert.deepEqual([...packages], ['commander']);
  });

  it('a command on the local database: the store, not the server nor other drivers', async () => {
    const { packages, code, stderr } = await packagesLoaded('local', ['env', 'list', '--json'], { GATEHOUSE_DATA_DIR: join(dir, 'data') });
    assert.equal(code, 0, stderr);
    assert.ok(packages.has('better-sqlite3'), `loaded: ${[...packages].join(' ')}`);
    assert.deepEqual(
      SERVER_ONLY.filter((p) => packages.has(p)),
      [],
    );
  });

  it('a command with --server: the admin API client, neither the store nor the server', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const { packages, code, stderr } = await packagesLoaded('remote', ['env', 'list', '--server', closed], { GATEHOUSE_ADMIN_TOKEN: 'not-a-token' });
    assert.equal(code, 1);
    assert.match(stderr, /^gatehouse: cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
    assert.deepEqual(
      ['better-sqlite3', ...SERVER_ONLY].filter((p) => packages.has(p)),
      [],
    );
  });
});
