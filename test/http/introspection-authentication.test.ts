import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { UserService } from '../../src/admin/users.ts';
import { ACR_PASSWORD } from '../../src/oauth/openid/acr.ts';
import { ENV, PASSWORD, pkce, TestBrowser } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, suiteStore, type TestApp } from '../helpers/fixtures.ts';
import { createOidcClient, OIDC_REDIRECT_URI, type OidcClient } from '../helpers/openid.ts';

/*
 * RFC 7662 introspection of a token issued from a user's sign-in says how the user signed in:
 * `acr` and RFC 8176 `amr`, the same as the ID Token (RFC 9068 §2.2.1 names both for access
 * tokens). A JWT access token carries them as claims; an opaque one keeps them in its row.
 */
for (const database of await testDatabases()) {
  describe(`introspection: acr and amr of the sign-in (${database.name})`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let rp: OidcClient;
    const username = 'ivy-introspection';

    before(async () => {
      t = await suite.build();
      await t.admin.createEnvironment(ENV).catch(() => undefined);
      rp = await createOidcClient(t, ENV, { grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'] });
      await new UserService(t.config, t.store, t.clock).create({ env: ENV, username, password: PASSWORD });
    });

    const token = async (params: Record<string, string>) => {
      const res = await t.app.server.inject({
        method: 'POST',
        url: `/envs/${ENV}/token`,
        headers: { authorization: basic(rp.clientId, rp.secret), 'content-type': 'application/x-www-form-urlencoded' },
        payload: form(params),
      });
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as { access_token: string; refresh_token?: string; id_token?: string };
    };

    const introspect = async (accessToken: string) => {
      const res = await t.app.server.inject({
        method: 'POST',
        url: `/envs/${ENV}/introspect`,
        headers: { authorization: basic(rp.clientId, rp.secret), 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ token: accessToken }),
      });
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as Record<string, unknown>;
    };

    async function signIn(scope = 'openid') {
      const browser = new TestBrowser(t);
      const { verifier, challenge } = pkce();
      const started = await browser.authorize({
        response_type: 'code',
        client_id: rp.clientId,
        redirect_uri: OIDC_REDIRECT_URI,
        scope,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        nonce: 'n-1',
      });
      let res = await browser.login(started, username);
      if (/\/consent\?/.test(String(res.headers.location))) res = await browser.consent(res, 'allow');
      const code = new URL(String(res.headers.location)).searchParams.get('code');
      assert.ok(code, String(res.headers.location));
      return token({ grant_type: 'authorization_code', code, redirect_uri: OIDC_REDIRECT_URI, code_verifier: verifier });
    }

    async function useFormat(format: 'jwt' | 'opaque') {
      const env = await t.store.environments.findByName(ENV);
      const client = env && (await t.store.clients.find(env.id, rp.clientId));
      assert.ok(env && client);
      await t.store.clients.update({ ...client, tokenFormat: format });
      t.app.core.clients.invalidate(env.id, client.clientId);
    }

    for (const format of ['jwt', 'opaque'] as const) {
      it(`${format}: introspection and the refreshed token say acr and amr, as the ID Token does`, async () => {
        await useFormat(format);
        t.clock.advance(1000);
        const tokens = await signIn();
        const idToken = decodeJwt(tokens.id_token as string);
        const answer = await introspect(tokens.access_token);
        assert.equal(answer.active, true);
        assert.equal(answer.acr, ACR_PASSWORD);
        assert.deepEqual(answer.amr, ['pwd']);
        assert.equal(answer.acr, idToken.acr);
        assert.deepEqual(answer.amr, idToken.amr);
        if (format === 'jwt') {
          const claims = decodeJwt(tokens.access_token);
          assert.equal(claims.acr, ACR_PASSWORD);
          assert.deepEqual(claims.amr, ['pwd']);
        } else assert.match(tokens.access_token, /^gat_/);
        assert.ok(tokens.refresh_token);
        const refreshed = await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
        const again = await introspect(refreshed.access_token);
        assert.equal(again.acr, ACR_PASSWORD);
        assert.deepEqual(again.amr, ['pwd']);
      });

      it(`${format}: a token of no user sign-in has neither`, async () => {
        await useFormat(format);
        const issued = await token({ grant_type: 'client_credentials' });
        const answer = await introspect(issued.access_token);
        assert.equal(answer.active, true);
        assert.equal('acr' in answer, false);
        assert.equal('amr' in answer, false);
      });
    }
  });
}
