import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { base64url, decodeJwt, decodeProtectedHeader, generateKeyPair, importPKCS8, type JWTPayload, SignJWT } from 'jose';
import { decryptPrivateKey } from '../../src/crypto/key-encryption.ts';
import type { TokenFormat } from '../../src/domain/model.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, KEY_SECRET, PUBLIC_URL, suiteStore } from '../helpers/fixtures.ts';

const FORM = 'application/x-www-form-urlencoded';
const INACTIVE = { active: false };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Params = Record<string, string>;
interface Creds {
  id: string;
  secret: string;
}

function assertNoStore(res: LightMyRequestResponse): void {
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal(res.headers.pragma, 'no-cache');
}

function assertError(res: LightMyRequestResponse, status: number, code: string): void {
  assert.equal(res.statusCode, status, res.body);
  assertNoStore(res);
  const body = res.json() as Record<string, unknown>;
  assert.equal(body.error, code);
  assert.equal(typeof body.error_description, 'string');
}

function assertInactive(res: LightMyRequestResponse): void {
  assert.equal(res.statusCode, 200, res.body);
  assertNoStore(res);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.deepEqual(res.json(), INACTIVE);
}

function assertActive(res: LightMyRequestResponse): Record<string, unknown> {
  assert.equal(res.statusCode, 200, res.body);
  assertNoStore(res);
  const body = res.json() as Record<string, unknown>;
  assert.equal(body.active, true, res.body);
  return body;
}

function assertRevokeOk(res: LightMyRequestResponse): void {
  assert.equal(res.statusCode, 200, res.body);
  assertNoStore(res);
  assert.deepEqual(res.json(), {});
}

