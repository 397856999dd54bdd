import type { Server } from 'node:http';

/** The scope the tool needs. */
export declare const SCOPE: string;

/** The invoices MCP server, protected by tokens of `issuer` for `resource` (its endpoint URL). */
export declare function createInvoicesMcpServer(options: {
  issuer: string;
  resource: string;
  fetch?: (url: string, init?: RequestInit) => Promise<Response>;
}): Server;
