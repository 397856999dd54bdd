import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/dev-server.ts';

const run = promisify(execFile);

/** An application using the published library: no Gatehouse source, only the package's exports. */
const CONSUMER_JS = `
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { BearerError, createVerifier, jwkThumbprint } from 'gatehouse/resource-server';

const issuer = 'https://auth.example.test/envs/PRODUCTION';
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' };
const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = Math.floor(Date.now() / 1000);
const claims = { iss: issuer, sub: 'usr_1', aud: issuer, iat: now, exp: now + 60, jti: 'j1', client_id: 'gh_1', scope: 'read' };
const header = b64({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' });
const signature = sign('sha256', Buffer.from(header + '.' + b64(claims)), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
const verifier = createVerifier({ issuer, audience: issuer, fetch: async () => Response.json({ keys: [jwk] }) });
const token = await verifier.verifyToken(header + '.' + b64(claims) + '.' + signature);
const refused = await verifier.verifyToken(header + '.' + b64({ ...claims, scope: 'admin' }) + '.' + signature).catch((e) => e instanceof BearerError && e.code);
// RFC 9449: a DPoP-bound token with its proof, through a verifier that requires DPoP.
const client = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const clientJwk = client.publicKey.export({ format: 'jwk' });
const jws = (h, p, key) => { const input = b64(h) + '.' + b64(p); return input + '.' + sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url'); };
const bound = jws({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' }, { ...claims, cnf: { jkt: jwkThumbprint(clientJwk) } }, privateKey);
const url = 'https://api.example.test/invoices';
const ath = createHash('sha256').update(bound).digest('base64url');
const proof = jws({ alg: 'ES256', typ: 'dpop+jwt', jwk: clientJwk }, { htm: 'GET', htu: url, iat: now, jti: 'p1', ath }, client.privateKey);
const dpop = createVerifier({ issuer, audience: issuer, dpop: 'required', fetch: async () => Response.json({ keys: [jwk] }) });
const request = { method: 'GET', url, authorization: 'DPoP ' + bound, dpop: proof };
const dpopSub = (await dpop.authenticate(request)).sub;
const replayed = await dpop.authenticate(request).catch((e) => e instanceof BearerError && e.code);
// One copy of the library under both names: an error class is the same class.
const oneCopy = BearerError === (await import('@gatehouse/resource-server')).BearerError;
console.log(JSON.stringify({ sub: token.sub, scopes: token.scopes, refused, dpopSub, replayed, oneCopy }));
`;

/** The same library seen by the TypeScript compiler through the package's \`types\` export. */
const CONSUMER_TS = `
import {
  type AccessToken,
  createDpopNonces,
  createExpressAuth,
  createFetchAuth,
  createVerifier,
  type DpopMode,
  type DpopReplayStore,
  gatehouseAuth,
  MemoryReplayStore,
  requireAuth,
  requireScopes,
  type RouteAuthOptions,
  type Verifier,
} from 'gatehouse/resource-server';

const verifier: Verifier = createVerifier({ issuer: 'https://auth.example.test', audience: 'https://api.example.test', jwksCooldownMs: 30_000 });
const authenticate = createFetchAuth(verifier);
export async function handler(request: Request): Promise<Response> {
  const auth = await authenticate(request, ['read']);
  if (!auth.ok) return auth.response;
  const token: AccessToken = auth.token;
  return Response.json({ sub: token.sub, scopes: token.scopes });
}
export const middleware = createExpressAuth(verifier)(['read']);
export const plugin = gatehouseAuth;
export const hook = requireScopes('admin');
// RFC 9449 DPoP: verifier-wide settings, a shared replay store, per-route modes in each adapter.
const replayStore: DpopReplayStore = { consume: async (_key: string, _expiresAt: number) => true };
const dpopVerifier = createVerifier({
  issuer: 'https://auth.example.test',
  audience: 'https://api.example.test',
  dpop: { mode: 'allowed', publicOrigin: 'https://api.example.test', replayStore, nonces: createDpopNonces({ secret: 'x'.repeat(32) }) },
});
const required: RouteAuthOptions = { dpop: 'required' satisfies DpopMode };
export const dpopMiddleware = createExpressAuth(dpopVerifier)(['read'], required);
export const dpopHook = requireAuth({ scopes: ['admin'], dpop: 'required' });
export const dpopFetch = (request: Request) => createFetchAuth(dpopVerifier)(request, ['read'], required);
export const memory = new MemoryReplayStore(10_000);
// @ts-expect-error an unknown DPoP mode
createVerifier({ issuer: 'https://auth.example.test', audience: 'x', dpop: 'sometimes' });
// @ts-expect-error the audience is required
createVerifier({ issuer: 'https://auth.example.test' });
`;

