import type { AdminService } from '../../admin/admin-service.ts';
import type { ApiService } from '../../admin/apis.ts';
import type { AuditEventService } from '../../admin/audit-events.ts';
import type { BrandingService } from '../../admin/branding.ts';
import type { ClientMetadataDocumentService } from '../../admin/client-metadata-documents.ts';
import type { RegistrationServices } from '../../admin/initial-access-tokens.ts';
import type { ServiceAccountService } from '../../admin/service-accounts.ts';
import type { SignInPolicyService } from '../../admin/sign-in-policy.ts';
import type { UserService } from '../../admin/users.ts';
import type { Access, AdminCaller } from '../auth.ts';
import type * as S from '../schemas.ts';

/** The application services every admin API route goes through (never the store). */
export interface AdminApiServices {
  readonly admin: AdminService;
  readonly serviceAccounts: ServiceAccountService;
  readonly users: UserService;
  readonly apis: ApiService;
  /** Absent where a node wires no audit reader: the route then answers not-found. */
  readonly auditEvents?: AuditEventService;
  /** RFC 7591: registration policies and initial access tokens. */
  readonly registration?: RegistrationServices;
  /** Client ID Metadata Document settings (absent where a node does not wire them). */
  readonly metadataDocuments?: ClientMetadataDocumentService;
  readonly branding?: BrandingService;
  /** Sign-in policies and users' second factors; absent: those routes answer not-found. */
  readonly signIn?: SignInPolicyService;
}

export type Json = Record<string, unknown>;

export interface RouteContext {
  services: AdminApiServices;
  caller: AdminCaller;
  params: Record<string, string>;
  query: Record<string, string>;
  body: Json;
  managementEnv: string;
  /** The request's If-Match header, for services that check it on the version they write. */
  ifMatch: string | undefined;
}

export interface AdminRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** OpenAPI form (`{env}`); under `/admin/v1`. */
  path: string;
  operationId: string;
  summary: string;
  /** The scope needed; `token`: any valid admin token, whatever its scopes. */
  access: Access | 'token';
  body?: S.Schema;
  /** Query parameters of a list: paging and filters. */
  list?: { filters: readonly ('q' | 'enabled')[] };
  /** Other query parameters, for the OpenAPI document. */
  query?: Record<string, { description: string; schema: S.Schema }>;
  status: number;
  response: S.Schema;
  /** An update: the current representation, whose ETag `If-Match` must name. */
  current?: (ctx: RouteContext) => Promise<unknown>;
  /** A single resource: the response carries its ETag. */
  etag?: boolean;
  /** A create: `Idempotency-Key` is honoured. */
  idempotent?: boolean;
  /** A larger body limit than the listener's, in bytes (an uploaded image). */
  bodyLimit?: number;
  run(ctx: RouteContext): Promise<unknown>;
}

export const ENV = '/environments/{env}';
export const LIST_QUERY = { filters: ['q'] } as const;
export const LIST_FILTERED = { filters: ['q', 'enabled'] } as const;

export const optional = <T>(value: unknown): T | undefined => (value === undefined ? undefined : (value as T));
