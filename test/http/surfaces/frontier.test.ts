import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, importJWK, SignJWT } from 'jose';
import { type CreatedKey, ServiceAccountService } from '../../../src/admin/service-accounts.ts';
import { testDatabases } from '../../helpers/databases.ts';
import { basic, form, PUBLIC_URL, suiteStore, type TestApp } from '../../helpers/fixtures.ts';
import { createEnvironments, inlineSurfaces, jsonAnswer, postJson, surfacesConfig } from '../../helpers/surfaces.ts';

const TOKEN = '/v1beta1/auth/token';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** Asserts grpc-gateway's error body with the gRPC code Frontier documents for `status`. */
function assertFrontierError(res: Awaited<ReturnType<typeof postJson>>, status: number, grpcCode: number, reason?: string): Record<string, unknown> {
  const body = jsonAnswer(res, status);
  assert.deepEqual(Object.keys(body).sort(), ['code', 'details', 'message']);
  assert.equal(body.code, grpcCode, res.body);
  assert.equal(typeof body.message, 'string');
  const details = body.details as Record<string, unknown>[];
  assert.ok(Array.isArray(details) && details.length >= 1);
  assert.equal(details[0]?.['@type'], 'type.googleapis.com/google.rpc.ErrorInfo');
  if (reason) assert.equal(details[0]?.reason, reason);
  return body;
}

for (const database of await testDatabases()) {
  describe(`Frontier surface on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let client: { id: string; secret: string };
    let account: string;
    let key: CreatedKey;

    before(async () => {
      t = await suite.build(surfacesConfig());
      await createEnvironments(t);
      const created = await t.admin.createClient({ env: 'PRODUCTION', name: 'frontier-app', scopes: ['app:read'], defaultScopes: ['app:read'] });
      client = { id: created.client_id, secret: String(created.client_secret) };
      const accounts = new ServiceAccountService(t.config, t.store, t.clock);
      account = (await accounts.create({ env: 'PRODUCTION', name: 'robot', scopes: ['app:read'] })).service_account_id;
      key = await accounts.createKey('PRODUCTION', account, 'ES256');
    });

    const assertion = async (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) => {
      const now = Math.floor(t.clock.now() / 1000);
      return new SignJWT({ iss: account, sub: account, aud: `${PUBLIC_URL}${TOKEN}`, iat: now, exp: now + 300, jti: crypto.randomUUID(), ...claims })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })
        .sign(await importJWK(key.private_jwk, key.alg));
    };

    it('client_credentials with id and secret in the JSON body → 200 {access_token, token_type}', async () => {
      const body = jsonAnswer(await postJson(t, TOKEN, { grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret }), 200);
      assert.deepEqual(Object.keys(body).sort(), ['access_token', 'token_type']);
      assert.equal(body.token_type, 'Bearer');
      const claims = decodeJwt(String(body.access_token));
      assert.equal(claims.iss, `${PUBLIC_URL}/envs/PRODUCTION`);
      assert.equal(claims.sub, client.id);
    });

    it('client_credentials with HTTP Basic (JSON or form body)', async () => {
      jsonAnswer(await postJson(t, TOKEN, { grant_type: 'client_credentials' }, { authorization: basic(client.id, client.secret) }), 200);
      const res = await t.app.server.inject({
        method: 'POST',
        url: TOKEN,
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.id, client.secret) },
        payload: form({ grant_type: 'client_credentials' }),
      });
      jsonAnswer(res, 200);
    });

    it('jwt-bearer: an assertion whose kid names a generated service-account key and whose sub is the account', async () => {
      const body = jsonAnswer(await postJson(t, TOKEN, { grant_type: JWT_BEARER, assertion: await assertion() }), 200);
      assert.deepEqual(Object.keys(body).sort(), ['access_token', 'token_type']);
      assert.equal(decodeJwt(String(body.access_token)).sub, account);
      // The issuer is an accepted audience too.
      jsonAnswer(await postJson(t, TOKEN, { grant_type: JWT_BEARER, assertion: await assertion({ aud: `${PUBLIC_URL}/envs/PRODUCTION` }) }), 200);
    });

    it('3 → 400 for invalid arguments: no grant_type, no assertion, an unknown grant', async () => {
      assertFrontierError(await postJson(t, TOKEN, { client_id: client.id, client_secret: client.secret }), 400, 3, 'INVALID_REQUEST');
      assertFrontierError(await postJson(t, TOKEN, { grant_type: JWT_BEARER }), 400, 3);
      assertFrontierError(await postJson(t, TOKEN, { grant_type: 'authorization_code', code: 'x' }), 400, 3, 'UNSUPPORTED_GRANT_TYPE');
    });

    it('16 → 401 for a refused or replayed service-account assertion, as Frontier answers a bad key JWT', async () => {
      assertFrontierError(
        await postJson(t, TOKEN, { grant_type: JWT_BEARER, assertion: await assertion({ aud: 'https://elsewhere.example' }) }),
        401,
        16,
        'ASSERTION_REFUSED',
      );
      const once = await assertion();
      jsonAnswer(await postJson(t, TOKEN, { grant_type: JWT_BEARER, assertion: once }), 200);
      assertFrontierError(await postJson(t, TOKEN, { grant_type: JWT_BEARER, assertion: once }), 401, 16, 'ASSERTION_REFUSED');
    });

    it('16 → 401 for bad client credentials (with the Basic challenge when Basic was used)', async () => {
      assertFrontierError(
        await postJson(t, TOKEN, { grant_type: 'client_credentials', client_id: client.id, client_secret: 'wrong' }),
        401,
        16,
        'INVALID_CLIENT',
      );
      const res = await postJson(t, TOKEN, { grant_type: 'client_credentials' }, { authorization: basic(client.id, 'wrong') });
      assertFrontierError(res, 401, 16);
      assert.match(String(res.headers['www-authenticate']), /^Basic /);
    });

    it('7 → 403 when the client may not use the grant', async () => {
      const coder = await t.admin.createClient({
        env: 'PRODUCTION',
        name: 'web',
        grantTypes: ['authorization_code'],
        redirectUris: ['https://web.example.test/cb'],
      });
      const res = await postJson(t, TOKEN, { grant_type: 'client_credentials', client_id: coder.client_id, client_secret: String(coder.client_secret) });
      assertFrontierError(res, 403, 7, 'UNAUTHORIZED_CLIENT');
    });

    it('13 → 500 for an internal failure, with nothing internal in the message', async () => {
      const clients = t.store.clients;
      const original = clients.find;
      clients.find = async () => {
        throw new Error('connection to 10.0.0.7 refused');
      };
      try {
        const other = await postJson(t, TOKEN, { grant_type: 'client_credentials', client_id: 'cl_not_cached', client_secret: 'x' });
        const body = assertFrontierError(other, 500, 13, 'SERVER_ERROR');
        assert.doesNotMatch(JSON.stringify(body), /10\.0\.0\.7|refused/);
      } finally {
        clients.find = original;
      }
    });
  });

  describe(`Frontier surface serving a missing environment on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    it('5 → 404 when its environment does not exist', async () => {
      const t = await suite.build(inlineSurfaces([{ profile: 'frontier', environment: 'NOT_CREATED' }]));
      assertFrontierError(await postJson(t, TOKEN, { grant_type: 'client_credentials', client_id: 'a', client_secret: 'b' }), 404, 5, 'ENVIRONMENT_UNKNOWN');
    });
  });
}
