import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { CompactSign, type CryptoKey, decodeJwt, decodeProtectedHeader, exportSPKI, importJWK, importPKCS8, type JWTHeaderParameters, SignJWT } from 'jose';
import { type CreatedKey, ServiceAccountService } from '../../src/admin/service-accounts.ts';
import type { Config } from '../../src/config/config.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, PUBLIC_URL, suiteStore } from '../helpers/fixtures.ts';

const GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const FORM = 'application/x-www-form-urlencoded';
const ALGORITHMS = ['ES256', 'EdDSA', 'RS256'] as const;

type Claims = Record<string, unknown>;
type Params = Record<string, string>;

const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function assertNoStore(res: LightMyRequestResponse): void {
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal(res.headers.pragma, 'no-cache');
}

/** Asserts an error response; `description` must match `error_description` (which check failed). */
function assertError(res: LightMyRequestResponse, status: number, code: string, description?: RegExp): string {
  assert.equal(res.statusCode, status, res.body);
  assertNoStore(res);
  const body = res.json() as Record<string, unknown>;
  assert.equal(body.error, code, res.body);
  assert.equal(typeof body.error_description, 'string');
  if (description) assert.match(String(body.error_description), description);
  return String(body.error_description);
}

/** Asserts a token response and returns the access token's claims (an RFC 9068 JWT). */
function assertToken(res: LightMyRequestResponse, scope = 'read'): Claims {
  assert.equal(res.statusCode, 200, res.body);
  assertNoStore(res);
  const body = res.json() as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.expires_in, 3600);
  assert.deepEqual(String(body.scope).split(' ').sort(), scope.split(' ').sort());
  const token = String(body.access_token);
  assert.equal(decodeProtectedHeader(token).typ, 'at+jwt');
  return decodeJwt(token);
}

/** Signs `claims` (undefined values dropped) with `key`; `header` overrides alg/kid/typ. */
async function sign(key: CreatedKey, claims: Claims, header: Claims = {}): Promise<string> {
  const privateKey = await importJWK(key.private_jwk, key.alg);
  const payload = Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined));
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header } as JWTHeaderParameters).sign(privateKey);
}

/** Signs arbitrary payload text (not necessarily a JSON object) with `key`. */
async function signRaw(key: CreatedKey, payload: string): Promise<string> {
  return new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: key.alg, kid: key.kid }).sign(await importJWK(key.private_jwk, key.alg));
}

