import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import SqliteDatabase from 'better-sqlite3';
import { createRemoteJWKSet, importJWK, type JWK, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import { BIN, type DevServer, ROOT, startDevServer } from '../helpers/dev-server.ts';

const PYTHON = '/usr/bin/python3';
const AUTHLIB_SCRIPT = join(ROOT, 'test', 'e2e', 'authlib_jwt_bearer.py');
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const SCOPES = 'reports:read reports:write';
const run = promisify(execFile);
const insecure = { [oauth.allowInsecureRequests]: true } as const;
const ALGS = ['ES256', 'RS256', 'EdDSA'] as const;
type Alg = (typeof ALGS)[number];

interface CreatedKey {
  kid: string;
  owner: string;
  alg: Alg;
  status: string;
  private_key_pem: string;
  private_jwk: JWK;
  public_jwk: JWK;
  example: { assertion: string; expires_at: string; curl: string };
}

const CURL_LINE = /curl -s -u '[^':]+:[^']+' -d grant_type=client_credentials (http:\/\/\S+)/;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const;

describe('service accounts end to end: CLI keys, jwt-bearer and private_key_jwt against `gatehouse serve --dev`', () => {
  let server: DevServer;
  let dataDir: string;
  const scratch = mkdtempSync(join(tmpdir(), 'gatehouse-sa-keys-'));
  let env: NodeJS.ProcessEnv;
  let tokenUrl: string;
  let issuer: URL;
  let as: oauth.AuthorizationServer;
  let jwks: ReturnType<typeof createRemoteJWKSet>;
  let accountId: string;
  const keys = new Map<Alg, CreatedKey>();
  /** Every private key the CLI printed: none of it may reach the database. */
  const printedKeys: CreatedKey[] = [];

  async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const out = await run(process.execPath, [BIN, ...args], { env, cwd: ROOT, timeout: 30_000 });
      return { code: 0, ...out };
    } catch (error) {
      const e = error as { code?: number | string; stdout?: string; stderr?: string };
      if (typeof e.code !== 'number') throw error;
      return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }

  async function cliJson<T = Record<string, unknown>>(args: string[]): Promise<T> {
    const result = await cli(args);
    assert.equal(result.code, 0, `gatehouse ${args.join(' ')} failed: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  }

  async function createKey(kind: 'service-account' | 'client', id: string, alg: Alg): Promise<CreatedKey> {
    const created = await cliJson<CreatedKey>([kind, 'key', 'create', id, '--env', 'DEVELOPMENT', '--alg', alg, '--json']);
    assert.equal(created.alg, alg);
    assert.equal(created.owner, id);
    printedKeys.push(created);
    return created;
  }

  before(async () => {
    server = await startDevServer();
    env = server.env;
    dataDir = server.dataDir;
    const port = server.port;
    const match = await server.waitFor(CURL_LINE, 'the curl line');
    tokenUrl = match[1] ?? '';
    assert.equal(tokenUrl, `http://127.0.0.1:${port}/envs/DEVELOPMENT/token`);
    issuer = new URL(tokenUrl.replace(/\/token$/, ''));
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
    assert.ok(as.grant_types_supported?.includes(JWT_BEARER), `metadata should list ${JWT_BEARER}`);
    jwks = createRemoteJWKSet(new URL(as.jwks_uri ?? ''));

    const account = await cliJson(['service-account', 'create', '--env', 'DEVELOPMENT', '--name', 'e2e', '--scope', SCOPES, '--json']);
    accountId = String(account.service_account_id);
    assert.match(accountId, /^sa_/);
    assert.equal(account.token_endpoint, tokenUrl, 'the CLI derives the same dev token endpoint as the server');
    for (const alg of ALGS) keys.set(alg, await createKey('service-account', accountId, alg));
  });

  after(async () => {
    try {
      await server?.stop();
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  const key = (alg: Alg): CreatedKey => {
    const found = keys.get(alg);
    assert.ok(found, `no ${alg} key was created`);
    return found;
  };

  /** Verifies an RFC 9068 access token against the published JWKS. */
  async function verifyAccessToken(token: string, expected: { sub: string; scope?: string }): Promise<JWTPayload> {
    const { payload } = await jwtVerify(token, jwks, { issuer: issuer.href, typ: 'at+jwt', audience: issuer.href });
    assert.equal(payload.sub, expected.sub);
    assert.equal(payload.client_id, expected.sub);
    if (expected.scope !== undefined) assert.deepEqual(String(payload.scope).split(' ').sort(), expected.scope.split(' ').sort());
    return payload;
  }

  /** A fresh assertion signed with jose from the private JWK the CLI printed. */
  async function signAssertion(created: CreatedKey, subject = accountId): Promise<string> {
    const privateKey = await importJWK(created.private_jwk, created.alg);
    return new SignJWT({})
      .setProtectedHeader({ alg: created.alg, kid: created.kid, typ: 'JWT' })
      .setIssuer(subject)
      .setSubject(subject)
      .setAudience(tokenUrl)
      .setIssuedAt()
      .setExpirationTime('5m')
      .setJti(randomUUID())
      .sign(privateKey);
  }

  /** The jwt-bearer grant through oauth4webapi (no client authentication, a bare client_id). */
  async function jwtBearer(assertion: string, parameters: Record<string, string> = {}): Promise<oauth.TokenEndpointResponse> {
    const client = { client_id: accountId };
    const response = await oauth.genericTokenEndpointRequest(as, client, oauth.None(), JWT_BEARER, { assertion, ...parameters }, insecure);
    return oauth.processGenericTokenEndpointResponse(as, client, response);
  }

  async function expectInvalidGrant(assertion: string, description: RegExp): Promise<void> {
    await assert.rejects(jwtBearer(assertion), (error: unknown) => {
      assert.ok(error instanceof oauth.ResponseBodyError, `expected an OAuth error response, got ${String(error)}`);
      assert.equal(error.status, 400);
      assert.equal(error.error, 'invalid_grant');
      assert.match(String(error.error_description), description);
      return true;
    });
  }

  async function authlib(created: CreatedKey, scope?: string): Promise<{ status: number; alg: string; assertion: string; response: Record<string, unknown> }> {
    const pemFile = join(scratch, `${created.kid}.pem`);
    writeFileSync(pemFile, created.private_key_pem, { mode: 0o600 });
    const args = [AUTHLIB_SCRIPT, tokenUrl, accountId, created.kid, pemFile, ...(scope ? [scope] : [])];
    const { stdout: out } = await run(PYTHON, args, { timeout: 30_000, env: { PATH: process.env.PATH } });
    return JSON.parse(out);
  }

  it("runs the printed example curl command: the README's three commands give a token", async () => {
    const created = key('ES256');
    assert.ok(created.example.curl.endsWith(` ${tokenUrl}`), `the example should call ${tokenUrl}: ${created.example.curl}`);
    assert.ok(created.example.curl.includes(`assertion=${created.example.assertion}`));
    const { stdout: out } = await run('sh', ['-c', created.example.curl], { timeout: 30_000, env: { PATH: process.env.PATH } });
    const body = JSON.parse(out) as Record<string, unknown>;
    assert.equal(body.token_type, 'Bearer', `unexpected response: ${out}`);
    assert.equal(body.expires_in, 3600);
    assert.equal(body.scope, SCOPES);
    await verifyAccessToken(String(body.access_token), { sub: accountId, scope: SCOPES });

    // The example assertion is single-use: the same command a second time is a replay.
    const { stdout: replay } = await run('sh', ['-c', created.example.curl], { timeout: 30_000, env: { PATH: process.env.PATH } });
    const refused = JSON.parse(replay) as Record<string, unknown>;
    assert.equal(refused.error, 'invalid_grant');
    assert.match(String(refused.error_description), /already used/);
  });

  for (const alg of ALGS) {
    it(`Authlib (Python) signs a ${alg} assertion with JWTBearerGrant.sign and gets a token`, async () => {
      const probe = await run(PYTHON, ['-c', 'import authlib, requests, cryptography']).then(
        () => undefined,
        (error: Error) => error.message,
      );
      if (probe !== undefined) assert.fail(`${PYTHON} cannot import authlib, requests and cryptography: ${probe}`);
      const result = await authlib(key(alg), 'reports:read');
      assert.equal(result.alg, alg, 'the script picks the algorithm from the key type');
      assert.equal(result.status, 200, `Authlib's ${alg} assertion was refused: ${JSON.stringify(result.response)}`);
      assert.equal(result.response.token_type, 'Bearer');
      assert.equal(result.response.scope, 'reports:read');
      const { payload } = await jwtVerify(result.assertion, await importJWK(key(alg).public_jwk, alg), { issuer: accountId, subject: accountId });
      assert.equal(payload.aud, tokenUrl);
      assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 300);
      await verifyAccessToken(String(result.response.access_token), { sub: accountId, scope: 'reports:read' });
    });
  }

  for (const alg of ALGS) {
    it(`oauth4webapi trades a jose-signed ${alg} assertion (genericTokenEndpointRequest) for a token`, async () => {
      const result = await jwtBearer(await signAssertion(key(alg)), { scope: 'reports:write' });
      assert.equal(result.token_type, 'bearer');
      assert.equal(result.scope, 'reports:write');
      await verifyAccessToken(result.access_token, { sub: accountId, scope: 'reports:write' });
    });
  }

  it('refuses a scope beyond the account with invalid_scope', async () => {
    await assert.rejects(jwtBearer(await signAssertion(key('ES256')), { scope: 'reports:delete' }), (error: unknown) => {
      assert.ok(error instanceof oauth.ResponseBodyError, String(error));
      assert.equal(error.error, 'invalid_scope');
      return true;
    });
  });

  it('authenticates a confidential client with private_key_jwt through oauth4webapi', async () => {
    const created = await cliJson(['client', 'create', '--env', 'DEVELOPMENT', '--name', 'pkjwt', '--scope', 'read', '--json']);
    const clientId = String(created.client_id);
    const clientKey = await createKey('client', clientId, 'ES256');
    assert.match(clientKey.example.curl, /client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer/);
    const privateKey = await importJWK(clientKey.private_jwk, 'ES256');
    assert.ok(!(privateKey instanceof Uint8Array), 'an asymmetric private key imports as a CryptoKey');
    const client = { client_id: clientId };
    const response = await oauth.clientCredentialsGrantRequest(as, client, oauth.PrivateKeyJwt({ key: privateKey, kid: clientKey.kid }), {}, insecure);
    const result = await oauth.processClientCredentialsResponse(as, client, response);
    await verifyAccessToken(result.access_token, { sub: clientId, scope: 'read' });

    // The printed example for a client key is a private_key_jwt client_credentials request.
    const { stdout: out } = await run('sh', ['-c', clientKey.example.curl], { timeout: 30_000, env: { PATH: process.env.PATH } });
    await verifyAccessToken(String((JSON.parse(out) as { access_token?: unknown }).access_token), { sub: clientId, scope: 'read' });

    // An Ed25519 key: oauth4webapi 3.x names it with the fully-specified alg "Ed25519" (RFC 9864),
    // which Gatehouse accepts for keys registered as EdDSA, as it accepts "EdDSA" itself.
    const edKey = await createKey('client', clientId, 'EdDSA');
    const edPrivate = await importJWK(edKey.private_jwk, 'EdDSA');
    assert.ok(!(edPrivate instanceof Uint8Array));
    for (const auth of [
      oauth.PrivateKeyJwt({ key: edPrivate, kid: edKey.kid }),
      oauth.PrivateKeyJwt({ key: edPrivate, kid: edKey.kid }, { [oauth.modifyAssertion]: (header) => Object.assign(header, { alg: 'EdDSA' }) }),
    ]) {
      const edResult = await oauth.processClientCredentialsResponse(as, client, await oauth.clientCredentialsGrantRequest(as, client, auth, {}, insecure));
      await verifyAccessToken(edResult.access_token, { sub: clientId, scope: 'read' });
    }

    // The same client key cannot be used as a jwt-bearer grant: it does not belong to a service account.
    const response2 = await oauth.genericTokenEndpointRequest(
      as,
      client,
      oauth.None(),
      JWT_BEARER,
      { assertion: await signAssertion(clientKey, clientId) },
      insecure,
    );
    await assert.rejects(oauth.processGenericTokenEndpointResponse(as, client, response2), (error: unknown) => {
      assert.ok(error instanceof oauth.ResponseBodyError, String(error));
      assert.equal(error.error, 'invalid_grant');
      return true;
    });
  });

  it('a revoked key stops working at once; the account’s other keys keep working', async () => {
    const doomed = await createKey('service-account', accountId, 'ES256');
    await verifyAccessToken((await jwtBearer(await signAssertion(doomed))).access_token, { sub: accountId });

    // A kid may start with '-' (a JWK thumbprint): `--` ends the options before it.
    const revoked = await cliJson(['service-account', 'key', 'revoke', '--env', 'DEVELOPMENT', '--json', '--', accountId, doomed.kid]);
    assert.equal(revoked.status, 'revoked');
    await expectInvalidGrant(await signAssertion(doomed), /revoked/);
    const python = await authlib(doomed);
    assert.equal(python.status, 400, JSON.stringify(python.response));
    assert.equal(python.response.error, 'invalid_grant');

    await verifyAccessToken((await jwtBearer(await signAssertion(key('RS256')))).access_token, { sub: accountId });
  });

  it('a disabled service account gets no token from any key until enabled again', async () => {
    const disabled = await cliJson(['service-account', 'disable', accountId, '--env', 'DEVELOPMENT', '--json']);
    assert.equal(disabled.enabled, false);
    for (const alg of ALGS) await expectInvalidGrant(await signAssertion(key(alg)), /disabled/);
    const python = await authlib(key('EdDSA'));
    assert.equal(python.status, 400, JSON.stringify(python.response));
    assert.equal(python.response.error, 'invalid_grant');

    const enabled = await cliJson(['service-account', 'enable', accountId, '--env', 'DEVELOPMENT', '--json']);
    assert.equal(enabled.enabled, true);
    await verifyAccessToken((await jwtBearer(await signAssertion(key('ES256')))).access_token, { sub: accountId });
  });

  it('stores no private key: not in any table or column, not in the raw database or WAL bytes', () => {
    assert.ok(printedKeys.length >= 5, 'the flow above created the keys this check looks for');
    const dbPath = join(dataDir, 'gatehouse.db');
    assert.ok(existsSync(dbPath), `${dbPath} should exist`);
    const cells: string[] = [];
    const db = new SqliteDatabase(dbPath, { readonly: true, fileMustExist: true });
    try {
      const tables = db.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[];
      assert.ok(tables.some((t) => t.name === 'client_keys'));
      for (const { name } of tables) {
        for (const row of db.prepare(`select * from "${name.replaceAll('"', '""')}"`).all() as Record<string, unknown>[]) {
          for (const [column, value] of Object.entries(row)) {
            const text = Buffer.isBuffer(value) ? `${value.toString('utf8')} ${value.toString('hex')} ${value.toString('base64url')}` : String(value);
            cells.push(`${name}.${column}=${text}`);
          }
        }
      }
    } finally {
      db.close();
    }
    const dump = cells.join('\n');
    const raw = ['', '-wal', '-journal'].map((suffix) => `${dbPath}${suffix}`).filter((path) => existsSync(path));
    const rawBytes = raw.map((path) => readFileSync(path));

    for (const created of printedKeys) {
      // Positive control: the public key is there, so the search looks where the keys are kept.
      const publicMember = String(created.public_jwk.x ?? created.public_jwk.n);
      assert.ok(dump.includes(created.kid) && dump.includes(publicMember), `the public key ${created.kid} should be stored`);
      const pemBody = created.private_key_pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
      assert.ok(pemBody.length > 60);
      assert.ok(!dump.includes(pemBody), `the PEM of ${created.kid} is stored`);
      for (const line of created.private_key_pem.split('\n').slice(2, -2)) assert.ok(!dump.includes(line), `a PEM line of ${created.kid} is stored`);
      const privateDer = Buffer.from(pemBody, 'base64');
      for (const member of PRIVATE_MEMBERS) {
        const value = created.private_jwk[member];
        if (member === 'd') assert.equal(typeof value, 'string', `${created.kid} private_jwk should have d`);
        if (typeof value !== 'string') continue;
        const bytes = Buffer.from(value, 'base64url');
        for (const encoded of [value, bytes.toString('base64'), bytes.toString('hex')]) {
          assert.ok(!dump.includes(encoded), `${member} of ${created.kid} is stored (${encoded.slice(0, 8)}…)`);
        }
        for (const [i, file] of rawBytes.entries()) {
          assert.equal(file.indexOf(value), -1, `${member} of ${created.kid} is in ${raw[i]}`);
          assert.equal(file.indexOf(bytes), -1, `the raw ${member} bytes of ${created.kid} are in ${raw[i]}`);
        }
      }
      for (const [i, file] of rawBytes.entries()) {
        assert.equal(file.indexOf(pemBody), -1, `the PEM of ${created.kid} is in ${raw[i]}`);
        assert.equal(file.indexOf(privateDer), -1, `the PKCS#8 DER of ${created.kid} is in ${raw[i]}`);
      }
    }
  });
});
