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
import { AdminService } from '../../src/admin/admin-service.ts';
import { ApiService } from '../../src/admin/apis.ts';
import { UserService } from '../../src/admin/users.ts';
import { systemClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import { type Server as App, createServer as createGatehouse } from '../../src/server/server.ts';
import { testDatabases } from '../helpers/databases.ts';
import { testConfig } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/net.ts';
import { browserSignIn, launchChromium, RelyingPartyServer, WAIT_MS } from '../helpers/openid-e2e.ts';
import { MemoryOAuthClientProvider, type Registration } from './mcp-oauth-client.ts';

/*
 * The official MCP SDK's own client-side OAuth, unchanged, against the example MCP server
 * (examples/mcp) and Gatehouse: the SDK's transport gets a 401, reads `resource_metadata` from
 * its challenge (RFC 9728 §5.1), fetches the Protected Resource Metadata, then Gatehouse's
 * RFC 8414 metadata, sends the user (Chromium) to /authorize with PKCE and `resource` (RFC 8707),
 * redeems the code, calls the tool, and refreshes when its access token no longer works.
 *
 * How the client gets its client_id is one parameter (see `Registration`); the variants the
 * authorization server does not announce in its metadata are reported as skipped with the reason.
 */

const ENV = 'DEVELOPMENT';
const SCOPE = 'invoices:read';
const USER = { username: 'alice', password: 'correct horse battery staple' };
const OTHER_API = 'https://billing.example.test';

interface Deployment {
  app: App;
  issuer: string;
  resource: string;
  mcp: HttpServer;
  rp: RelyingPartyServer;
  admin: AdminService;
  apis: ApiService;
  /** A public client pre-registered for the MCP client. */
  clientId: string;
  /** A machine client that may get tokens for OTHER_API only. */
  machine: { id: string; secret: string };
  metadata: Record<string, unknown>;
}

async function deploy(store: Store, dataDir: string): Promise<Deployment> {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const config = testConfig({ publicUrl, host: '127.0.0.1', port, passwordHashCost: 10, dataDir, loginAddressLimit: 10_000 });
  const app = await createGatehouse(config, { store, clock: systemClock });
  await app.start();
  const admin = new AdminService(config, config.keySecret, store, app.core, systemClock);
  await admin.createEnvironment(ENV);
  await new UserService(config, store, systemClock).create({ env: ENV, username: USER.username, password: USER.password });
  const rp = new RelyingPartyServer();
  await rp.start();

  // The MCP server's URL is its resource identifier: an API of the environment, with the tool's scope.
  const mcpPort = await freePort();
  const resource = `http://127.0.0.1:${mcpPort}/mcp`;
  const issuer = `${publicUrl}/envs/${ENV}`;
  const client = await admin.createClient({
    env: ENV,
    name: 'MCP client',
    kind: 'public',
    grantTypes: ['authorization_code', 'refresh_token'],
    scopes: [SCOPE, 'billing:read'],
    redirectUris: [rp.redirectUri],
  });
  const machine = await admin.createClient({ env: ENV, name: 'billing job', grantTypes: ['client_credentials'], scopes: [SCOPE, 'billing:read'] });
  const apis = new ApiService(config, store, systemClock, (envId) => app.core.apis.invalidate(envId));
  await apis.create({
    env: ENV,
    identifier: resource,
    name: 'Invoices (MCP)',
    scopes: [{ name: SCOPE, description: 'Read your invoices' }],
    clientIds: [client.client_id],
  });
  await apis.create({
    env: ENV,
    identifier: OTHER_API,
    name: 'Billing',
    scopes: [
      { name: 'billing:read', description: 'Read billing' },
      { name: SCOPE, description: 'Read invoices' },
    ],
    clientIds: [client.client_id, machine.client_id],
  });

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
    admin,
    apis,
    clientId: client.client_id,
    machine: { id: machine.client_id, secret: machine.client_secret as string },
    metadata,
  };
}

/** Why a registration variant cannot run against this authorization server, or undefined when it can. */
function unsupported(registration: Registration['kind'], metadata: Record<string, unknown>): string | undefined {
  if (registration === 'client-id-metadata-document' && metadata.client_id_metadata_document_supported !== true) {
    return 'the metadata does not announce client_id_metadata_document_supported';
  }
  if (registration === 'dynamic-registration' && typeof metadata.registration_endpoint !== 'string') return 'the metadata announces no registration_endpoint';
  return undefined;
}

function registrationOf(kind: Registration['kind'], d: Deployment): Registration {
  if (kind === 'pre-registered') return { kind, clientId: d.clientId };
  // The document's host must be one the authorization server may fetch (https, allowed host).
  if (kind === 'client-id-metadata-document')
    return { kind, clientMetadataUrl: process.env.GATEHOUSE_TEST_CIMD_URL ?? 'https://mcp-client.example.test/client.json' };
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
      it(`discovers, authorizes in Chromium, calls the tool and refreshes (${kind})`, { timeout: 120_000 }, async (t) => {
        const why = unsupported(kind, d.metadata);
        if (why) return t.skip(why);
        // A client that registered itself is on no API's list: the operator's policy for such clients
        // must let it ask for the MCP server; here the test allows it, as an operator would.
        const provider = new MemoryOAuthClientProvider(d.rp.redirectUri, registrationOf(kind, d), SCOPE, async ({ client_id }) => {
          await d.apis.allowClients(ENV, d.resource, [client_id]);
        });

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

        // 2. The user signs in and consents on Gatehouse's pages.
        const context = await browser.newContext();
        context.setDefaultTimeout(WAIT_MS);
        try {
          const { callback, pages } = await browserSignIn(await context.newPage(), authorizationUrl, d.rp, USER);
          assert.deepEqual(pages, ['login', 'consent']);
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
