import type { ClientMetadataDocumentService } from '../../admin/client-metadata-documents.ts';
import { ifMatches } from '../http-semantics.ts';
import { body, object, type Schema } from '../schemas.ts';
import type { AdminRoute, RouteContext } from './route.ts';

const strings: Schema = { type: 'array', items: { type: 'string' } };
const FIELDS: Record<string, Schema> = {
  enabled: { type: 'boolean', description: 'Accept clients whose client_id is an https URL of their metadata document' },
  allowed_hosts: { ...strings, description: 'Hosts (exact, or *.example.com) whose documents may be used; empty: any public host' },
  blocked_hosts: { ...strings, description: 'Hosts whose documents are never used' },
  scopes: { ...strings, description: 'The scopes such clients may get' },
  apis: { ...strings, description: 'The APIs (resource identifiers) such clients may get tokens for' },
  access_token_ttl: { type: ['integer', 'null'], description: 'Access-token lifetime in seconds; null: the server default' },
  refresh_tokens: { type: 'boolean', description: 'Whether such clients may use refresh tokens' },
};
export const CLIENT_METADATA_DOCUMENTS: Schema = object(FIELDS);

const service = (ctx: RouteContext): ClientMetadataDocumentService => {
  const found = ctx.services.metadataDocuments;
  if (!found) throw new Error('client metadata document settings are not wired on this node');
  return found;
};
const PATH = '/environments/{env}/client-metadata-documents';

/** Client ID Metadata Documents: an environment's switch, host rules and the policy such clients are held to. */
export const clientMetadataDocumentRoutes: AdminRoute[] = [
  {
    method: 'GET',
    path: PATH,
    operationId: 'getClientMetadataDocuments',
    summary: 'Read the Client ID Metadata Document settings of an environment',
    access: 'read',
    status: 200,
    response: CLIENT_METADATA_DOCUMENTS,
    etag: true,
    run: (ctx) => service(ctx).get(ctx.params.env ?? ''),
  },
  {
    method: 'PUT',
    path: PATH,
    operationId: 'setClientMetadataDocuments',
    summary: 'Replace the Client ID Metadata Document settings of an environment (missing fields take their defaults: off, no hosts, no scopes)',
    access: 'write',
    body: body(FIELDS),
    status: 200,
    response: CLIENT_METADATA_DOCUMENTS,
    etag: true,
    current: (ctx) => service(ctx).get(ctx.params.env ?? ''),
    run: (ctx) => service(ctx).set(ctx.params.env ?? '', ctx.body, ifMatches(ctx.ifMatch)),
  },
];
