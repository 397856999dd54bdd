import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { UserService } from '../../src/admin/users.ts';
import type { CoreEvent } from '../../src/domain/events.ts';
import type { HostResolver } from '../../src/oauth/client-metadata-documents/address-policy.ts';
import { parseMetadataDocumentSettings } from '../../src/oauth/client-metadata-documents/settings.ts';
import { ENV, obtainCode, PASSWORD, pkce, TestBrowser } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { form, PUBLIC_URL, suiteStore, type TestApp } from '../helpers/fixtures.ts';
import { makeCertificates, startHttpsServer } from '../helpers/tls-fixture.ts';

const OTHER_ENV = 'OTHER';
const REDIRECT = 'http://127.0.0.1/callback';
const resolver: HostResolver = async (name) => {
  if (name !== 'client.example.test') throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  return [{ address: '127.0.0.1', family: 4 }];
};

for (const database of await testDatabases()) {
  describe(`a client named by its Client ID Metadata Document, code flow with PKCE, on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    const certificates = makeCertificates(['client.example.test']);
    let documentServer: Awaited<ReturnType<typeof startHttpsServer>>;
    let documentFetches = 0;
    let t: TestApp;
    let clientId: string;
    let username: string;
    const events: CoreEvent[] = [];

    const post = (env: string, path: string, params: Record<string, string>) =>
      t.app.server.inject({
        method: 'POST',
        url: `/envs/${env}/${path}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: form(params),
      });

    before(async () => {
      documentServer = await startHttpsServer(certificates, (request, response) => {
        documentFetches += 1;
        response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' });
        response.end(
          JSON.stringify({
            client_id: clientId,
            client_name: 'Example MCP client',
            redirect_uris: [REDIRECT],
            grant_types: ['authorization_code', 'refresh_token'],
            token_endpoint_auth_method: 'none',
            scope: 'mcp:tools mcp:resources',
          }),
        );
        assert.equal(request.headers.host, `client.example.test:${documentServer.port}`);
      });
      clientId = `https://client.example.test:${documentServer.port}/oauth/client.json`;
      t = await suite.build(
        { passwordHashCost: 10, loginAddressLimit: 10_000, clientMetadataDocumentsAllowLoopback: true },
        { metadataDocumentFetch: { resolve: resolver, ca: certificates.ca } },
      );
      t.app.events.listen((event) => events.push(event));
      await t.admin.createEnvironment(ENV);
      await t.admin.createEnvironment(OTHER_ENV);
      const settings = parseMetadataDocumentSettings({ enabled: true, scopes: ['mcp:tools', 'admin'], access_token_ttl: 600 });
      assert.equal(await suite.store.environments.setClientMetadataDocuments(ENV, settings), true);
      username = `alice-${database.name}`;
      await new UserService(t.config, t.store, t.clock).create({ env: ENV, username, password: PASSWORD });
    });
    after(() => documentServer.close());

    it('advertises client_id_metadata_document_supported only where it is on', async () => {
      const on = (await t.app.server.inject(`/.well-known/oauth-authorization-server/envs/${ENV}`)).json();
      assert.equal(on.client_id_metadata_document_supported, true);
      const openid = (await t.app.server.inject(`/envs/${ENV}/.well-known/openid-configuration`)).json();
      assert.equal(openid.client_id_metadata_document_supported, true);
      const off = (await t.app.server.inject(`/.well-known/oauth-authorization-server/envs/${OTHER_ENV}`)).json();
      assert.equal(off.client_id_metadata_document_supported, undefined);
    });

    it('asks for consent showing the host, issues a code, tokens naming the URL, and refreshes', async () => {
      const browser = new TestBrowser(t);
      const { verifier, challenge } = pkce();
      const toLogin = await browser.authorize({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: 'http://127.0.0.1:53100/callback',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state: 's1',
        scope: 'mcp:tools',
      });
      const toConsent = await browser.login(toLogin, username);
      assert.match(String(toConsent.headers.location), /\/consent\?request=/);
      const page = await browser.get(String(toConsent.headers.location));
      assert.equal(page.statusCode, 200);
      assert.match(page.body, new RegExp(`id="client-host">[^<]*<strong>client\\.example\\.test:${documentServer.port}</strong>`));
      assert.match(page.body, /Example MCP client/);
      const done = await browser.consent(toConsent, 'allow');
      const location = new URL(String(done.headers.location));
      assert.equal(location.origin, 'http://127.0.0.1:53100');
      const code = location.searchParams.get('code');
      assert.ok(code);
      const res = await post(ENV, 'token', {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: 'http://127.0.0.1:53100/callback',
        client_id: clientId,
      });
      assert.equal(res.statusCode, 200, res.body);
      const tokens = res.json() as { access_token: string; refresh_token: string; scope: string; expires_in: number };
      assert.equal(tokens.scope, 'mcp:tools');
      assert.equal(tokens.expires_in, 600);
      const claims = decodeJwt(tokens.access_token);
      assert.equal(claims.client_id, clientId);
      assert.equal(claims.iss, `${PUBLIC_URL}/envs/${ENV}`);
      const refreshed = await post(ENV, 'token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: clientId });
      assert.equal(refreshed.statusCode, 200, refreshed.body);
      assert.equal(decodeJwt((refreshed.json() as { access_token: string }).access_token).client_id, clientId);
      // One fetch for the whole flow: the document is cached for its max-age.
      assert.equal(documentFetches, 1);
      assert.ok(events.some((e) => e.type === 'client.metadata_document_fetched' && e.clientId === clientId));
    });

    it('never skips consent for such a client, even after an earlier allow', async () => {
      const { location } = await obtainCode(t, { clientId, clientSecret: '', publicClientId: '', username }, { redirectUri: REDIRECT, scope: 'mcp:tools' });
      assert.ok(location.searchParams.get('code'));
      const browser = new TestBrowser(t);
      await obtainCode(t, { clientId, clientSecret: '', publicClientId: '', username }, { redirectUri: REDIRECT, browser });
      const again = await browser.authorize({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: REDIRECT,
        code_challenge: 'x'.repeat(43),
        code_challenge_method: 'S256',
      });
      assert.match(String(again.headers.location), /\/consent\?request=/);
    });

    it('refuses a scope outside the environment policy and a redirect URI not in the document', async () => {
      const browser = new TestBrowser(t);
      const wrongRedirect = await browser.authorize({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: 'https://attacker.example/cb',
        code_challenge: 'x'.repeat(43),
        code_challenge_method: 'S256',
      });
      assert.equal(wrongRedirect.statusCode, 400);
      const wrongScope = await browser.authorize({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: REDIRECT,
        code_challenge: 'x'.repeat(43),
        code_challenge_method: 'S256',
        scope: 'admin',
      });
      assert.equal(wrongScope.statusCode, 303);
      assert.equal(new URL(String(wrongScope.headers.location)).searchParams.get('error'), 'invalid_scope');
    });

    it('pushes an authorization request (RFC 9126) as the URL client and completes it at /authorize', async () => {
      const { challenge } = pkce();
      const pushedRes = await post(ENV, 'par', {
        client_id: clientId,
        response_type: 'code',
        redirect_uri: REDIRECT,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        scope: 'mcp:tools',
        state: 'pushed',
      });
      assert.equal(pushedRes.statusCode, 201, pushedRes.body);
      const requestUri = String(pushedRes.json().request_uri);
      const browser = new TestBrowser(t);
      const toLogin = await browser.authorize({ client_id: clientId, request_uri: requestUri });
      const toConsent = await browser.login(toLogin, username);
      const done = await browser.consent(toConsent, 'allow');
      const location = new URL(String(done.headers.location));
      assert.equal(location.searchParams.get('state'), 'pushed');
      assert.ok(location.searchParams.get('code'));
    });

    it('is unknown in an environment that does not accept metadata documents', async () => {
      const browser = new TestBrowser(t);
      const res = await browser.authorize(
        { response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' },
        `/envs/${OTHER_ENV}/authorize`,
      );
      assert.equal(res.statusCode, 400);
      const token = await post(OTHER_ENV, 'token', {
        grant_type: 'authorization_code',
        code: 'x',
        code_verifier: 'y'.repeat(43),
        client_id: clientId,
        redirect_uri: REDIRECT,
      });
      assert.equal(token.statusCode, 401);
      assert.equal(token.json().error, 'invalid_client');
    });
  });
}
