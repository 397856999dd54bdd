import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { decodeJwt } from 'jose';
import type { Browser } from 'playwright-core';
import { createInvoicesMcpServer } from '../../examples/mcp/app.mjs';
import { systemClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import type { HostResolver } from '../../src/oauth/client-metadata-documents/address-policy.ts';
import { type AdminServices, createAdminServices } from '../../src/server/admin.ts';
import { type Server as App, createServer as createGatehouse } from '../../src/server/server.ts';
import { testDatabases } from '../helpers/databases.ts';
import { testConfig } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/net.ts';
import { browserSignIn, launchChromium, RelyingPartyServer, WAIT_MS } from '../helpers/openid-e2e.ts';
import { makeCertificates, startHttpsServer } from '../helpers/tls-fixture.ts';
import { MemoryOAuthClientProvider, type Registration } from './mcp-oauth-client.ts';

/*
 * The official MCP SDK's own client-side OAuth, unchanged, against the example MCP server
 * (examples/mcp) and Gatehouse: the SDK's transport gets a 401, reads `resource_metadata` from
 * its challenge (RFC 9728 §5.1), fetches the Protected Resource Metadata, then Gatehouse's
 * RFC 8414 metadata, sends the user (Chromium) to /authorize with PKCE and `resource` (RFC 8707),
 * redeems the code, calls the tool, and refreshes when its access token no longer works.
 *
 * How the client gets its client_id is one parameter (see `Registration`), and each one is set up
 * as an operator would: a client created by hand; the environment's Client ID Metadata Document
 * settings turned on, with a policy granting the MCP server's API, and the client's document
 * served over https (a test CA, its host resolved to loopback, which only the development switch
 * allows); open registration (RFC 7591) with a policy granting the same API, where the SDK
 * registers the client. No variant is added to the API's list of clients by the test: the
 * policy grants it.
 */

const ENV = 'DEVELOPMENT';
const SCOPE = 'invoices:read';
const USER = { username: 'alice', password: 'correct horse battery staple' };
const OTHER_API = 'https://billing.example.test';
/** Where the MCP client publishes its Client ID Metadata Document (resolved to 127.0.0.1 for Gatehouse only). */
const DOCUMENT_HOST = 'mcp-client.example.test';
const resolveDocumentHost: HostResolver = async (name) => {
  if (name !== DOCUMENT_HOST) throw Object.assign(new Error(`${name} not found`), { code: 'ENOTFOUND' });
  return [{ address: '127.0.0.1', family: 4 }];
};

interface Deployment {
  app: App;
  issuer: string;
  resource: string;
  mcp: HttpServer;
  rp: RelyingPartyServer;
  services: AdminServices;
  /** The MCP client's metadata document: its URL (the client_id) and how often Gatehouse fetched it. */
  document: { url: string; fetches: number; close: () => Promise<void> };
  /** A public client pre-registered for the MCP client. */
  clientId: string;
  /** A machine client that may get tokens for OTHER_API only. */
  machine: { id: string; secret: string };
  metadata: Record<string, unknown>;
}

async function deploy(store: Store, dataDir: string): Promise<Deployment> {
  const rp = new RelyingPartyServer();
  await rp.start();
  const certificates = makeCertificates([DOCUMENT_HOST]);
  const document = await serveClientDocument(certificates, rp.redirectUri);
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const config = testConfig({
    publicUrl,
    host: '127.0.0.1',
    port,
    passwordHashCost: 10,
    dataDir,
    loginAddressLimit: 10_000,
    // Development only: the document is served from loopback.
    clientMetadataDocumentsAllowLoopback: true,
  });
  const app = await createGatehouse(config, {
    store,
    clock: systemClock,
    metadataDocumentFetch: { resolve: resolveDocumentHost, ca: certificates.ca },
  });
  await app.start();
  const services = createAdminServices(config, store, systemClock, app.core);
  await services.admin.createEnvironment(ENV);
  await services.users.create({ env: ENV, username: USER.username, password: USER.password });

  // The MCP server's URL is its resource identifier: an API of the environment, with the tool's scope.
  const mcpPort = await freePort();
  const resource = `http://127.0.0.1:${mcpPort}/mcp`;
  const issuer = `${publicUrl}/envs/${ENV}`;
  const client = await services.admin.createClient({
    env: ENV,
    name: 'MCP client',
    kind: 'public',
    grantTypes: ['authorization_code', 'refresh_token'],
    scopes: [SCOPE, 'billing:read'],
    redirectUris: [rp.redirectUri],
  });
  const machine = await services.admin.createClient({ env: ENV, name: 'billing job', grantTypes: ['client_credentials'], scopes: [SCOPE, 'billing:read'] });
  await services.apis.create({
    env: ENV,
    identifier: resource,
    name: 'Invoices (MCP)',
    scopes: [{ name: SCOPE, description: 'Read your invoices' }],
    clientIds: [client.client_id],
  });
  await services.apis.create({
    env: ENV,
    identifier: OTHER_API,
    name: 'Billing',
    scopes: [
      { name: 'billing:read', description: 'Read billing' },
      { name: SCOPE, description: 'Read invoices' },
    ],
    clientIds: [client.client_id, machine.client_id],
  });
  // Clients that name themselves by their document's URL, from that host only: the MCP server's API and scope.
  await services.metadataDocuments.set(ENV, { enabled: true, allowed_hosts: [DOCUMENT_HOST], scopes: [SCOPE], apis: [resource] });
  // Open registration (RFC 7591): a client that registers itself gets the same scope and API.
  await services.registration.policies.set(ENV, { mode: 'open', allowedScopes: [SCOPE], allowedApis: [resource] });

  const mcp = createInvoicesMcpServer({ issuer, resource });
  await new Promise<void>((resolve, reject) => {
    mcp.once('error', reject);
    mcp.listen(mcpPort, '127.0.0.1', resolve);
  });
  const metadata = (await (await fetch(`${publicUrl}/.well-known/oauth-authorization-server/envs/${ENV}`)).json()) as Record<string, unknown>;
  return {
    app,
    issuer,
    resource,
    mcp,
    rp,
    services,
    document,
    clientId: client.client_id,
    machine: { id: machine.client_id, secret: machine.client_secret as string },
    metadata,
  };
}

/** The MCP client's Client ID Metadata Document, over https at `https://DOCUMENT_HOST:PORT/oauth/client.json`. */
async function serveClientDocument(certificates: ReturnType<typeof makeCertificates>, redirectUri: string): Promise<Deployment['document']> {
  let url = '';
  const document = { url, fetches: 0, close: async () => {} };
  const served = await startHttpsServer(certificates, (request, response) => {
    document.fetches += 1;
    if (request.url !== '/oauth/client.json') return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' });
    response.end(
      JSON.stringify({
        client_id: url,
        client_name: 'MCP end-to-end client',
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
        scope: SCOPE,
      }),
    );
  });
  url = `https://${DOCUMENT_HOST}:${served.port}/oauth/client.json`;
  return Object.assign(document, { url, close: served.close });
}

/** The metadata member that announces a registration variant (RFC 8414 §2, draft-ietf-oauth-client-id-metadata-document §6). */
function assertAnnounced(registration: Registration['kind'], metadata: Record<string, unknown>): void {
  if (registration === 'client-id-metadata-document') assert.equal(metadata.client_id_metadata_document_supported, true);
  if (registration === 'dynamic-registration') assert.equal(typeof metadata.registration_endpoint, 'string');
}

function registrationOf(kind: Registration['kind'], d: Deployment): Registration {
  if (kind === 'pre-registered') return { kind, clientId: d.clientId };
  if (kind === 'client-id-metadata-document') return { kind, clientMetadataUrl: d.document.url };
  return { kind };
}

async function connect(resource: string, provider: MemoryOAuthClientProvider): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider });
  const client = new Client({ name: 'gatehouse-e2e', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

for (const database of await testDatabases()) {
  describe(`an MCP client (official SDK, its own OAuth) calls the example MCP server through Gatehouse on ${database.name}`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-mcp-e2e-'));
    let store: Store;
    let cleanup: () => Promise<void>;
    let d: Deployment;
    let browser: Browser;

    before(async () => {
      ({ store, cleanup } = await database.open());
      d = await deploy(store, dataDir);
      browser = await launchChromium();
    });

    after(async () => {
      try {
        await browser?.close().catch(() => undefined);
        d?.mcp.closeAllConnections();
        await new Promise<void>((resolve) => (d ? d.mcp.close(() => resolve()) : resolve()));
        await d?.rp.stop();
        await d?.document.close();
        await d?.app.stop();
        await cleanup?.();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it('publishes Protected Resource Metadata naming the Gatehouse environment, and points at it from a 401', async () => {
      const refused = await fetch(d.resource, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal(refused.status, 401);
      const metadataUrl = `${new URL(d.resource).origin}/.well-known/oauth-protected-resource/mcp`;
      assert.equal(refused.headers.get('www-authenticate'), `Bearer realm="${d.resource}", resource_metadata="${metadataUrl}"`);
      const prm = await fetch(metadataUrl);
      assert.equal(prm.status, 200);
      assert.deepEqual(await prm.json(), {
        resource: d.resource,
        authorization_servers: [d.issuer],
        scopes_supported: [SCOPE],
        bearer_methods_supported: ['header'],
        resource_name: 'Invoices (MCP)',
      });
    });

    for (const kind of ['pre-registered', 'client-id-metadata-document', 'dynamic-registration'] as const) {
      it(`discovers, authorizes in Chromium, calls the tool and refreshes (${kind})`, { timeout: 120_000 }, async () => {
        assertAnnounced(kind, d.metadata);
        const provider = new MemoryOAuthClientProvider(d.rp.redirectUri, registrationOf(kind, d), SCOPE);

        // 1. No token: the SDK discovers everything from the 401 and sends the user to /authorize.
        await assert.rejects(connect(d.resource, provider), UnauthorizedError);
        const authorizationUrl = provider.authorizationUrls.at(-1);
        assert.ok(authorizationUrl, 'the SDK sent the user to the authorization endpoint');
        assert.equal(`${authorizationUrl.origin}${authorizationUrl.pathname}`, `${d.issuer}/authorize`);
        const query = authorizationUrl.searchParams;
        assert.equal(query.get('resource'), d.resource, 'RFC 8707: the MCP server is named as the resource');
        assert.equal(query.get('code_challenge_method'), 'S256');
        assert.match(query.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
        assert.equal(query.get('scope'), SCOPE, 'the scope comes from the Protected Resource Metadata');
        assert.equal(query.get('redirect_uri'), d.rp.redirectUri);
        if (kind === 'client-id-metadata-document') assert.equal(query.get('client_id'), d.document.url, 'the document URL is the client_id');

        // 2. The user signs in and consents on Gatehouse's pages.
        const context = await browser.newContext();
        context.setDefaultTimeout(WAIT_MS);
        try {
          const { callback, pages, consentText } = await browserSignIn(await context.newPage(), authorizationUrl, d.rp, USER);
          assert.deepEqual(pages, ['login', 'consent'], `the browser came back with ${callback.href}`);
          if (kind === 'client-id-metadata-document') {
            // The consent page names the host that describes the client, not only the name it gives itself.
            assert.match(
              consentText ?? '',
              new RegExp(`not registered here\\. It is described by ${DOCUMENT_HOST.replaceAll('.', '\\.')}:${new URL(d.document.url).port};`),
            );
            assert.match(consentText ?? '', /MCP end-to-end client/);
          }
          assert.equal(callback.searchParams.get('state'), provider.lastState);
          assert.equal(callback.searchParams.get('iss'), d.issuer);
          const code = callback.searchParams.get('code');
          assert.ok(code);

          // 3. The SDK redeems the code (PKCE, resource) for a token whose audience is the MCP server.
          const transport = new StreamableHTTPClientTransport(new URL(d.resource), { authProvider: provider });
          await transport.finishAuth(code);
        } finally {
          await context.close();
        }
        const first = provider.tokens();
        assert.ok(first?.refresh_token, 'a refresh token came with the code');
        const claims = decodeJwt(first.access_token);
        assert.equal(claims.aud, d.resource);
        assert.equal(claims.scope, SCOPE);

        // 4. The tool, with that token.
        const { client } = await connect(d.resource, provider);
        const tools = await client.listTools();
        assert.deepEqual(
          tools.tools.map((tool) => tool.name),
          ['list_invoices'],
        );
        const result = await client.callTool({ name: 'list_invoices', arguments: { status: 'open' } });
        const [content] = result.content as { type: string; text: string }[];
        assert.equal(content?.type, 'text');
        const answer = JSON.parse(content?.text ?? '{}') as { caller: string; invoices: { id: string }[] };
        assert.equal(answer.caller, claims.sub);
        assert.deepEqual(
          answer.invoices.map((invoice) => invoice.id),
          ['inv_1002', 'inv_1003'],
        );
        await client.close();

        // 5. The access token stops working: the SDK refreshes (with `resource`) and retries, without the browser.
        provider.spoilAccessToken();
        const again = await connect(d.resource, provider);
        const retried = await again.client.callTool({ name: 'list_invoices', arguments: {} });
        assert.equal((retried.content as unknown[]).length, 1);
        await again.client.close();
        const refreshed = provider.tokens();
        assert.ok(refreshed && refreshed.access_token !== first.access_token, 'a new access token');
        assert.ok(refreshed.refresh_token && refreshed.refresh_token !== first.refresh_token, 'the refresh token rotated');
        assert.equal(decodeJwt(refreshed.access_token).aud, d.resource);
        assert.equal(provider.authorizationUrls.length, 1, 'no second trip to the browser');
        assert.equal(claims.client_id, provider.clientInformation()?.client_id);
        if (kind === 'dynamic-registration') {
          // A client of its own, registered by the SDK (RFC 7591), on the API's list only through the policy.
          assert.match(String(claims.client_id), /^gh_/);
          assert.notEqual(claims.client_id, d.clientId);
        }
        // Gatehouse fetched the document once for the whole flow (it is cached for its max-age).
        if (kind === 'client-id-metadata-document') assert.equal(d.document.fetches, 1);
      });
    }

    it('refuses a token for another resource, and one for no resource', async () => {
      const token = async (extra: Record<string, string>) => {
        const response = await fetch(`${d.issuer}/token`, {
          method: 'POST',
          headers: { authorization: `Basic ${btoa(`${d.machine.id}:${d.machine.secret}`)}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'client_credentials', scope: SCOPE, ...extra }),
        });
        assert.equal(response.status, 200);
        return ((await response.json()) as { access_token: string }).access_token;
      };
      // The machine client is not listed by the MCP server's API: Gatehouse refuses to issue for it.
      const denied = await fetch(`${d.issuer}/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${btoa(`${d.machine.id}:${d.machine.secret}`)}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: SCOPE, resource: d.resource }),
      });
      assert.equal(denied.status, 400);
      assert.equal(((await denied.json()) as { error: string }).error, 'invalid_target');
      for (const [what, accessToken] of [
        ['another API', await token({ resource: OTHER_API })],
        ['no API (aud: the issuer)', await token({})],
      ] as const) {
        const response = await fetch(d.resource, {
          method: 'POST',
          headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
        });
        assert.equal(response.status, 401, what);
        const challenge = response.headers.get('www-authenticate') ?? '';
        assert.match(challenge, /^Bearer realm="[^"]+", resource_metadata="[^"]+", error="invalid_token"/, what);
      }
    });
  });
}
