import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import { UserService } from '../../src/admin/users.ts';
import type { CoreEvent } from '../../src/domain/events.ts';
import type { HostResolver } from '../../src/oauth/client-metadata-documents/address-policy.ts';
import { parseMetadataDocumentSettings } from '../../src/oauth/client-metadata-documents/settings.ts';
import { ENV, obtainCode, PASSWORD, TestBrowser } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { form, PUBLIC_URL, suiteStore, type TestApp } from '../helpers/fixtures.ts';
import { makeCertificates, startHttpsServer } from '../helpers/tls-fixture.ts';

/*
 * Client ID Metadata Document clients that authenticate with private_key_jwt (RFC 7523 §2.2):
 * their public keys are in the document (`jwks`) or where it points (`jwks_uri`). oauth4webapi
 * builds the assertions of the happy paths; the refusals are assertions made by hand.
 */

const REDIRECT = 'http://127.0.0.1/callback';
const HOST = 'keys.example.test';
const resolver: HostResolver = async (name) => {
  if (name !== HOST) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  return [{ address: '127.0.0.1', family: 4 }];
};

interface ClientKeys {
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  publicJwk: JWK;
}

async function keyPair(alg: 'ES256' | 'EdDSA', kid: string): Promise<ClientKeys> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { crv: alg === 'EdDSA' ? 'Ed25519' : undefined });
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, use: 'sig' } };
}

