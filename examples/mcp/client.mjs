// `npm run client`: an MCP client using the MCP SDK's own OAuth. It connects to MCP_URL, follows
// the 401 to the server's Protected Resource Metadata and to Gatehouse, prints the URL to open in
// a browser, receives the code on a loopback redirect URI, then calls `list_invoices`.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const mcpUrl = new URL(process.env.MCP_URL ?? 'http://127.0.0.1:3000/mcp');
// How the client gets a client_id: one an operator created (MCP_CLIENT_ID); else the https URL of
// its Client ID Metadata Document (MCP_CLIENT_METADATA_URL), when the authorization server accepts
// those; else the SDK registers it (RFC 7591).
const clientId = process.env.MCP_CLIENT_ID || undefined;
const clientMetadataUrl = process.env.MCP_CLIENT_METADATA_URL || undefined;
const callbackPort = Number(process.env.MCP_CALLBACK_PORT ?? 8976);
const redirectUri = `http://127.0.0.1:${callbackPort}/callback`;

/** Keeps what the SDK asks it to keep, in memory: a real client would store it. */
class Provider {
  #information = clientId ? { client_id: clientId } : undefined;
  #tokens;
  #verifier = '';
  #state = randomUUID();
  get redirectUrl() {
    return redirectUri;
  }
  get clientMetadataUrl() {
    return clientMetadataUrl;
  }
  get clientMetadata() {
    return {
      client_name: 'Invoices MCP client',
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
    };
  }
  state() {
    return this.#state;
  }
  clientInformation() {
    return this.#information;
  }
  saveClientInformation(information) {
    this.#information = information;
  }
  tokens() {
    return this.#tokens;
  }
  saveTokens(tokens) {
    this.#tokens = tokens;
  }
  redirectToAuthorization(url) {
    console.log(`Open this URL in a browser and sign in:\n  ${url.href}`);
  }
  saveCodeVerifier(verifier) {
    this.#verifier = verifier;
  }
  codeVerifier() {
    return this.#verifier;
  }
  expectedState() {
    return this.#state;
  }
}

/** The code the browser brings to the redirect URI. */
function receiveCode(state) {
  return new Promise((resolve, reject) => {
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', redirectUri);
      if (url.pathname !== '/callback') return res.writeHead(404).end();
      const code = url.searchParams.get('code');
      const ok = code && url.searchParams.get('state') === state;
      res.writeHead(ok ? 200 : 400, { 'content-type': 'text/plain' }).end(ok ? 'Signed in: you can close this window.' : 'Sign-in failed.');
      server.close();
      server.closeAllConnections();
      if (ok) resolve(code);
      else reject(new Error(`authorization failed: ${url.searchParams.get('error') ?? 'state mismatch'}`));
    });
    server.listen(callbackPort, '127.0.0.1');
  });
}

async function connect(provider) {
  const client = new Client({ name: 'invoices-client', version: '0.1.0' });
  const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
  await client.connect(transport);
  return { client, transport };
}

const provider = new Provider();
let session;
try {
  session = await connect(provider);
} catch (error) {
  if (!(error instanceof UnauthorizedError)) throw error;
  const code = await receiveCode(provider.expectedState());
  await new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }).finishAuth(code);
  session = await connect(provider);
}
const { tools } = await session.client.listTools();
console.log(`Tools: ${tools.map((tool) => tool.name).join(', ')}`);
const result = await session.client.callTool({ name: 'list_invoices', arguments: { status: 'open' } });
console.log(`list_invoices: ${result.content[0].text}`);
await session.client.close();
