import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import type { Config } from '../../src/config/config.ts';
import type { SigningKey } from '../../src/domain/model.ts';
import { publicJwks } from '../../src/oauth/signing-keys.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, buildTestApp, form, PUBLIC_URL, suiteStore } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/net.ts';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];
const FORM = 'application/x-www-form-urlencoded';

/** Every property name anywhere in a JSON value. */
function propertyNames(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) propertyNames(v, found);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      found.add(k);
      propertyNames(v, found);
    }
  }
  return found;
}

function assertPublicOnly(jwks: unknown): void {
  const names = propertyNames(jwks);
  for (const member of PRIVATE_MEMBERS) assert.ok(!names.has(member), `JWKS exposes ${member}`);
}

for (const database of await testDatabases()) {
  describe(`discovery and signing keys on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let counter = 0;

    async function setup(overrides: Partial<Config> = {}) {
      const t = await suite.build(overrides);
      const env = `dk-${database.name}-${++counter}`;
      const created = await t.admin.createEnvironment(env);
      const client = await t.admin.createClient({ env, name: 'svc', scopes: ['read'] });
      assert.ok(client.client_secret);
      const creds = { id: client.client_id, secret: client.client_secret };
      const get = (url: string, headers: Record<string, string> = {}) => t.app.server.inject({ method: 'GET', url, headers });
      const jwks = async (name = env): Promise<JSONWebKeySet> => {
        const res = await get(`/envs/${name}/jwks.json`);
        assert.equal(res.statusCode, 200, res.body);
        assert.match(String(res.headers['content-type']), /^application\/jwk-set\+json/);
        const body = res.json() as JSONWebKeySet;
        assertPublicOnly(body);
        return body;
      };
      const token = async (c = creds, name = env): Promise<string> => {
        const res = await t.app.server.inject({
          method: 'POST',
          url: `/envs/${name}/token`,
          headers: { authorization: basic(c.id, c.secret), 'content-type': FORM },
          payload: form({ grant_type: 'client_credentials' }),
        });
        assert.equal(res.statusCode, 200, res.body);
        return (res.json() as { access_token: string }).access_token;
      };
      const introspect = async (tok: string, c = creds): Promise<boolean> => {
        const res = await t.app.server.inject({
          method: 'POST',
          url: `/envs/${env}/introspect`,
          headers: { authorization: basic(c.id, c.secret), 'content-type': FORM },
          payload: form({ token: tok }),
        });
        assert.equal(res.statusCode, 200, res.body);
        return (res.json() as { active: boolean }).active;
      };
      const envId = (await t.store.environments.findByName(env))?.id ?? '';
      // Every environment is created with an RS256 key for ID Tokens beside its access-token key.
      const rsKid = (await t.admin.listKeys(env)).find((k) => k.alg === 'RS256')?.kid ?? '';
      assert.ok(envId && rsKid);
      return { ...t, env, envId, kid: created.kid, rsKid, issuer: `${PUBLIC_URL}/envs/${env}`, creds, get, jwks, token, introspect };
    }

    describe('RFC 8414 metadata', () => {
      const paths = (env: string) => [`/.well-known/oauth-authorization-server/envs/${env}`, `/envs/${env}/.well-known/oauth-authorization-server`];

      it('describes the environment with URLs under the public URL', async () => {
        const t = await setup();
        for (const path of paths(t.env)) {
          const res = await t.get(path);
          assert.equal(res.statusCode, 200, res.body);
          assert.match(String(res.headers['content-type']), /^application\/json/);
          const m = res.json() as Record<string, unknown>;
          assert.equal(m.issuer, t.issuer);
          assert.equal(m.token_endpoint, `${t.issuer}/token`);
          assert.equal(m.jwks_uri, `${t.issuer}/jwks.json`);
          assert.equal(m.introspection_endpoint, `${t.issuer}/introspect`);
          assert.equal(m.revocation_endpoint, `${t.issuer}/revoke`);
          assert.equal(m.authorization_endpoint, `${t.issuer}/authorize`);
          assert.deepEqual(m.grant_types_supported, [
            'authorization_code',
            'refresh_token',
            'client_credentials',
            'urn:ietf:params:oauth:grant-type:jwt-bearer',
            'urn:ietf:params:oauth:grant-type:device_code',
            'urn:ietf:params:oauth:grant-type:token-exchange',
          ]);
          assert.equal(m.device_authorization_endpoint, `${t.issuer}/device_authorization`);
          assert.deepEqual(m.token_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']);
          assert.deepEqual(m.token_endpoint_auth_signing_alg_values_supported, ['ES256', 'EdDSA', 'RS256']);
          assert.deepEqual(m.introspection_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post', 'private_key_jwt']);
          assert.ok((m.access_token_signing_alg_values_supported as string[]).includes('ES256'));
          assert.ok(!(m.access_token_signing_alg_values_supported as string[]).includes('none'));
        }
      });

      it('never derives URLs from the Host or forwarding headers', async () => {
        const t = await setup();
        const headers = {
          host: 'evil.example:8443',
          'x-forwarded-host': 'evil.example',
          'x-forwarded-proto': 'http',
          forwarded: 'host=evil.example;proto=http',
        };
        for (const path of paths(t.env)) {
          const res = await t.get(path, headers);
          assert.equal(res.statusCode, 200, res.body);
          const m = res.json() as Record<string, unknown>;
          assert.ok(!res.body.includes('evil.example'));
          for (const key of ['issuer', 'token_endpoint', 'jwks_uri', 'introspection_endpoint', 'revocation_endpoint']) {
            assert.ok(String(m[key]).startsWith(`${t.issuer}`), `${key}: ${String(m[key])}`);
          }
        }
      });

      it('serves the endpoints it advertises', async () => {
        const t = await setup();
        const m = (await t.get(paths(t.env)[0] ?? '')).json() as Record<string, string>;
        const jwks = await t.get(new URL(m.jwks_uri ?? '').pathname);
        assert.equal(jwks.statusCode, 200);
        const tok = await t.token();
        const res = await t.app.server.inject({
          method: 'POST',
          url: new URL(m.introspection_endpoint ?? '').pathname,
          headers: { authorization: basic(t.creds.id, t.creds.secret), 'content-type': FORM },
          payload: form({ token: tok }),
        });
        assert.equal((res.json() as { active: boolean }).active, true);
        assert.equal(decodeProtectedHeader(tok).kid, t.kid);
      });

      it('answers an unknown environment with 404', async () => {
        const t = await setup();
        for (const path of [...paths('no-such-env'), '/envs/no-such-env/jwks.json']) {
          const res: LightMyRequestResponse = await t.get(path);
          assert.equal(res.statusCode, 404, path);
          assert.equal((res.json() as { error: string }).error, 'not_found');
        }
      });
    });

    describe('JWKS', () => {
      it('publishes public members only, with kid, alg, use and kty', async () => {
        const t = await setup();
        const { keys } = await t.jwks();
        assert.equal(keys.length, 2, 'the access-token key and the RS256 key');
        const key = keys.find((k) => k.kid === t.kid);
        assert.deepEqual(Object.keys(key ?? {}).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
        assert.equal(key?.alg, 'ES256');
        assert.equal(key?.use, 'sig');
        assert.equal(key?.kty, 'EC');
        assert.equal(key?.crv, 'P-256');
        const rsa = keys.find((k) => k.kid === t.rsKid);
        assert.deepEqual(Object.keys(rsa ?? {}).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
        assert.equal(rsa?.alg, 'RS256');
        assert.equal(rsa?.use, 'sig');
        assert.equal(rsa?.kty, 'RSA');
        assert.equal(rsa?.e, 'AQAB');
        assert.equal(Buffer.from(rsa?.n ?? '', 'base64url').length * 8, 2048);
      });

      it('signs with the RS256 key when asked for RS256, with the access-token key otherwise; both verify against the JWKS', async () => {
        const t = await setup();
        const keys = t.app.core.keys;
        assert.deepEqual(await keys.algorithms(t.envId), ['RS256', 'ES256']);
        const rs = await keys.activeKey(t.envId, 'RS256');
        assert.deepEqual([rs.kid, rs.alg], [t.rsKid, 'RS256']);
        const es = await keys.activeKey(t.envId, 'ES256');
        assert.deepEqual([es.kid, es.alg], [t.kid, 'ES256']);
        const access = await keys.activeKey(t.envId);
        assert.deepEqual([access.kid, access.alg], [t.kid, 'ES256'], 'access tokens never get the RS256 key');
        await assert.rejects(keys.activeKey(t.envId, 'EdDSA'), /has no active EdDSA signing key/);
        const jwks = createLocalJWKSet(await t.jwks());
        for (const key of [rs, es]) {
          const jwt = await new SignJWT({ sub: 'u1' })
            .setProtectedHeader({ alg: key.alg, kid: key.kid })
            .setIssuer(t.issuer)
            .setIssuedAt(Math.floor(t.clock.now() / 1000))
            .sign(key.privateKey);
          const { protectedHeader } = await jwtVerify(jwt, jwks, { issuer: t.issuer, currentDate: new Date(t.clock.now()) });
          assert.equal(protectedHeader.alg, key.alg);
        }
        // Rotating the RS256 lineage leaves the access-token key signing, and the reverse.
        t.clock.advance(1);
        const rotated = await t.admin.rotateKeys(t.env, { now: true, alg: 'RS256' });
        const nextRs = rotated.find((k) => k.alg === 'RS256' && k.status === 'next');
        assert.ok(nextRs);
        t.clock.advance(t.config.cacheTtl * 1000 + 1000);
        assert.equal((await keys.activeKey(t.envId, 'RS256')).kid, nextRs.kid);
        assert.equal((await keys.activeKey(t.envId)).kid, t.kid);
        assert.equal(decodeProtectedHeader(await t.token()).kid, t.kid);
      });

      it('strips private members even if a stored JWK carried them', () => {
        const jwk = { kty: 'EC', crv: 'P-256', x: 'X', y: 'Y', d: 'D', kid: 'k1', alg: 'ES256', use: 'sig', p: 'P', q: 'Q', dp: '1', dq: '2', qi: '3', k: 'K' };
        const key = {
          kid: 'k1',
          envId: 'e',
          alg: 'ES256',
          publicJwk: jwk,
          privateKeySealed: '',
          status: 'active',
          createdAt: 0,
          activateAt: 0,
          retiredAt: null,
          publishUntil: null,
        };
        const published = publicJwks([key as SigningKey]);
        assertPublicOnly(published);
        assert.deepEqual(published.keys, [{ kty: 'EC', crv: 'P-256', x: 'X', y: 'Y', kid: 'k1', alg: 'ES256', use: 'sig' }]);
      });

      it('gives each environment its own keys', async () => {
        const t = await setup();
        const other = `${t.env}-b`;
        const { kid } = await t.admin.createEnvironment(other);
        const [a, b] = [await t.jwks(), await t.jwks(other)];
        for (const alg of ['ES256', 'RS256']) {
          const [ka, kb] = [a.keys.find((k) => k.alg === alg), b.keys.find((k) => k.alg === alg)];
          assert.ok(ka && kb);
          assert.notEqual(ka.kid, kb.kid);
          assert.notEqual(ka.x ?? ka.n, kb.x ?? kb.n);
        }
        assert.equal(b.keys.find((k) => k.alg === 'ES256')?.kid, kid);
      });
    });

    describe('key rotation', () => {
      it('publishes the new key at once, signs with it after the cache bound, keeps the old one published until its tokens expired', async () => {
        const t = await setup();
        const oldToken = await t.token();
        assert.equal(decodeProtectedHeader(oldToken).kid, t.kid);

        const rotatedAt = t.clock.now();
        const keys = (await t.admin.rotateKeys(t.env, { now: true })).filter((k) => k.alg !== 'RS256');
        // `--now`: the new key signs once every node has read it, GATEHOUSE_CACHE_TTL + 1 s later.
        const activatesAt = rotatedAt + t.config.cacheTtl * 1000 + 1000;
        const publishUntil = activatesAt + (t.config.maxAccessTokenTtl + t.config.cacheTtl) * 1000;
        assert.equal(keys.length, 2);
        const next = keys.find((k) => k.status === 'next');
        const current = keys.find((k) => k.status === 'active');
        assert.ok(next && current);
        assert.notEqual(next.kid, t.kid);
        assert.equal(next.activate_at, new Date(activatesAt).toISOString());
        assert.deepEqual(current, { ...current, kid: t.kid, published: true, retired_at: new Date(activatesAt).toISOString() });
        assert.equal(current.publish_until, new Date(publishUntil).toISOString());
        assert.equal(next.published, true);
        assert.deepEqual((await t.jwks()).keys.map((k) => k.kid).sort(), [next.kid, t.kid, t.rsKid].sort());
        assert.equal(decodeProtectedHeader(await t.token()).kid, t.kid);
        t.clock.advance(activatesAt - rotatedAt);
        const active = next;
        const rotatedAtEnd = activatesAt;

        const newToken = await t.token();
        assert.equal(decodeProtectedHeader(newToken).kid, active.kid);
        const jwks = await t.jwks();
        assert.deepEqual(jwks.keys.map((k) => k.kid).sort(), [active.kid, t.kid, t.rsKid].sort());
        for (const tok of [oldToken, newToken]) {
          await jwtVerify(tok, createLocalJWKSet(jwks), { issuer: t.issuer, audience: t.issuer, currentDate: new Date(t.clock.now()) });
          assert.equal(await t.introspect(tok), true);
        }

        // Tokens this node signed with the old key have expired, but another node may have signed with it for up to
        // cacheTtl after the rotation, and such a token may live maxAccessTokenTtl: the key stays published until then.
        t.clock.advance(t.config.maxAccessTokenTtl * 1000);
        assert.equal(await t.introspect(oldToken), false);
        assert.ok((await t.jwks()).keys.some((k) => k.kid === t.kid));
        assert.equal((await t.admin.listKeys(t.env)).find((k) => k.kid === t.kid)?.published, true);
        t.clock.advance(t.config.cacheTtl * 1000 + 1000);
        assert.equal(t.clock.now(), rotatedAtEnd + (t.config.maxAccessTokenTtl + t.config.cacheTtl) * 1000 + 1000);
        assert.deepEqual((await t.jwks()).keys.map((k) => k.kid).sort(), [active.kid, t.rsKid].sort());
        const listed = await t.admin.listKeys(t.env);
        assert.equal(listed.find((k) => k.kid === t.kid)?.published, false);
        assert.equal(listed.find((k) => k.kid === active.kid)?.published, true);
        const later = await t.token();
        assert.equal(decodeProtectedHeader(later).kid, active.kid);
        assert.equal(await t.introspect(later), true);
      });

      it('another node keeps signing with the old key at most cacheTtl, and those tokens stay valid', async () => {
        const a = await setup();
        const b = await suite.build();
        b.clock.set(a.clock.now());
        const issueOnB = async () => {
          const res = await b.app.server.inject({
            method: 'POST',
            url: `/envs/${a.env}/token`,
            headers: { authorization: basic(a.creds.id, a.creds.secret), 'content-type': FORM },
            payload: form({ grant_type: 'client_credentials' }),
          });
          assert.equal(res.statusCode, 200, res.body);
          return (res.json() as { access_token: string }).access_token;
        };
        assert.equal(decodeProtectedHeader(await issueOnB()).kid, a.kid);
        const [active] = (await a.admin.rotateKeys(a.env, { now: true })).filter((k) => k.status === 'active' && k.alg !== 'RS256');
        const staleToken = await issueOnB();
        assert.equal(decodeProtectedHeader(staleToken).kid, a.kid);
        assert.equal(await a.introspect(staleToken), true);
        b.clock.advance(a.config.cacheTtl * 1000);
        assert.equal(decodeProtectedHeader(await issueOnB()).kid, active?.kid);
      });

      it('another node recognises tokens signed with a just-rotated key', async () => {
        const a = await setup();
        const b = await suite.build();
        b.clock.set(a.clock.now());
        const introspectOnB = async (tok: string) => {
          const res = await b.app.server.inject({
            method: 'POST',
            url: `/envs/${a.env}/introspect`,
            headers: { authorization: basic(a.creds.id, a.creds.secret), 'content-type': FORM },
            payload: form({ token: tok }),
          });
          assert.equal(res.statusCode, 200, res.body);
          return (res.json() as { active: boolean }).active;
        };
        // Node B has read the environment's published keys before the rotation.
        assert.equal(await introspectOnB(await a.token()), true);
        await a.admin.rotateKeys(a.env, { now: true });
        // RFC 7662 §2.2: a token this server issued, unexpired and unrevoked, is active wherever it is introspected.
        assert.equal(await introspectOnB(await a.token()), true);
      });
    });

    describe('EdDSA', () => {
      it('issues EdDSA tokens verifiable against the JWKS', async () => {
        const t = await setup({ signingAlgorithm: 'EdDSA' });
        const tok = await t.token();
        const header = decodeProtectedHeader(tok);
        assert.deepEqual(header, { alg: 'EdDSA', kid: t.kid, typ: 'at+jwt' });
        const jwks = await t.jwks();
        const okp = jwks.keys.find((k) => k.kid === t.kid);
        assert.deepEqual(Object.keys(okp ?? {}).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x']);
        assert.equal(okp?.kty, 'OKP');
        assert.equal(okp?.crv, 'Ed25519');
        assert.equal(okp?.alg, 'EdDSA');
        assert.deepEqual(await t.app.core.keys.algorithms(t.envId), ['RS256', 'EdDSA']);
        const { payload, protectedHeader } = await jwtVerify(tok, createLocalJWKSet(jwks), {
          issuer: t.issuer,
          audience: t.issuer,
          algorithms: ['EdDSA'],
          typ: 'at+jwt',
          currentDate: new Date(t.clock.now()),
        });
        assert.equal(protectedHeader.alg, 'EdDSA');
        assert.equal(payload.client_id, t.creds.id);
        assert.equal(await t.introspect(tok), true);
        await t.admin.rotateKeys(t.env);
        assert.equal(decodeProtectedHeader(await t.token()).alg, 'EdDSA');
      });
    });

    if (database.name === 'sqlite') {
      describe('interoperability with oauth4webapi over a real socket', () => {
        it('discovers the server, gets, introspects and revokes a token', async () => {
          const port = await freePort();
          const publicUrl = `http://127.0.0.1:${port}`;
          const t = await buildTestApp(suite.store, { publicUrl, host: '127.0.0.1', port });
          const env = `dk-interop-${++counter}`;
          await t.admin.createEnvironment(env);
          const created = await t.admin.createClient({ env, name: 'svc', scopes: ['read'] });
          assert.ok(created.client_secret);
          await t.app.start();
          try {
            const issuer = new URL(`${publicUrl}/envs/${env}`);
            const insecure = { [oauth.allowInsecureRequests]: true };
            const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
            assert.equal(as.issuer, issuer.href);
            assert.equal(as.token_endpoint, `${issuer.href}/token`);
            assert.equal(as.jwks_uri, `${issuer.href}/jwks.json`);

            const client: oauth.Client = { client_id: created.client_id };
            const auth = oauth.ClientSecretBasic(created.client_secret);
            const tokenRes = await oauth.clientCredentialsGrantRequest(as, client, auth, { scope: 'read' }, insecure);
            const { access_token } = await oauth.processClientCredentialsResponse(as, client, tokenRes);
            const active = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, access_token, insecure));
            assert.equal(active.active, true);
            assert.equal(active.client_id, created.client_id);
            await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth, access_token, insecure));
            const revoked = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, access_token, insecure));
            assert.deepEqual({ ...revoked }, { active: false });
          } finally {
            await t.app.stop();
          }
        });
      });
    }
  });
}