for (const database of await testDatabases()) {
  describe(`introspection and revocation on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let counter = 0;

    /** A fresh app with an environment holding clients `a` and `b` (of `format`) and a resource server `rs`. */
    async function setup(format: TokenFormat = 'jwt') {
      const t = await suite.build();
      const env = `ir-${database.name}-${++counter}`;
      await t.admin.createEnvironment(env);
      const make = async (envName: string, extra: { introspectAny?: boolean } = {}): Promise<Creds> => {
        const c = await t.admin.createClient({ env: envName, name: 'svc', scopes: ['read', 'write'], defaultScopes: ['read'], tokenFormat: format, ...extra });
        assert.ok(c.client_secret);
        return { id: c.client_id, secret: c.client_secret };
      };
      const a = await make(env);
      const b = await make(env);
      const rs = await make(env, { introspectAny: true });
      const post = (path: string, headers: Params, payload: string, envName = env) =>
        t.app.server.inject({ method: 'POST', url: `/envs/${envName}/${path}`, headers, payload });
      const call = (path: 'introspect' | 'revoke', c: Creds, params: Params, envName = env) =>
        post(path, { authorization: basic(c.id, c.secret), 'content-type': FORM }, form(params), envName);
      const token = async (c: Creds, envName = env, scope = 'read write'): Promise<string> => {
        const res = await post(
          'token',
          { authorization: basic(c.id, c.secret), 'content-type': FORM },
          form({ grant_type: 'client_credentials', scope }),
          envName,
        );
        assert.equal(res.statusCode, 200, res.body);
        return (res.json() as { access_token: string }).access_token;
      };
      const introspect = (c: Creds, tok: string, envName = env) => call('introspect', c, { token: tok }, envName);
      const revoke = (c: Creds, tok: string, extra: Params = {}) => call('revoke', c, { token: tok, ...extra });
      return { ...t, env, issuer: `${PUBLIC_URL}/envs/${env}`, a, b, rs, make, post, call, token, introspect, revoke };
    }

    describe('client authentication and parameters', () => {
      for (const path of ['introspect', 'revoke'] as const) {
        it(`${path}: refuses a request without client credentials with 401 invalid_client`, async () => {
          const t = await setup();
          const res = await t.post(path, { 'content-type': FORM }, form({ token: await t.token(t.a) }));
          assertError(res, 401, 'invalid_client');
          assert.equal(res.headers['www-authenticate'], undefined);
        });

        it(`${path}: refuses a wrong secret, in Basic or in the body, with 401 invalid_client`, async () => {
          const t = await setup();
          const tok = await t.token(t.a);
          const viaBasic = await t.call(path, { id: t.a.id, secret: `${t.a.secret}x` }, { token: tok });
          assertError(viaBasic, 401, 'invalid_client');
          assert.match(String(viaBasic.headers['www-authenticate']), /^Basic/);
          assertError(await t.post(path, { 'content-type': FORM }, form({ token: tok, client_id: t.a.id, client_secret: 'nope' })), 401, 'invalid_client');
          assertError(await t.call(path, { id: 'gh_unknown', secret: t.a.secret }, { token: tok }), 401, 'invalid_client');
        });

        it(`${path}: refuses a missing token with 400 invalid_request`, async () => {
          const t = await setup();
          assertError(await t.call(path, t.a, {}), 400, 'invalid_request');
          assertError(await t.call(path, t.a, { token_type_hint: 'access_token' }), 400, 'invalid_request');
        });

        it(`${path}: refuses a client of another environment with 401 invalid_client`, async () => {
          const t = await setup();
          const other = `${t.env}-other`;
          await t.admin.createEnvironment(other);
          const stranger = await t.make(other);
          assertError(await t.call(path, stranger, { token: await t.token(t.a) }), 401, 'invalid_client');
        });

        it(`${path}: answers an unknown environment with 404`, async () => {
          const t = await setup();
          assertError(await t.call(path, t.a, { token: 'x' }, 'no-such-env'), 404, 'not_found');
        });
      }

      it('accepts client_secret_post in a form body and in a JSON body', async () => {
        const t = await setup();
        const tok = await t.token(t.a);
        assertActive(await t.post('introspect', { 'content-type': FORM }, form({ token: tok, client_id: t.a.id, client_secret: t.a.secret })));
        const json = JSON.stringify({ token: tok, client_id: t.a.id, client_secret: t.a.secret });
        assertActive(await t.post('introspect', { 'content-type': 'application/json' }, json));
      });

      it('refuses introspection by a public client, even one flagged introspectAny', async () => {
        const t = await setup();
        const envRecord = await suite.store.environments.findByName(t.env);
        assert.ok(envRecord);
        const now = t.clock.now();
        // The admin service creates no public client while client_credentials is the only grant.
        const base = {
          envId: envRecord.id,
          name: 'spa',
          kind: 'public' as const,
          grantTypes: ['authorization_code'],
          scopes: ['read'],
          defaultScopes: ['read'],
        };
        const rest = {
          redirectUris: [],
          tokenFormat: 'jwt' as const,
          accessTokenTtl: null,
          allowMissingPkce: false,
          quota: null,
          enabled: true,
          createdAt: now,
          updatedAt: now,
        };
        await suite.store.clients.create({ ...base, ...rest, clientId: 'public-1', introspectAny: false }, undefined);
        await suite.store.clients.create({ ...base, ...rest, clientId: 'public-2', introspectAny: true }, undefined);
        const tok = await t.token(t.a);
        for (const clientId of ['public-1', 'public-2']) {
          assertError(await t.post('introspect', { 'content-type': FORM }, form({ token: tok, client_id: clientId })), 401, 'invalid_client');
          // A public client has no secret, so any secret it presents is wrong.
          assertError(
            await t.post('introspect', { 'content-type': FORM }, form({ token: tok, client_id: clientId, client_secret: 'x' })),
            401,
            'invalid_client',
          );
        }
        assertActive(await t.introspect(t.a, tok));
      });
    });

    for (const format of ['jwt', 'opaque'] as const) {
      describe(`introspection of ${format} tokens`, () => {
        it('describes an own active token', async () => {
          const t = await setup(format);
          const tok = await t.token(t.a);
          const body = assertActive(await t.introspect(t.a, tok));
          const iat = Math.floor(t.clock.now() / 1000);
          const expected: Record<string, unknown> = {
            active: true,
            scope: 'read write',
            client_id: t.a.id,
            token_type: 'Bearer',
            exp: iat + 3600,
            iat,
            sub: t.a.id,
            iss: t.issuer,
            jti: body.jti,
          };
          // A token that names no API is for the issuer, in both forms (RFC 8707).
          expected.aud = t.issuer;
          if (format === 'jwt') {
            assert.equal(body.jti, decodeJwt(tok).jti);
          } else {
            assert.ok(tok.startsWith('gat_'));
          }
          assert.match(String(body.jti), UUID);
          assert.deepEqual(body, expected);
        });

        it('answers exactly {"active":false} for strings that are no token', async () => {
          const t = await setup(format);
          for (const garbage of ['garbage', 'gat_', `gat_${'A'.repeat(43)}`, 'a.b.c', 'eyJhbGciOiJFUzI1NiJ9.e30.', '...']) {
            assertInactive(await t.introspect(t.a, garbage));
          }
        });

        it("hides another client's token unless the caller is a resource server", async () => {
          const t = await setup(format);
          const tok = await t.token(t.a);
          assertInactive(await t.introspect(t.b, tok));
          const body = assertActive(await t.introspect(t.rs, tok));
          assert.equal(body.client_id, t.a.id);
          assert.equal(body.sub, t.a.id);
        });

        it('reports a token inactive from the second it expires', async () => {
          const t = await setup(format);
          const tok = await t.token(t.a);
          t.clock.advance(3599_000);
          assertActive(await t.introspect(t.a, tok));
          t.clock.advance(1000);
          assertInactive(await t.introspect(t.a, tok));
          assertInactive(await t.introspect(t.rs, tok));
        });

        it("reports another environment's token inactive", async () => {
          const t = await setup(format);
          const other = `${t.env}-b`;
          await t.admin.createEnvironment(other);
          const foreign = await t.make(other);
          const tok = await t.token(foreign, other);
          assertActive(await t.introspect(foreign, tok, other));
          assertInactive(await t.introspect(t.a, tok));
          assertInactive(await t.introspect(t.rs, tok));
        });

        it('revokes an own token: 200, then inactive for owner and resource server', async () => {
          const t = await setup(format);
          const tok = await t.token(t.a);
          const kept = await t.token(t.a);
          assertRevokeOk(await t.revoke(t.a, tok));
          assertInactive(await t.introspect(t.a, tok));
          assertInactive(await t.introspect(t.rs, tok));
          assertActive(await t.introspect(t.a, kept));
          t.clock.advance(1800_000);
          assertInactive(await t.introspect(t.a, tok));
          t.clock.advance(1800_000);
          assertInactive(await t.introspect(t.a, tok));
        });

        it('answers 200 when revoking twice', async () => {
          const t = await setup(format);
          const tok = await t.token(t.a);
          assertRevokeOk(await t.revoke(t.a, tok));
          assertRevokeOk(await t.revoke(t.a, tok));
          assertInactive(await t.introspect(t.a, tok));
        });

        it("answers 200 but leaves another client's token active, even for a resource server", async () => {
          const t = await setup(format);
          const tok = await t.token(t.a);
          assertRevokeOk(await t.revoke(t.b, tok));
          assertRevokeOk(await t.revoke(t.rs, tok));
          assertActive(await t.introspect(t.a, tok));
        });

        for (const hint of ['access_token', 'refresh_token', 'no_such_type']) {
          it(`revokes with token_type_hint=${hint}`, async () => {
            const t = await setup(format);
            const tok = await t.token(t.a);
            assertRevokeOk(await t.revoke(t.a, tok, { token_type_hint: hint }));
            assertInactive(await t.introspect(t.a, tok));
          });
        }

        it('revokes with client_secret_post', async () => {
          const t = await setup(format);
          const tok = await t.token(t.a);
          assertRevokeOk(await t.post('revoke', { 'content-type': FORM }, form({ token: tok, client_id: t.a.id, client_secret: t.a.secret })));
          assertInactive(await t.introspect(t.a, tok));
        });
      });
    }

    describe('revocation of unknown tokens', () => {
      it('answers 200 for unknown and malformed tokens', async () => {
        const t = await setup();
        for (const tok of ['unknown', `gat_${'B'.repeat(43)}`, 'a.b.c']) assertRevokeOk(await t.revoke(t.a, tok));
        const expired = await t.token(t.a);
        t.clock.advance(3600_000);
        assertRevokeOk(await t.revoke(t.a, expired));
      });
    });

    describe('forged JWTs', () => {
      /** A client's genuine token, its header and claims, and a signer using the environment's real private key. */
      async function genuine() {
        const t = await setup('jwt');
        const tok = await t.token(t.a, t.env, 'read');
        const header = decodeProtectedHeader(tok);
        const claims = decodeJwt(tok);
        const envRecord = await suite.store.environments.findByName(t.env);
        const key = envRecord && (await suite.store.signingKeys.findActive(envRecord.id));
        assert.ok(envRecord && key && header.kid === key.kid);
        const realKey = await importPKCS8(decryptPrivateKey(key.privateKeySealed, KEY_SECRET, `${envRecord.id}/${key.kid}`), key.alg);
        const sign = (payload: JWTPayload, signingKey: Parameters<SignJWT['sign']>[0], alg = 'ES256', typ = 'at+jwt') =>
          new SignJWT(payload).setProtectedHeader({ alg, typ, kid: header.kid }).sign(signingKey);
        // Claims a forger would want: more scope than was granted.
        const elevated = { ...claims, scope: 'read write' };
        // Control: the same claims signed with the real key are accepted, so each refusal below is the signature's doing.
        assertActive(await t.introspect(t.a, await sign(elevated, realKey)));
        return { t, tok, header, claims, elevated, sign, realKey };
      }

      it('refuses a JWT whose signature or payload was altered', async () => {
        const { t, tok, elevated } = await genuine();
        const [h, p, s] = tok.split('.') as [string, string, string];
        const mid = Math.floor(s.length / 2);
        const flipped = `${s.slice(0, mid)}${s[mid] === 'A' ? 'B' : 'A'}${s.slice(mid + 1)}`;
        assertInactive(await t.introspect(t.a, `${h}.${p}.${flipped}`));
        const otherPayload = base64url.encode(JSON.stringify(elevated));
        assertInactive(await t.introspect(t.a, `${h}.${otherPayload}.${s}`));
        assertInactive(await t.introspect(t.a, `${h}.${p}.`));
        assertActive(await t.introspect(t.a, tok));
      });

      it('refuses a JWT re-signed with alg none', async () => {
        const { t, header, elevated } = await genuine();
        const noneHeader = base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: header.kid }));
        const forged = `${noneHeader}.${base64url.encode(JSON.stringify(elevated))}.`;
        assertInactive(await t.introspect(t.a, forged));
        assertInactive(await t.introspect(t.rs, forged));
      });

      it('refuses an HS256 JWT keyed with the published public key', async () => {
        const { t, header, elevated, sign } = await genuine();
        const jwks = (await t.app.server.inject({ method: 'GET', url: `/envs/${t.env}/jwks.json` })).json() as { keys: { kid: string }[] };
        const jwk = jwks.keys.find((k) => k.kid === header.kid);
        assert.ok(jwk);
        for (const secret of [JSON.stringify(jwk), JSON.stringify(jwks)]) {
          assertInactive(await t.introspect(t.a, await sign(elevated, new TextEncoder().encode(secret), 'HS256')));
        }
      });

      it('refuses JWTs signed with the real key that break RFC 9068 rules', async () => {
        const { t, claims, sign, realKey } = await genuine();
        // RFC 9068 §4: typ must be at+jwt, so an ID token or another JWT cannot pass for an access token.
        assertInactive(await t.introspect(t.a, await sign(claims, realKey, 'ES256', 'JWT')));
        const { jti: _jti, client_id: _clientId, ...withoutIds } = claims;
        const variants: JWTPayload[] = [
          { ...claims, iss: `${PUBLIC_URL}/envs/elsewhere` },
          { ...claims, aud: 'https://api.example.test' },
          { ...withoutIds, client_id: t.a.id },
          { ...withoutIds, jti: 'x' },
          { ...claims, exp: Math.floor(t.clock.now() / 1000) },
        ];
        for (const payload of variants) assertInactive(await t.introspect(t.a, await sign(payload, realKey)));
      });

      it('refuses a JWT signed by another key that claims the same kid', async () => {
        const { t, elevated, claims, sign } = await genuine();
        const { privateKey } = await generateKeyPair('ES256');
        assertInactive(await t.introspect(t.a, await sign(elevated, privateKey)));
        assertInactive(await t.introspect(t.a, await sign(claims, privateKey)));
      });
    });
  });
}
