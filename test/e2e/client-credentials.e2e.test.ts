import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createRemoteJWKSet, decodeProtectedHeader, type JWTPayload, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { BIN, type DevServer, ROOT, startDevServer } from '../helpers/dev-server.ts';

const PYTHON = '/usr/bin/python3';
const AUTHLIB_SCRIPT = join(ROOT, 'test', 'e2e', 'authlib_client_credentials.py');
const run = promisify(execFile);
const insecure = { [oauth.allowInsecureRequests]: true } as const;

const CURL_LINE = /curl -s -u '([^':]+):([^']+)' -d grant_type=client_credentials (http:\/\/\S+)/;

describe('client_credentials end to end against `gatehouse serve --dev`', () => {
  let server: DevServer;
  let env: NodeJS.ProcessEnv;
  let clientId: string;
  let clientSecret: string;
  let tokenUrl: string;
  let issuer: URL;
  let as: oauth.AuthorizationServer;
  let jwks: ReturnType<typeof createRemoteJWKSet>;

  before(async () => {
    server = await startDevServer();
    env = server.env;
    const port = server.port;
    const match = await server.waitFor(CURL_LINE, 'the curl line');
    const stdout = server.stdout();
    [, clientId = '', clientSecret = '', tokenUrl = ''] = match;
    assert.match(stdout, new RegExp(`Gatehouse is listening on http://127\\.0\\.0\\.1:${port} \\(development mode\\)`));
    assert.equal(tokenUrl, `http://127.0.0.1:${port}/envs/DEVELOPMENT/token`);
    issuer = new URL(tokenUrl.replace(/\/token$/, ''));
  });

  after(async () => {
    await server?.stop();
  });

  /** Verifies an RFC 9068 access token against the environment's published JWKS. */
  async function verifyAccessToken(token: string, expected: { clientId: string; scope: string }): Promise<JWTPayload> {
    jwks ??= createRemoteJWKSet(new URL(as.jwks_uri ?? ''));
    const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: issuer.href, typ: 'at+jwt', audience: issuer.href });
    assert.match(protectedHeader.alg, /^(ES256|EdDSA)$/);
    assert.equal(typeof protectedHeader.kid, 'string');
    assert.equal(payload.client_id, expected.clientId);
    assert.equal(payload.sub, expected.clientId);
    assert.deepEqual(String(payload.scope).split(' ').sort(), expected.scope.split(' ').sort());
    assert.match(String(payload.jti), /^[0-9a-f-]{36}$/);
    assert.equal(typeof payload.iat, 'number');
    assert.equal(typeof payload.exp, 'number');
    const now = Math.floor(Date.now() / 1000);
    assert.ok(Math.abs((payload.iat ?? 0) - now) < 60, `iat ${payload.iat} should be close to ${now}`);
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 3600);
    return payload;
  }

  async function introspect(clientAuth: oauth.ClientAuth, id: string, token: string): Promise<oauth.IntrospectionResponse> {
    const response = await oauth.introspectionRequest(as, { client_id: id }, clientAuth, token, insecure);
    return oauth.processIntrospectionResponse(as, { client_id: id }, response);
  }

  it('publishes RFC 8414 metadata that oauth4webapi accepts', async () => {
    const response = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure });
    as = await oauth.processDiscoveryResponse(issuer, response);
    assert.equal(as.issuer, issuer.href);
    assert.equal(as.token_endpoint, tokenUrl);
    assert.equal(as.jwks_uri, `${issuer.href}/jwks.json`);
    assert.ok(as.grant_types_supported?.includes('client_credentials'));
    assert.deepEqual(as.token_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']);
  });

  for (const [method, auth] of [
    ['client_secret_basic', (secret: string) => oauth.ClientSecretBasic(secret)],
    ['client_secret_post', (secret: string) => oauth.ClientSecretPost(secret)],
  ] as const) {
    it(`issues a verifiable JWT to oauth4webapi with ${method}`, async () => {
      const client = { client_id: clientId };
      for (const [params, scope] of [
        [{}, 'read write'],
        [{ scope: 'read' }, 'read'],
      ] as const) {
        const response = await oauth.clientCredentialsGrantRequest(as, client, auth(clientSecret), params, insecure);
        const result = await oauth.processClientCredentialsResponse(as, client, response);
        assert.equal(result.token_type, 'bearer');
        assert.equal(result.expires_in, 3600);
        assert.equal(result.scope, scope);
        await verifyAccessToken(result.access_token, { clientId, scope });
      }
    });
  }

  it('refuses a wrong secret through oauth4webapi: 401 invalid_client with a Basic challenge', async () => {
    const client = { client_id: clientId };
    const response = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(`${clientSecret}x`), {}, insecure);
    let caught: unknown;
    await oauth.processClientCredentialsResponse(as, client, response).catch((error: unknown) => {
      caught = error;
    });
    // RFC 6749 §5.2: a failed Basic authentication answers 401 with WWW-Authenticate.
    assert.ok(caught instanceof oauth.WWWAuthenticateChallengeError, `expected a challenge error, got ${String(caught)}`);
    assert.equal(caught.status, 401);
    assert.deepEqual(
      caught.cause.map((c) => c.scheme),
      ['basic'],
    );
    assert.equal(((await caught.response.json()) as { error?: string }).error, 'invalid_client');
  });

  it('issues verifiable JWTs to Authlib (Python) with client_secret_basic and client_secret_post', async () => {
    const probe = await run(PYTHON, ['-c', 'import authlib, requests']).then(
      () => undefined,
      (error: Error) => error.message,
    );
    if (probe !== undefined) {
      assert.fail(`${PYTHON} cannot import authlib and requests (apt-get install python3-authlib python3-requests): ${probe}`);
    }
    const { stdout: out } = await run(PYTHON, [AUTHLIB_SCRIPT, tokenUrl, clientId, clientSecret], { timeout: 30_000, env: { PATH: process.env.PATH } });
    const tokens = JSON.parse(out) as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(tokens).sort(), ['client_secret_basic', 'client_secret_post']);
    const jtis = new Set<unknown>();
    for (const token of Object.values(tokens)) {
      assert.equal(token.token_type, 'Bearer');
      assert.equal(token.expires_in, 3600);
      assert.equal(token.scope, 'read write');
      const payload = await verifyAccessToken(String(token.access_token), { clientId, scope: 'read write' });
      jtis.add(payload.jti);
    }
    assert.equal(jtis.size, 2, 'each request gets its own token');
  });

  it('revokes a JWT: introspection goes from active to inactive', async () => {
    const client = { client_id: clientId };
    const auth = oauth.ClientSecretBasic(clientSecret);
    const result = await oauth.processClientCredentialsResponse(
      as,
      client,
      await oauth.clientCredentialsGrantRequest(as, client, auth, { scope: 'write' }, insecure),
    );
    const payload = await verifyAccessToken(result.access_token, { clientId, scope: 'write' });

    const active = await introspect(auth, clientId, result.access_token);
    assert.equal(active.active, true);
    assert.equal(active.client_id, clientId);
    assert.equal(active.scope, 'write');
    assert.equal(active.jti, payload.jti);
    assert.equal(active.iss, issuer.href);

    assert.ok(as.revocation_endpoint);
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth, result.access_token, insecure));
    assert.deepEqual(await introspect(auth, clientId, result.access_token), { active: false });
  });

  it('serves a client created by the CLI against the same data directory (opaque tokens)', async () => {
    const { stdout: out } = await run(
      process.execPath,
      [BIN, 'client', 'create', '--env', 'DEVELOPMENT', '--name', 'e2e', '--token-format', 'opaque', '--json'],
      { env, cwd: ROOT, timeout: 30_000 },
    );
    const created = JSON.parse(out) as { client_id: string; client_secret: string; issuer: string; token_format: string };
    assert.equal(created.issuer, issuer.href, 'the CLI derives the same dev issuer as the server');
    assert.equal(created.token_format, 'opaque');

    const client = { client_id: created.client_id };
    const auth = oauth.ClientSecretPost(created.client_secret);
    const result = await oauth.processClientCredentialsResponse(as, client, await oauth.clientCredentialsGrantRequest(as, client, auth, {}, insecure));
    assert.match(result.access_token, /^gat_[A-Za-z0-9_-]{43}$/);
    assert.throws(() => decodeProtectedHeader(result.access_token), 'an opaque token is not a JWT');

    const active = await introspect(auth, created.client_id, result.access_token);
    assert.equal(active.active, true);
    assert.equal(active.client_id, created.client_id);
    assert.equal(active.sub, created.client_id);

    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth, result.access_token, insecure));
    assert.deepEqual(await introspect(auth, created.client_id, result.access_token), { active: false });
  });
});
