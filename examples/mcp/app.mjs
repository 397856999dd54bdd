// An MCP server protected by Gatehouse. Clients discover the authorization server from the
// RFC 9728 metadata this server publishes, get a token for this server's URL (RFC 8707
// `resource`), and call the one tool, `list_invoices`.
import { createServer } from 'node:http';
import { createExpressAuth, createResourceMetadataMiddleware, createVerifier } from '@gatehouse/resource-server';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

/** The scope the tool needs; Gatehouse's API for this server defines it. */
export const SCOPE = 'invoices:read';

const INVOICES = [
  { id: 'inv_1001', customer: 'Acme', amount: 1250, status: 'paid' },
  { id: 'inv_1002', customer: 'Globex', amount: 980, status: 'open' },
  { id: 'inv_1003', customer: 'Initech', amount: 4300, status: 'open' },
];

/** One MCP server per request (stateless Streamable HTTP): nothing is shared between callers. */
function invoicesServer() {
  const server = new McpServer({ name: 'invoices', version: '0.1.0' });
  server.registerTool(
    'list_invoices',
    {
      title: 'List invoices',
      description: 'The invoices of the signed-in account, optionally only those with a status',
      inputSchema: { status: z.enum(['open', 'paid']).optional() },
    },
    async ({ status }, { authInfo }) => {
      const invoices = INVOICES.filter((invoice) => status === undefined || invoice.status === status);
      const caller = authInfo?.extra?.sub ?? 'unknown';
      return { content: [{ type: 'text', text: JSON.stringify({ caller, invoices }) }] };
    },
  );
  return server;
}

/**
 * The HTTP server: `resource` is this MCP server's URL as clients use it (the endpoint, e.g.
 * `https://mcp.example.com/mcp`), registered in Gatehouse as an API identifier; `issuer` is the
 * Gatehouse environment's issuer.
 */
export function createInvoicesMcpServer({ issuer, resource, fetch }) {
  const verifier = createVerifier({
    issuer,
    audience: resource,
    resourceMetadata: { resource, scopesSupported: [SCOPE], resourceName: 'Invoices (MCP)' },
    ...(fetch ? { fetch } : {}),
  });
  const metadata = createResourceMetadataMiddleware(verifier);
  const requireToken = createExpressAuth(verifier)([SCOPE]);
  const endpoint = new URL(resource).pathname;

  return createServer((req, res) => {
    metadata(req, res, () => {
      if ((req.url ?? '/').split('?')[0] !== endpoint) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      requireToken(req, res, (error) => {
        if (error) {
          res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
          return;
        }
        serveMcp(req, res).catch(() => {
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
          res.end();
        });
      });
    });
  });
}

async function serveMcp(req, res) {
  const token = req.auth;
  // What the MCP SDK hands to tools as `authInfo`.
  req.auth = { token: '', clientId: token.clientId, scopes: [...token.scopes], expiresAt: token.expiresAt, extra: { sub: token.sub } };
  const server = invoicesServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on('close', () => {
    transport.close();
    server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res);
}
