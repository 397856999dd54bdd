import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/dev-server.ts';

const run = promisify(execFile);
const PACKAGE = join(ROOT, 'packages', 'resource-server');

/** A fetch-API application (Workers, Hono, Deno style) that knows nothing of Node. */
const CONSUMER_TS = `
import {
  type AccessToken,
  createDpopNonces,
  createExpressAuth,
  createFetchAuth,
  createResourceMetadataHandler,
  createVerifier,
  type FetchAuthResult,
  gatehouseAuth,
  MemoryReplayStore,
  resourceMetadataUrl,
  type Verifier,
} from '@gatehouse/resource-server';

const verifier: Verifier = createVerifier({
  issuer: 'https://auth.example.test/envs/PRODUCTION',
  audience: 'https://mcp.example.test/mcp',
  dpop: { mode: 'allowed', replayStore: new MemoryReplayStore(1000), nonces: createDpopNonces({ secret: new Uint8Array(32) }) },
  resourceMetadata: { resource: 'https://mcp.example.test/mcp', scopesSupported: ['invoices:read'] },
});
const metadata = createResourceMetadataHandler(verifier);
const authenticate = createFetchAuth(verifier);
export default {
  async fetch(request: Request): Promise<Response> {
    const served = metadata(request);
    if (served) return served;
    const auth: FetchAuthResult = await authenticate(request, ['invoices:read']);
    if (!auth.ok) return auth.response;
    const token: AccessToken = auth.token;
    return Response.json({ sub: token.sub, at: resourceMetadataUrl('https://mcp.example.test/mcp') });
  },
};
export const express = createExpressAuth(verifier)(['invoices:read']);
export const fastify = gatehouseAuth;
// @ts-expect-error the audience is required
createVerifier({ issuer: 'https://auth.example.test' });
`;

/** The installed library at work: a resource-metadata document and a refusal naming it. */
const CONSUMER_JS = `
import { createFetchAuth, createResourceMetadataHandler, createVerifier } from '@gatehouse/resource-server';
const verifier = createVerifier({
  issuer: 'https://auth.example.test/envs/PRODUCTION',
  audience: 'https://mcp.example.test/mcp',
  resourceMetadata: { resource: 'https://mcp.example.test/mcp' },
  fetch: async () => Response.json({ keys: [] }),
});
const document = await createResourceMetadataHandler(verifier)(new Request('https://mcp.example.test/.well-known/oauth-protected-resource/mcp')).json();
const refused = await createFetchAuth(verifier)(new Request('https://mcp.example.test/mcp'));
console.log(JSON.stringify({ document, challenge: refused.ok ? null : refused.response.headers.get('www-authenticate') }));
`;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('@gatehouse/resource-server packed and installed into an empty project', () => {
  let dir: string;

  before(() => {
    assert.ok(existsSync(join(PACKAGE, 'dist', 'index.js')), 'packages/resource-server/dist is missing: run `npm run build` first');
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-rs-pack-'));
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('installs without building anything, runs, and type-checks without @types/node', { timeout: 240_000 }, async () => {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: PACKAGE, timeout: 60_000 });
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    assert.ok(packed);
    const files = packed.files.map((f) => f.path).sort();
    assert.ok(files.includes('dist/index.js') && files.includes('dist/types/resource-server/index.d.ts') && files.includes('README.md'));
    assert.ok(!files.some((f) => f.startsWith('src/') || f.endsWith('.ts.map') || f.includes('/crypto/')), `unexpected files: ${files.join(', ')}`);
    const manifest = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(manifest.name, '@gatehouse/resource-server');
    assert.equal(manifest.dependencies, undefined, 'no runtime dependency');
    assert.deepEqual(manifest.engines, { node: '>=20' });

    const app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    // Install scripts allowed: had the package (or a dependency) a native module, it would build here.
    await run('npm', ['install', join(dir, packed.filename), '--offline', '--ignore-scripts=false', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: app,
      timeout: 180_000,
    });
    const installed = filesUnder(join(app, 'node_modules')).map((f) => relative(join(app, 'node_modules'), f));
    assert.ok(
      installed.every((f) => f.startsWith('@gatehouse/resource-server/') || f === '.package-lock.json'),
      `only the library is installed: ${installed.join(', ')}`,
    );
    assert.ok(!installed.some((f) => f.endsWith('.node') || f.includes('/build/') || f.endsWith('binding.gyp')), 'no native module');

    // Every shipped declaration stays off Node's types and imports only shipped files.
    for (const file of installed.filter((f) => f.endsWith('.d.ts'))) {
      const text = readFileSync(join(app, 'node_modules', file), 'utf8');
      assert.doesNotMatch(text, /node:|\bBuffer\b|KeyObject|NodeJS\./, `${file} refers to Node's types`);
      for (const [, target] of text.matchAll(/from '(\.[^']+)'/g)) {
        // A declaration's `./x.ts` is resolved to `./x.d.ts`.
        const declaration = join(file, '..', (target as string).replace(/\.(ts|js)$/, '.d.ts'));
        assert.ok(installed.includes(declaration), `${file} imports ${target}, which is not shipped`);
      }
    }

    writeFileSync(join(app, 'consumer.mjs'), CONSUMER_JS);
    const result = await run(process.execPath, ['consumer.mjs'], { cwd: app, timeout: 30_000 });
    assert.deepEqual(JSON.parse(result.stdout), {
      document: {
        resource: 'https://mcp.example.test/mcp',
        authorization_servers: ['https://auth.example.test/envs/PRODUCTION'],
        bearer_methods_supported: ['header'],
      },
      challenge: 'Bearer realm="https://mcp.example.test/mcp", resource_metadata="https://mcp.example.test/.well-known/oauth-protected-resource/mcp"',
    });

    writeFileSync(join(app, 'consumer.ts'), CONSUMER_TS);
    const tsconfig = {
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        // No @types/node: what a Workers or Deno project has.
        types: [],
        lib: ['es2023', 'dom'],
      },
      files: ['consumer.ts'],
    };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(tsconfig));
    const tsc = await run(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], { cwd: app, timeout: 60_000 }).catch(
      (e: { stdout?: string }) => ({ stdout: `failed: ${e.stdout}` }),
    );
    assert.equal(tsc.stdout, '', 'the consumer type-checks against the published declarations without @types/node');
  });
});
