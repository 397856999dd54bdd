import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, type JWTPayload, jwtVerify } from 'jose';
import { hashSecret } from '../../src/crypto/secrets.ts';
import type { Environment, User } from '../../src/domain/model.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, PUBLIC_URL, suiteStore, type TestApp } from '../helpers/fixtures.ts';
import { createOidcClient, createOidcEnv, createProfileUser, insertCode, OIDC_REDIRECT_URI, type OidcClient, signInOidc } from '../helpers/openid.ts';

interface TokenBody {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
  refresh_token?: string;
  id_token?: string;
}

/** Core §3.1.3.6: the left half of the SHA-256 (SHA-512 for EdDSA) of the access token, base64url. */
function expectedAtHash(accessToken: string, alg: string): string {
  const digest = createHash(alg === 'EdDSA' ? 'sha512' : 'sha256')
    .update(accessToken)
    .digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

for (const database of await testDatabases()) {
  describe(`ID Tokens from the code and refresh grants on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let env: Environment;
    let user: User;
    let rp: OidcClient;

    const issuer = (name: string) => `${PUBLIC_URL}/envs/${name}`;
    const token = (envName: string, params: Record<string, string>, client: OidcClient) =>
      t.app.server.inject({
        method: 'POST',
        url: `/envs/${envName}/token`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.clientId, client.secret) },
        payload: form(params),
      });
    const tokens = (res: LightMyRequestResponse): TokenBody => {
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as TokenBody;
    };
    const redeem = async (envName: string, client: OidcClient, code: { code: string; verifier: string }) =>
      tokens(
        await token(envName, { grant_type: 'authorization_code', code: code.code, code_verifier: code.verifier, redirect_uri: OIDC_REDIRECT_URI }, client),
      );
    /** Verifies an ID Token against the environment's published JWKS, as a relying party does. */
    const verify = async (envName: string, idToken: string, client: OidcClient): Promise<JWTPayload> => {
      const jwks = (await t.app.server.inject(`/envs/${envName}/jwks.json`)).json();
      const { payload, protectedHeader } = await jwtVerify(idToken, createLocalJWKSet(jwks), {
        issuer: issuer(envName),
        audience: client.clientId,
        typ: 'JWT',
        currentDate: new Date(t.clock.now()),
      });
      assert.equal(protectedHeader.typ, 'JWT');
      return payload;
    };

    before(async () => {
      t = await suite.build();
      env = await createOidcEnv(t, 'OIDC');
      rp = await createOidcClient(t, 'OIDC');
      user = await createProfileUser(t, env.id, { email: 'ada@example.test', emailVerified: true, name: 'Ada Lovelace' });
    });

    it('issues an RS256 ID Token by default, with every claim of Core §2 and at_hash', async () => {
      const oidc = signInOidc(t);
      const code = await insertCode(t, { envId: env.id, clientId: rp.clientId, userId: user.userId, scope: ['openid', 'profile', 'email'], oidc });
      const body = await redeem('OIDC', rp, code);
      assert.ok(body.id_token, 'an id_token is returned');
      assert.equal(decodeProtectedHeader(body.id_token).alg, 'RS256');
      const claims = await verify('OIDC', body.id_token, rp);
      const iat = Math.floor(t.clock.now() / 1000);
      assert.equal(claims.iss, issuer('OIDC'));
      assert.equal(claims.sub, user.userId);
      assert.equal(claims.aud, rp.clientId);
      assert.equal(claims.azp, undefined, 'one audience: no azp');
      assert.equal(claims.iat, iat);
      assert.equal(claims.exp, iat + 3600);
      assert.equal(claims.auth_time, Math.floor(oidc.authTime / 1000));
      assert.equal(claims.nonce, oidc.nonce);
      assert.deepEqual(claims.amr, ['pwd']);
      assert.equal(claims.sid, oidc.sid);
      assert.equal(claims.acr, undefined);
      assert.equal(claims.at_hash, expectedAtHash(body.access_token, 'RS256'));
      // Core §5.4: an access token is issued, so the scope claims come from UserInfo only.
      for (const claim of ['email', 'email_verified', 'name', 'preferred_username']) assert.equal(claims[claim], undefined, claim);
      // The family remembers the session and the authentication for its refreshes, never the nonce.
      const family = await t.store.tokenFamilies.find(env.id, code.familyId);
      assert.equal(family?.sid, oidc.sid);
      assert.deepEqual(family?.oidc, { authTime: oidc.authTime, amr: ['pwd'], acr: null });
    });

    it('gives back acr when the sign-in met one, and no nonce when the request had none', async () => {
      const oidc = signInOidc(t, { nonce: null, acr: 'urn:gatehouse:pwd' });
      const code = await insertCode(t, { envId: env.id, clientId: rp.clientId, userId: user.userId, scope: ['openid'], oidc });
      const claims = await verify('OIDC', (await redeem('OIDC', rp, code)).id_token as string, rp);
      assert.equal(claims.acr, 'urn:gatehouse:pwd');
      assert.equal('nonce' in claims, false);
    });

    for (const alg of ['ES256', 'EdDSA'] as const) {
      it(`signs with the environment's ${alg} key for a client that asks for ${alg}`, async () => {
        const name = `OIDC_${alg}`;
        const e = await createOidcEnv(t, name, { alg });
        const client = await createOidcClient(t, name, { oidc: { idTokenSignedResponseAlg: alg } });
        const u = await createProfileUser(t, e.id);
        const code = await insertCode(t, { envId: e.id, clientId: client.clientId, userId: u.userId, scope: ['openid'], oidc: signInOidc(t) });
        const body = await redeem(name, client, code);
        const header = decodeProtectedHeader(body.id_token as string);
        assert.equal(header.alg, alg);
        assert.equal(header.typ, 'JWT');
        const claims = await verify(name, body.id_token as string, client);
        assert.equal(claims.at_hash, expectedAtHash(body.access_token, alg));
        // The access token keeps its own type and the environment's access-token key.
        assert.equal(decodeProtectedHeader(body.access_token).typ, 'at+jwt');
      });
    }

    it('gives no ID Token for a code without an OpenID sign-in, or when openid is not granted', async () => {
      const plain = await insertCode(t, { envId: env.id, clientId: rp.clientId, userId: user.userId, scope: ['openid', 'invoices:read'] });
      assert.equal((await redeem('OIDC', rp, plain)).id_token, undefined);
      const withoutOpenid = await insertCode(t, { envId: env.id, clientId: rp.clientId, userId: user.userId, scope: ['invoices:read'], oidc: signInOidc(t) });
      assert.equal((await redeem('OIDC', rp, withoutOpenid)).id_token, undefined);
    });

    it('gives a pairwise subject per sector, stable across sign-ins and the same in the refresh', async () => {
      const e = await createOidcEnv(t, 'PAIRWISE', { subjectType: 'pairwise' });
      const u = await createProfileUser(t, e.id);
      const a = await createOidcClient(t, 'PAIRWISE', { redirectUris: ['https://a.example.test/cb'] });
      const a2 = await createOidcClient(t, 'PAIRWISE', {
        redirectUris: ['https://other.example.test/cb'],
        oidc: { sectorIdentifierUri: 'https://a.example.test/sector.json' },
      });
      const b = await createOidcClient(t, 'PAIRWISE', { redirectUris: ['https://b.example.test/cb'] });
      const subOf = async (client: OidcClient, redirectUri: string) => {
        const code = await insertCode(t, { envId: e.id, clientId: client.clientId, userId: u.userId, scope: ['openid'], oidc: signInOidc(t), redirectUri });
        const body = tokens(
          await token('PAIRWISE', { grant_type: 'authorization_code', code: code.code, code_verifier: code.verifier, redirect_uri: redirectUri }, client),
        );
        return { sub: decodeJwt(body.id_token as string).sub as string, refreshToken: body.refresh_token as string };
      };
      const first = await subOf(a, 'https://a.example.test/cb');
      const again = await subOf(a, 'https://a.example.test/cb');
      const sameSector = await subOf(a2, 'https://other.example.test/cb');
      const otherSector = await subOf(b, 'https://b.example.test/cb');
      assert.notEqual(first.sub, u.userId);
      assert.equal(again.sub, first.sub);
      assert.equal(sameSector.sub, first.sub);
      assert.notEqual(otherSector.sub, first.sub);
      const refreshed = tokens(await token('PAIRWISE', { grant_type: 'refresh_token', refresh_token: first.refreshToken }, a));
      assert.equal(decodeJwt(refreshed.id_token as string).sub, first.sub);
    });

    it('gives a new ID Token at refresh (Core §12.2): same iss, sub, aud, auth_time, sid; new iat; no nonce', async () => {
      const oidc = signInOidc(t);
      const code = await insertCode(t, { envId: env.id, clientId: rp.clientId, userId: user.userId, scope: ['openid', 'profile', 'offline_access'], oidc });
      const first = await redeem('OIDC', rp, code);
      const original = await verify('OIDC', first.id_token as string, rp);
      t.clock.advance(600_000);
      const refreshed = tokens(await token('OIDC', { grant_type: 'refresh_token', refresh_token: first.refresh_token as string }, rp));
      assert.ok(refreshed.id_token);
      const claims = await verify('OIDC', refreshed.id_token, rp);
      for (const claim of ['iss', 'sub', 'aud', 'auth_time', 'sid', 'amr']) assert.deepEqual(claims[claim], original[claim], claim);
      assert.equal(claims.iat, (original.iat as number) + 600);
      assert.equal('nonce' in claims, false);
      assert.equal(claims.at_hash, expectedAtHash(refreshed.access_token, 'RS256'));
      // A refresh that narrows the scope without openid gets no ID Token.
      const narrowed = tokens(await token('OIDC', { grant_type: 'refresh_token', refresh_token: refreshed.refresh_token as string, scope: 'profile' }, rp));
      assert.equal(narrowed.id_token, undefined);
    });

    it('gives no ID Token at refresh for a family begun without an OpenID sign-in', async () => {
      const code = await insertCode(t, { envId: env.id, clientId: rp.clientId, userId: user.userId, scope: ['openid'] });
      const first = await redeem('OIDC', rp, code);
      const refreshed = tokens(await token('OIDC', { grant_type: 'refresh_token', refresh_token: first.refresh_token as string }, rp));
      assert.equal(refreshed.id_token, undefined);
    });

    it('gives the same ID Token again to an exact retry of a refresh whose answer was lost', async () => {
      const code = await insertCode(t, { envId: env.id, clientId: rp.clientId, userId: user.userId, scope: ['openid'], oidc: signInOidc(t) });
      const first = await redeem('OIDC', rp, code);
      const params = { grant_type: 'refresh_token', refresh_token: first.refresh_token as string };
      const answer = tokens(await token('OIDC', params, rp));
      t.clock.advance(1000);
      const retried = tokens(await token('OIDC', params, rp));
      assert.equal(retried.id_token, answer.id_token);
      assert.equal(retried.refresh_token, answer.refresh_token);
    });

    it('under the offline_access policy, gives a refresh token only when offline_access was granted (Core §11)', async () => {
      const e = await createOidcEnv(t, 'OFFLINE', { refreshTokenPolicy: 'offline_access' });
      const client = await createOidcClient(t, 'OFFLINE');
      const u = await createProfileUser(t, e.id);
      const online = await insertCode(t, { envId: e.id, clientId: client.clientId, userId: u.userId, scope: ['openid', 'profile'], oidc: signInOidc(t) });
      const onlineBody = tokens(
        await token(
          'OFFLINE',
          { grant_type: 'authorization_code', code: online.code, code_verifier: online.verifier, redirect_uri: OIDC_REDIRECT_URI },
          client,
        ),
      );
      assert.equal(onlineBody.refresh_token, undefined);
      assert.ok(onlineBody.id_token);
      const offline = await insertCode(t, {
        envId: e.id,
        clientId: client.clientId,
        userId: u.userId,
        scope: ['openid', 'offline_access'],
        oidc: signInOidc(t),
      });
      const offlineBody = tokens(
        await token(
          'OFFLINE',
          { grant_type: 'authorization_code', code: offline.code, code_verifier: offline.verifier, redirect_uri: OIDC_REDIRECT_URI },
          client,
        ),
      );
      assert.match(String(offlineBody.refresh_token), /^grt_/);
      // The default policy keeps the behaviour from before: a refresh token for a client with the grant.
      const plain = await insertCode(t, { envId: env.id, clientId: rp.clientId, userId: user.userId, scope: ['openid'], oidc: signInOidc(t) });
      assert.match(String((await redeem('OIDC', rp, plain)).refresh_token), /^grt_/);
    });

    it('refuses to sign an ID Token with a key the environment does not have', async () => {
      const e = await createOidcEnv(t, 'NO_RSA', { rs256: false });
      const client = await createOidcClient(t, 'NO_RSA');
      const u = await createProfileUser(t, e.id);
      const code = await insertCode(t, { envId: e.id, clientId: client.clientId, userId: u.userId, scope: ['openid'], oidc: signInOidc(t) });
      const res = await token(
        'NO_RSA',
        { grant_type: 'authorization_code', code: code.code, code_verifier: code.verifier, redirect_uri: OIDC_REDIRECT_URI },
        client,
      );
      assert.equal(res.statusCode, 500, res.body);
      // Nothing was issued: the code is still unused.
      const stored = await t.store.authorizationCodes.find(e.id, hashSecret(code.code));
      assert.equal(stored?.consumedAt, null);
    });
  });
}
