// `npm start`: the invoices MCP server on MCP_PORT (default 3000), trusting the Gatehouse
// environment at GATEHOUSE_ISSUER (default: the development environment of `npm start` in
// Gatehouse). MCP_RESOURCE is the URL clients use; it must be an API identifier in Gatehouse.
import { createInvoicesMcpServer } from './app.mjs';

const port = Number(process.env.MCP_PORT ?? 3000);
const host = process.env.MCP_HOST ?? '127.0.0.1';
const issuer = process.env.GATEHOUSE_ISSUER ?? 'http://127.0.0.1:8080/envs/DEVELOPMENT';
const resource = process.env.MCP_RESOURCE ?? `http://${host}:${port}/mcp`;

const server = createInvoicesMcpServer({ issuer, resource });
server.listen(port, host, () => {
  console.log(`MCP server ${resource} (tokens from ${issuer})`);
  console.log(`  metadata ${new URL(resource).origin}/.well-known/oauth-protected-resource${new URL(resource).pathname}`);
});
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