for (const database of await testDatabases()) {
  describe(`metadata-document clients with private_key_jwt, on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    const certificates = makeCertificates([HOST]);
    let documentServer: Awaited<ReturnType<typeof startHttpsServer>>;
    const fetches: Record<string, number> = {};
    let t: TestApp;
    let base = '';
    let inline: ClientKeys;
    let published: ClientKeys;
    let stranger: ClientKeys;
    let username: string;
    const events: CoreEvent[] = [];

    const documentOf = (path: string, extra: Record<string, unknown>) => ({
      client_id: `${base}${path}`,
      client_name: `Agent ${path}`,
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'private_key_jwt',
      ...extra,
    });

    /** oauth4webapi's requests, answered by the server in-process. */
    const inject: typeof fetch = async (url, init) => {
      const target = new URL(String(url));
      const res = await t.app.server.inject({
        method: (init?.method ?? 'GET') as 'GET' | 'POST',
        url: `${target.pathname}${target.search}`,
        headers: Object.fromEntries(new Headers(init?.headers).entries()),
        ...(init?.body === undefined || init.body === null ? {} : { payload: String(init.body) }),
      });
      return new Response(res.statusCode === 204 ? null : res.body, { status: res.statusCode, headers: res.headers as Record<string, string> });
    };
    const options = { [oauth.customFetch]: inject, [oauth.allowInsecureRequests]: true } as const;
    const issuer = new URL(`${PUBLIC_URL}/envs/${ENV}`);
    let as: oauth.AuthorizationServer;

    const post = (params: Record<string, string>) =>
      t.app.server.inject({
        method: 'POST',
        url: `/envs/${ENV}/token`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: form(params),
      });

    /** An RFC 7523 assertion for `clientId`, made by hand. */
    const assertion = (clientId: string, key: ClientKeys, kid: string, alg = 'ES256', aud: string | string[] = issuer.href) =>
      new SignJWT({})
        .setProtectedHeader({ alg, kid })
        .setIssuer(clientId)
        .setSubject(clientId)
        .setAudience(aud)
        .setJti(randomUUID())
        .setIssuedAt(Math.floor(t.clock.now() / 1000))
        .setExpirationTime(Math.floor(t.clock.now() / 1000) + 60)
        .sign(key.privateKey);

    before(async () => {
      inline = await keyPair('ES256', 'inline-1');
      published = await keyPair('EdDSA', 'published-1');
      stranger = await keyPair('ES256', 'inline-1');
      documentServer = await startHttpsServer(certificates, (request, response) => {
        const path = request.url ?? '';
        fetches[path] = (fetches[path] ?? 0) + 1;
        const bodies: Record<string, unknown> = {
          '/inline.json': documentOf('/inline.json', { jwks: { keys: [inline.publicJwk] } }),
          '/published.json': documentOf('/published.json', { jwks_uri: `${base}/jwks.json` }),
          '/jwks.json': { keys: [published.publicJwk, { kty: 'EC', crv: 'P-384', x: 'a', y: 'b', kid: 'unused' }] },
          '/private.json': documentOf('/private.json', { jwks: { keys: [{ ...inline.publicJwk, d: 'not-for-anyone' }] } }),
          '/none.json': documentOf('/none.json', { token_endpoint_auth_method: 'none' }),
        };
        const body = bodies[path];
        response.writeHead(body ? 200 : 404, { 'content-type': 'application/json', 'cache-control': 'max-age=600' });
        response.end(JSON.stringify(body ?? {}));
      });
      base = `https://${HOST}:${documentServer.port}`;
      // The clock starts now: oauth4webapi dates its assertions by the system clock.
      t = await suite.build(
        { passwordHashCost: 10, loginAddressLimit: 10_000, clientMetadataDocumentsAllowLoopback: true },
        { now: Date.now(), metadataDocumentFetch: { resolve: resolver, ca: certificates.ca } },
      );
      t.app.events.listen((event) => events.push(event));
      await t.admin.createEnvironment(ENV);
      const settings = parseMetadataDocumentSettings({ enabled: true, scopes: ['mcp:tools', 'openid', 'offline_access'] });
      assert.equal(await suite.store.environments.setClientMetadataDocuments(ENV, settings), true);
      username = `alice-${database.name}`;
      await new UserService(t.config, t.store, t.clock).create({ env: ENV, username, password: PASSWORD });
      as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...options }));
    });
    after(() => documentServer.close());

    /** A code for `clientId`, through the login and consent pages (consent is always asked of these clients). */
    const code = async (clientId: string) => {
      const browser = new TestBrowser(t);
      await obtainCode(t, { clientId, clientSecret: '', publicClientId: '', username }, { redirectUri: REDIRECT, scope: 'mcp:tools', browser });
      const again = await browser.authorize({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: REDIRECT,
        code_challenge: 'x'.repeat(43),
        code_challenge_method: 'S256',
      });
      assert.match(String(again.headers.location), /\/consent\?request=/, 'a confidential document client is asked again too');
      return obtainCode(t, { clientId, clientSecret: '', publicClientId: '', username }, { redirectUri: REDIRECT, scope: 'mcp:tools' });
    };

    /** Redeems a code and refreshes its tokens with oauth4webapi, authenticating with `key`. */
    const redeemAndRefresh = async (clientId: string, key: ClientKeys) => {
      const client: oauth.Client = { client_id: clientId };
      const auth = oauth.PrivateKeyJwt({ key: key.privateKey, kid: String(key.publicJwk.kid) });
      const { location, verifier } = await code(clientId);
      const params = oauth.validateAuthResponse(as, client, location, 'xyz');
      const response = await oauth.authorizationCodeGrantRequest(as, client, auth, params, REDIRECT, verifier, options);
      const tokens = await oauth.processAuthorizationCodeResponse(as, client, response);
      assert.equal(decodeJwt(tokens.access_token).client_id, clientId);
      assert.ok(tokens.refresh_token);
      const refreshed = await oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token, options),
      );
      assert.equal(decodeJwt(refreshed.access_token).client_id, clientId);
    };

    it('redeems a code and refreshes with the key the document holds (jwks)', async () => {
      await redeemAndRefresh(`${base}/inline.json`, inline);
    });

    it('redeems a code and refreshes with a key fetched from jwks_uri, fetched once for both requests', async () => {
      await redeemAndRefresh(`${base}/published.json`, published);
      assert.equal(fetches['/jwks.json'], 1);
    });

    it('refuses the client_id alone, a replayed assertion, a key not in the document and another key under its kid', async () => {
      const clientId = `${base}/inline.json`;
      const refused = async (params: Record<string, string>) => {
        const res = await post({ grant_type: 'authorization_code', code: 'not-a-code', code_verifier: 'v'.repeat(43), redirect_uri: REDIRECT, ...params });
        assert.equal(res.statusCode, 401, res.body);
        assert.equal(res.json().error, 'invalid_client');
      };
      const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
      await refused({ client_id: clientId });
      await refused({ client_assertion_type: assertionType, client_assertion: await assertion(clientId, inline, 'no-such-kid') });
      await refused({ client_assertion_type: assertionType, client_assertion: await assertion(clientId, stranger, 'inline-1') });
      const once = await assertion(clientId, inline, 'inline-1');
      const first = await post({
        grant_type: 'authorization_code',
        code: 'not-a-code',
        code_verifier: 'v'.repeat(43),
        redirect_uri: REDIRECT,
        client_assertion_type: assertionType,
        client_assertion: once,
      });
      assert.equal(first.json().error, 'invalid_grant', 'the client authenticated; only the code was wrong');
      await refused({ client_assertion_type: assertionType, client_assertion: once });
      // A document that says `none` has no key to authenticate with.
      const none = `${base}/none.json`;
      await refused({ client_assertion_type: assertionType, client_assertion: await assertion(none, inline, 'inline-1') });
    });

    it('accepts only the issuer identifier, alone, as aud: the client uses its keys with other servers too', async () => {
      const clientId = `${base}/inline.json`;
      const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
      for (const aud of [`${issuer.href}/token`, [issuer.href, 'https://other.example/'], `${issuer.href}/par`]) {
        const res = await post({
          grant_type: 'authorization_code',
          code: 'not-a-code',
          code_verifier: 'v'.repeat(43),
          redirect_uri: REDIRECT,
          client_assertion_type: assertionType,
          client_assertion: await assertion(clientId, inline, 'inline-1', 'ES256', aud),
        });
        assert.equal(res.statusCode, 401, `${JSON.stringify(aud)}: ${res.body}`);
        assert.equal(res.json().error, 'invalid_client');
      }
    });

    it('never lets an earlier consent stand for a prompt=none request, offline_access dropped or not', async () => {
      const clientId = `${base}/inline.json`;
      const browser = new TestBrowser(t);
      await obtainCode(t, { clientId, clientSecret: '', publicClientId: '', username }, { redirectUri: REDIRECT, scope: 'openid mcp:tools', browser });
      for (const scope of ['openid mcp:tools', 'openid mcp:tools offline_access']) {
        const res = await browser.authorize({
          response_type: 'code',
          client_id: clientId,
          redirect_uri: REDIRECT,
          code_challenge: 'x'.repeat(43),
          code_challenge_method: 'S256',
          scope,
          prompt: 'none',
          state: 'quiet',
        });
        const location = new URL(String(res.headers.location));
        assert.equal(location.searchParams.get('error'), 'consent_required', `${scope}: ${location}`);
        assert.equal(location.searchParams.get('code'), null);
      }
    });

    it('fetches a jwks_uri key set again after at most 10 minutes', async () => {
      const clientId = `${base}/published.json`;
      const before = fetches['/jwks.json'] ?? 0;
      t.clock.advance(11 * 60_000);
      const res = await post({
        grant_type: 'authorization_code',
        code: 'not-a-code',
        code_verifier: 'v'.repeat(43),
        redirect_uri: REDIRECT,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await assertion(clientId, published, 'published-1', 'EdDSA'),
      });
      assert.equal(res.json().error, 'invalid_grant', 'authenticated; only the code was wrong');
      assert.equal(fetches['/jwks.json'], before + 1);
    });

    it('refuses a document whose jwks holds a private key, and says why in the event', async () => {
      const clientId = `${base}/private.json`;
      const res = await new TestBrowser(t).authorize({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: REDIRECT,
        code_challenge: 'x'.repeat(43),
        code_challenge_method: 'S256',
      });
      assert.equal(res.statusCode, 400);
      const refusal = events.find((e) => e.type === 'client.metadata_document_refused' && e.clientId === clientId);
      assert.ok(refusal && refusal.type === 'client.metadata_document_refused');
      assert.equal(refusal.reason, 'jwks: holds a private or symmetric key');
      assert.doesNotMatch(JSON.stringify(events), /not-for-anyone/);
    });
  });
}