describe('the packed library installs and works in an empty project', () => {
  let dir: string;
  const LIBRARY = join(ROOT, 'packages', 'resource-server');

  before(() => {
    assert.ok(existsSync(join(LIBRARY, 'dist', 'index.js')), 'packages/resource-server/dist is missing: run `npm run build` first');
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-pack-'));
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('npm pack ships the CLI and gatehouse/resource-server, a re-export of @gatehouse/resource-server: one copy of the library', {
    timeout: 240_000,
  }, async () => {
    const pack = async (cwd: string) => {
      const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd, timeout: 60_000 });
      const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
      assert.ok(packed);
      return packed;
    };
    const server = await pack(ROOT);
    const library = await pack(LIBRARY);
    const files = server.files.map((f) => f.path);
    for (const file of ['bin/gatehouse', 'dist/gatehouse.js', 'resource-server/index.js', 'resource-server/index.d.ts']) {
      assert.ok(files.includes(file), `${file} is not in the package`);
    }
    // The CLI's entry loads chunks (dist/chunks/) as commands run: every file of the build ships.
    const built = readdirSync(join(ROOT, 'dist'), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
    assert.ok(
      built.some((file) => file.startsWith('dist/chunks/')),
      'the build wrote chunks',
    );
    assert.deepEqual(
      built.filter((file) => !files.includes(file)),
      [],
      'built files missing from the package',
    );
    assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/') || f.startsWith('packages/')), 'sources, tests or the library are shipped');
    const app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    // The library's tarball satisfies the server's dependency on it; the cache answers for the
    // server's other dependencies when it holds them, otherwise npm asks the registry.
    const tarballs = [join(dir, server.filename), join(dir, library.filename)];
    await run('npm', ['install', ...tarballs, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], {
      cwd: app,
      timeout: 180_000,
    });
    const reexport = readFileSync(join(app, 'node_modules', 'gatehouse', 'resource-server', 'index.js'), 'utf8');
    const reexported = [...reexport.matchAll(/^export \* from '([^']+)';$/gm)].map((m) => m[1]);
    assert.deepEqual(reexported, ['@gatehouse/resource-server']);
    const bundle = readFileSync(join(app, 'node_modules', '@gatehouse', 'resource-server', 'dist', 'index.js'), 'utf8');
    const imports = [...bundle.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
    assert.ok(imports.length > 0 && imports.every((name) => name?.startsWith('node:')), `the library imports ${imports.join(', ')}`);
    writeFileSync(join(app, 'consumer.mjs'), CONSUMER_JS);
    const result = await run(process.execPath, ['consumer.mjs'], { cwd: app, timeout: 30_000 });
    assert.deepEqual(JSON.parse(result.stdout), {
      sub: 'usr_1',
      scopes: ['read'],
      refused: 'invalid_token',
      dpopSub: 'usr_1',
      replayed: 'invalid_dpop_proof',
      oneCopy: true,
    });
    // The installed CLI starts, and a command reaching for the admin API loads the chunks it needs.
    const cli = join(app, 'node_modules', 'gatehouse', 'bin', 'gatehouse');
    const help = await run(process.execPath, [cli, '--help'], { cwd: app, timeout: 30_000 });
    assert.match(help.stdout, /^Usage: gatehouse /);
    const remote = await run(process.execPath, [cli, 'env', 'list', '--server', 'http://127.0.0.1:9'], {
      cwd: app,
      timeout: 30_000,
      env: { PATH: process.env.PATH, GATEHOUSE_ADMIN_TOKEN: 'not-a-token' },
    }).then(
      () => assert.fail('env list against a closed port succeeded'),
      (e: { code?: number; stderr?: string }) => e,
    );
    assert.equal(remote.code, 1);
    assert.match(remote.stderr ?? '', /^gatehouse: cannot reach http:\/\/127\.0\.0\.1:9: /);
    writeFileSync(join(app, 'consumer.ts'), CONSUMER_TS);
    const tsconfig = {
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        strict: true,
        noEmit: true,
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules', '@types')],
        lib: ['es2023'],
      },
      files: ['consumer.ts'],
    };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(tsconfig));
    const tsc = await run(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], { cwd: app, timeout: 60_000 }).catch(
      (e: { stdout?: string }) => ({ stdout: `failed: ${e.stdout}` }),
    );
    assert.equal(tsc.stdout, '', 'the consumer type-checks against the published declarations');
  });
});