for (const database of await testDatabases()) {
  describe(`jwt-bearer grant (RFC 7523 §2.1) on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let counter = 0;

    /** A fresh app and environment with a service account allowed read/write/admin (default read) and one ES256 key. */
    async function setup(overrides: Partial<Config> = {}) {
      const t = await suite.build(overrides);
      const env = `jb-${database.name}-${++counter}`;
      await t.admin.createEnvironment(env);
      const accounts = new ServiceAccountService(t.config, suite.store, t.clock);
      const account = await accounts.create({ env, name: 'robot', scopes: ['read', 'write', 'admin'], defaultScopes: ['read'] });
      const id = account.service_account_id;
      const key = await accounts.createKey(env, id, 'ES256');
      const issuer = `${PUBLIC_URL}/envs/${env}`;
      const tokenUrl = `${issuer}/token`;
      const now = () => Math.floor(t.clock.now() / 1000);
      const claims = (extra: Claims = {}, owner = id): Claims => ({
        iss: owner,
        sub: owner,
        aud: tokenUrl,
        iat: now(),
        exp: now() + 300,
        jti: randomUUID(),
        ...extra,
      });
      const assertion = (extra: Claims = {}, header: Claims = {}) => sign(key, claims(extra), header);
      const post = (payload: Params | string, headers: Params = {}, envName = env) =>
        t.app.server.inject({
          method: 'POST',
          url: `/envs/${envName}/token`,
          headers: { 'content-type': FORM, ...headers },
          payload: typeof payload === 'string' ? payload : form(payload),
        });
      const exchange = (jwt: string, extra: Params = {}, headers: Params = {}) => post({ grant_type: GRANT, assertion: jwt, ...extra }, headers);
      return { ...t, env, accounts, id, key, issuer, tokenUrl, now, claims, assertion, post, exchange };
    }
    type Setup = Awaited<ReturnType<typeof setup>>;

    describe('a valid assertion', () => {
      it('is exchanged for an access token whose subject and client are the service account', async () => {
        const s = await setup();
        for (const aud of [s.tokenUrl, s.issuer, ['https://rs.example.test', s.tokenUrl], [s.issuer, 'urn:other']]) {
          const claims = assertToken(await s.exchange(await s.assertion({ aud })));
          assert.match(s.id, /^sa_/);
          assert.equal(claims.sub, s.id);
          assert.equal(claims.client_id, s.id);
          assert.equal(claims.iss, s.issuer);
          assert.equal(claims.scope, 'read');
        }
      });

      it('works with keys of every supported algorithm, signed from the PKCS#8 PEM', async () => {
        const s = await setup();
        for (const alg of ALGORITHMS) {
          const key = await s.accounts.createKey(s.env, s.id, alg);
          assert.equal(key.alg, alg);
          const privateKey = await importPKCS8(key.private_key_pem, alg);
          const jwt = await new SignJWT(s.claims()).setProtectedHeader({ alg, kid: key.kid }).sign(privateKey);
          assert.equal(assertToken(await s.exchange(jwt)).sub, s.id, alg);
        }
      });

      it('accepts the edges of the clock-skew and lifetime windows', async () => {
        const s = await setup();
        const n = s.now();
        assert.equal(s.config.clockSkew, 30);
        assert.equal(s.config.assertionMaxLifetime, 3600);
        // exp is refused once exp <= now - skew, so 29 s (and 10 s) in the past still pass.
        for (const extra of [{ exp: n - 10 }, { exp: n - 29 }, { nbf: n + 30 }, { iat: n + 30 }, { exp: n + 3630 }, { iat: undefined, nbf: undefined }]) {
          assertToken(await s.exchange(await s.assertion(extra)));
        }
      });
    });

    describe('each failed check is 400 invalid_grant naming the check', () => {
      const fixedNow = (s: Setup) => s.now();
      const refusals: [string, (s: Setup) => Promise<string>, RegExp][] = [
        ['a missing iss', (s) => s.assertion({ iss: undefined }), /\biss\b/],
        ['a wrong iss', (s) => s.assertion({ iss: 'sa_someone_else' }), /\biss\b/],
        ['a missing sub', (s) => s.assertion({ sub: undefined }), /\bsub\b/],
        ['a wrong sub', (s) => s.assertion({ sub: 'sa_someone_else' }), /\bsub\b/],
        ['a missing aud', (s) => s.assertion({ aud: undefined }), /\baud\b/],
        ['a wrong aud', (s) => s.assertion({ aud: 'https://other.example.test/token' }), /\baud\b/],
        ['an aud array without this endpoint', (s) => s.assertion({ aud: ['https://other.example.test', `${s.issuer}/introspect`] }), /\baud\b/],
        ['a missing exp', (s) => s.assertion({ exp: undefined }), /\bexp\b/],
        ['an exp 60 s ago', (s) => s.assertion({ exp: fixedNow(s) - 60 }), /\bexp\b/],
        ['an exp exactly the clock skew ago', (s) => s.assertion({ exp: fixedNow(s) - 30 }), /\bexp\b/],
        ['an exp that is not a number', (s) => s.assertion({ exp: String(fixedNow(s) + 60) }), /\bexp\b/],
        ['an exp 2 h ahead', (s) => s.assertion({ exp: fixedNow(s) + 7200 }), /\bexp\b/],
        ['an exp 1 s beyond max lifetime + skew', (s) => s.assertion({ exp: fixedNow(s) + 3631 }), /\bexp\b/],
        ['an nbf 120 s ahead', (s) => s.assertion({ nbf: fixedNow(s) + 120 }), /\bnbf\b/],
        ['an nbf 31 s ahead', (s) => s.assertion({ nbf: fixedNow(s) + 31 }), /\bnbf\b/],
        ['an iat 120 s ahead', (s) => s.assertion({ iat: fixedNow(s) + 120 }), /\biat\b/],
        ['an iat 31 s ahead', (s) => s.assertion({ iat: fixedNow(s) + 31 }), /\biat\b/],
        ['a missing jti', (s) => s.assertion({ jti: undefined }), /\bjti\b/],
        ['an empty jti', (s) => s.assertion({ jti: '' }), /\bjti\b/],
        ['a jti of 257 characters', (s) => s.assertion({ jti: 'j'.repeat(257) }), /\bjti\b/],
        ['an unknown kid', (s) => s.assertion({}, { kid: 'no-such-kid' }), /no key no-such-kid is registered/],
        ['no kid', (s) => s.assertion({}, { kid: undefined }), /\bkid\b/],
        ['alg none', async (s) => `${b64({ alg: 'none', kid: s.key.kid })}.${b64(s.claims())}.`, /algorithm/],
        [
          'HS256 keyed with the public JWK',
          async (s) =>
            new SignJWT(s.claims()).setProtectedHeader({ alg: 'HS256', kid: s.key.kid }).sign(new TextEncoder().encode(JSON.stringify(s.key.public_jwk))),
          /algorithm/,
        ],
        [
          'HS256 keyed with the public PEM',
          async (s) => {
            const pem = await exportSPKI((await importJWK(s.key.public_jwk, 'ES256', { extractable: true })) as CryptoKey);
            return new SignJWT(s.claims()).setProtectedHeader({ alg: 'HS256', kid: s.key.kid }).sign(new TextEncoder().encode(pem));
          },
          /algorithm/,
        ],
        [
          'a tampered payload',
          async (s) => {
            const [h, , sig] = (await s.assertion()).split('.');
            return `${h}.${b64(s.claims({ scope: 'admin' }))}.${sig}`;
          },
          /signature/,
        ],
        ['a payload that is not JSON', (s) => signRaw(s.key, 'not json'), /payload.*JSON/],
        ['a JSON array payload', (s) => signRaw(s.key, JSON.stringify([s.claims()])), /payload.*JSON/],
        ['the string abc', async () => 'abc', /well-formed/],
        ['a.b.c', async () => 'a.b.c', /well-formed/],
        ['a five-part JWE-like string', async (s) => `${b64({ alg: 'RSA-OAEP', enc: 'A256GCM', kid: s.key.kid })}.a.b.c.d`, /well-formed/],
      ];
      for (const [label, make, description] of refusals) {
        it(`refuses ${label}`, async () => {
          const s = await setup();
          assertError(await s.exchange(await make(s)), 400, 'invalid_grant', description);
        });
      }
    });

    describe('keys and accounts', () => {
      it('refuses a revoked key at once, for old and fresh assertions, while other keys keep working', async () => {
        const s = await setup();
        const signedBefore = await s.assertion();
        const second = await s.accounts.createKey(s.env, s.id, 'EdDSA');
        assert.equal((await s.accounts.revokeKey(s.env, s.id, s.key.kid)).status, 'revoked');
        assertError(await s.exchange(signedBefore), 400, 'invalid_grant', /revoked/);
        assertError(await s.exchange(await s.assertion()), 400, 'invalid_grant', /revoked/);
        assertToken(await s.exchange(await sign(second, s.claims())));
      });

      it("refuses another account's key claiming to be this account, naming iss", async () => {
        const s = await setup();
        const other = await s.accounts.create({ env: s.env, name: 'other', scopes: ['read'] });
        const otherKey = await s.accounts.createKey(s.env, other.service_account_id, 'ES256');
        assertError(await s.exchange(await sign(otherKey, s.claims())), 400, 'invalid_grant', /\biss\b/);
        assertToken(await s.exchange(await sign(otherKey, s.claims({}, other.service_account_id))));
      });

      it('refuses a disabled account and accepts it again once re-enabled, at once, though this node caches it', async () => {
        const s = await setup();
        // Used once first: the node has the key and the account cached. The changes below are
        // written as another node or the CLI writes them: this node's caches are not told.
        assertToken(await s.exchange(await s.assertion()));
        await s.accounts.setEnabled(s.env, s.id, false);
        const refused = await s.assertion();
        assertError(await s.exchange(refused), 400, 'invalid_grant', /disabled/);
        await s.accounts.setEnabled(s.env, s.id, true);
        // The refused assertion was not spent.
        assertToken(await s.exchange(refused));
      });

      it('reads an account cached as disabled again: enabled elsewhere, it works at once', async () => {
        const s = await setup();
        await s.accounts.setEnabled(s.env, s.id, false);
        assertError(await s.exchange(await s.assertion()), 400, 'invalid_grant', /disabled/);
        await s.accounts.setEnabled(s.env, s.id, true);
        assertToken(await s.exchange(await s.assertion()));
      });

      it('refuses a key revoked by another writer at once, though this node has it cached', async () => {
        const s = await setup();
        assertToken(await s.exchange(await s.assertion()));
        await s.accounts.revokeKey(s.env, s.id, s.key.kid);
        assertError(await s.exchange(await s.assertion()), 400, 'invalid_grant', /revoked/);
        assertError(await s.exchange(await s.assertion()), 400, 'invalid_grant', /revoked/);
      });

      it("refuses a header alg other than the key's registered alg", async () => {
        const s = await setup();
        const ed = await s.accounts.createKey(s.env, s.id, 'EdDSA');
        // Signed by a genuine ES256 key of the same account, but claiming the EdDSA key's kid.
        assertError(await s.exchange(await sign(s.key, s.claims(), { kid: ed.kid })), 400, 'invalid_grant', /EdDSA.*ES256/);
        assertToken(await s.exchange(await sign(ed, s.claims())));
      });

      it("refuses a confidential client's key: not a service account", async () => {
        const s = await setup();
        const client = await s.admin.createClient({ env: s.env, name: 'app', scopes: ['read'] });
        const key = await s.accounts.createKey(s.env, client.client_id, 'ES256', 'client');
        assertError(await s.exchange(await sign(key, s.claims({}, client.client_id))), 400, 'invalid_grant', /service account/);
      });

      it("refuses the assertion at another environment's token endpoint (unknown kid there)", async () => {
        const s = await setup();
        const other = `${s.env}-b`;
        await s.admin.createEnvironment(other);
        const jwt = await s.assertion({ aud: [s.tokenUrl, `${PUBLIC_URL}/envs/${other}/token`] });
        assertError(await s.post({ grant_type: GRANT, assertion: jwt }, {}, other), 400, 'invalid_grant', /no key .* is registered/);
        assertToken(await s.exchange(jwt));
      });
    });

    describe('request parameters', () => {
      it('answers two assertion parameters with 400 invalid_request', async () => {
        const s = await setup();
        const [a, b] = [await s.assertion(), await s.assertion()];
        const payload = `grant_type=${encodeURIComponent(GRANT)}&assertion=${a}&assertion=${b}`;
        assertError(await s.post(payload), 400, 'invalid_request', /assertion/);
      });

      it('answers a missing assertion with 400 invalid_request', async () => {
        const s = await setup();
        assertError(await s.post({ grant_type: GRANT }), 400, 'invalid_request', /assertion/);
      });

      it('grants requested scopes within the account, the defaults when none, and refuses others', async () => {
        const s = await setup();
        assertToken(await s.exchange(await s.assertion(), { scope: 'write admin' }), 'write admin');
        assertToken(await s.exchange(await s.assertion()), 'read');
        assertError(await s.exchange(await s.assertion(), { scope: 'read delete' }), 400, 'invalid_scope');
      });

      it('does not burn an assertion refused for its scope: the same one works with a valid scope', async () => {
        const s = await setup();
        const jwt = await s.assertion();
        assertError(await s.exchange(jwt, { scope: 'delete' }), 400, 'invalid_scope');
        assertToken(await s.exchange(jwt, { scope: 'write' }), 'write');
      });

      it('accepts a bare client_id naming the account (RFC 7521 §4.1) and refuses one naming another', async () => {
        const s = await setup();
        assertToken(await s.exchange(await s.assertion(), { client_id: s.id }));
        assertError(await s.exchange(await s.assertion(), { client_id: 'sa_someone_else' }), 400, 'invalid_grant', /client_id/);
      });
    });

    describe('jti single use', () => {
      it('refuses the second use of the same assertion', async () => {
        const s = await setup();
        const jwt = await s.assertion();
        assertToken(await s.exchange(jwt));
        assertError(await s.exchange(jwt), 400, 'invalid_grant', /\bjti\b/);
      });

      it('does not burn the jti of an assertion refused by an earlier check', async () => {
        const s = await setup();
        const jti = randomUUID();
        assertError(await s.exchange(await s.assertion({ jti, aud: 'https://elsewhere.example.test' })), 400, 'invalid_grant', /\baud\b/);
        assertToken(await s.exchange(await s.assertion({ jti })));
      });

      it('keeps a jti per account and until exp (plus skew), then lets it be used again', async () => {
        const s = await setup();
        const other = await s.accounts.create({ env: s.env, name: 'other', scopes: ['read'] });
        const otherKey = await s.accounts.createKey(s.env, other.service_account_id, 'ES256');
        const jti = 'shared-jti';
        assertToken(await s.exchange(await s.assertion({ jti, exp: s.now() + 60 })));
        assertError(await s.exchange(await s.assertion({ jti, exp: s.now() + 600 })), 400, 'invalid_grant', /\bjti\b/);
        assertToken(await s.exchange(await sign(otherKey, s.claims({ jti }, other.service_account_id))));
        s.clock.advance((60 + s.config.clockSkew + 1) * 1000);
        assertToken(await s.exchange(await s.assertion({ jti, exp: s.now() + 600 })));
      });

      // RFC 7523 §3: used jti values are kept for as long as the assertion would be accepted. The
      // verifier accepts an assertion until exp + clock skew, so its jti must be kept as long.
      it('refuses a replay of an assertion whose exp passed less than the clock skew ago', async () => {
        const s = await setup();
        const pastExp = await s.assertion({ exp: s.now() - 10 });
        assertToken(await s.exchange(pastExp));
        assertError(await s.exchange(pastExp), 400, 'invalid_grant', /\bjti\b/);
      });

      it('refuses a replay after exp while the assertion still verifies (inside exp + clock skew)', async () => {
        const s = await setup();
        const jwt = await s.assertion({ exp: s.now() + 60 });
        assertToken(await s.exchange(jwt));
        s.clock.advance(70_000); // 10 s past exp, inside the 30 s skew
        assertError(await s.exchange(jwt), 400, 'invalid_grant', /\bjti\b/);
      });

      it('lets exactly one of 20 simultaneous uses of one assertion succeed', async () => {
        const s = await setup();
        const jwt = await s.assertion();
        const results = await Promise.all(Array.from({ length: 20 }, () => s.exchange(jwt)));
        const statuses = results.map((r) => r.statusCode);
        assert.equal(statuses.filter((code) => code === 200).length, 1, `statuses: ${statuses.join(',')}`);
        assert.ok(
          statuses.every((code) => code < 500),
          `statuses: ${statuses.join(',')}`,
        );
        for (const res of results) {
          if (res.statusCode === 200) assertToken(res);
          else assertError(res, 400, 'invalid_grant', /\bjti\b/);
        }
      });
    });

    describe('client authentication alongside the assertion', () => {
      async function withSecretAccount(s: Setup, name = 'secretive') {
        const account = await s.accounts.create({ env: s.env, name, scopes: ['read'], withSecret: true });
        assert.ok(account.client_secret);
        const key = await s.accounts.createKey(s.env, account.service_account_id, 'ES256');
        return { id: account.service_account_id, secret: account.client_secret, key };
      }

      it('accepts Basic with the service account’s own secret', async () => {
        const s = await setup();
        const a = await withSecretAccount(s);
        const claims = assertToken(await s.exchange(await sign(a.key, s.claims({}, a.id)), {}, { authorization: basic(a.id, a.secret) }));
        assert.equal(claims.sub, a.id);
      });

      it('refuses Basic of another service account with 400 invalid_grant', async () => {
        const s = await setup();
        const [a, b] = [await withSecretAccount(s, 'a'), await withSecretAccount(s, 'b')];
        const res = await s.exchange(await sign(a.key, s.claims({}, a.id)), {}, { authorization: basic(b.id, b.secret) });
        assertError(res, 400, 'invalid_grant', /another service account/);
      });

      it('refuses Basic of a confidential client, which may not use this grant (400 unauthorized_client)', async () => {
        const s = await setup();
        const client = await s.admin.createClient({ env: s.env, name: 'app', scopes: ['read'] });
        assert.ok(client.client_secret);
        const res = await s.exchange(await s.assertion(), {}, { authorization: basic(client.client_id, client.client_secret) });
        assertError(res, 400, 'unauthorized_client');
      });

      it('answers a wrong secret with 401 invalid_client and a Basic challenge', async () => {
        const s = await setup();
        const a = await withSecretAccount(s);
        const res = await s.exchange(await sign(a.key, s.claims({}, a.id)), {}, { authorization: basic(a.id, `${a.secret}x`) });
        assertError(res, 401, 'invalid_client');
        assert.match(String(res.headers['www-authenticate']), /^Basic/);
      });

      it('lets a service account created with a secret use client_credentials as itself', async () => {
        const s = await setup();
        const a = await withSecretAccount(s);
        const claims = assertToken(await s.post({ grant_type: 'client_credentials' }, { authorization: basic(a.id, a.secret) }));
        assert.equal(claims.sub, a.id);
        assert.equal(claims.client_id, a.id);
      });
    });
  });
}
