import type { AccessTokenClaims } from '../oauth/access-tokens.ts';
import type { EndpointKind } from '../oauth/endpoints.ts';
import type { OAuthError } from '../oauth/errors.ts';
import type { TokenResult } from '../oauth/grants/grant.ts';

export type { EndpointKind };

/** Request body encodings a route accepts. `multipart` is what `curl -F` sends. */
export type BodyEncoding = 'form' | 'json' | 'multipart';

/** A JSON Schema (2020-12, as OpenAPI 3.1 uses it). */
export type JsonSchema = Record<string, unknown>;

/**
 * One route of a profile, before the surface's mount path and path overrides apply. Its method
 * is the endpoint kind's (`ENDPOINTS`).
 */
export interface ProfileRoute {
  readonly endpoint: EndpointKind;
  /** Path under the mount. `{env}` marks the segment that selects the environment, if any. */
  readonly path: string;
  /** Accepted body encodings of a POST route, in the order the OpenAPI document lists them. */
  readonly encodings: readonly BodyEncoding[];
  /** Revocation only: a request without `token` still gets 200 (Doorkeeper treats a blank token as nothing to revoke). */
  readonly missingTokenIsNoop?: boolean;
  /** Parameters the product documents as required: missing → invalid_request naming the field. */
  readonly required?: readonly string[];
  /** The product's own description; by default the endpoint kind's. */
  readonly summary?: string;
  /** Parameters that may be sent more than once (RFC 8707 `resource`); any other repeated one is refused. */
  readonly repeatable?: readonly string[];
}

export interface RenderedResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** What a dialect may put in an error body besides the error itself. */
export interface ErrorContext {
  /** The HTTP status, after the surface's status mapping. */
  status: number;
  /** Unique per error; also in the server's log line for it. */
  errorId: string;
  now: Date;
  /** The name the client used for a parameter (an alias such as `clientId` for `client_id`). */
  receivedName(parameter: string): string;
  /** The value the client sent for a parameter, as sent (a JSON number stays a number), unless it is a secret (never echoed). */
  receivedValue(parameter: string): unknown;
}

/** The access token presented at a token-info route, as the OAuth core read it. */
export interface TokenInfo {
  claims: AccessTokenClaims;
  now: Date;
}

/**
 * How one product speaks: its token responses, its error envelope and the status of each error.
 * The OAuth core never formats a response; every surface renders through its profile's dialect.
 */
export interface Dialect {
  /** The status an error gets before any configured override. */
  statusOf(error: OAuthError): number;
  renderToken(result: TokenResult, now: Date): RenderedResponse;
  renderError(error: OAuthError, context: ErrorContext): RenderedResponse;
  /** Only for profiles with a `token_info` route. */
  renderTokenInfo?(info: TokenInfo): RenderedResponse;
}

/** Where a surface finds the environment of a request. */
export type EnvironmentSelection =
  /** Always this environment. */
  | { readonly fixed: string }
  /**
   * The `{env}` path segment names it. `values` maps each accepted segment value to an
   * environment name; null accepts any environment by its own name.
   */
  | { readonly param: string; readonly values: Readonly<Record<string, string>> | null };

/**
 * A built-in compatibility profile: data plus a dialect. Grants, client authentication and token
 * rules are the OAuth core's, identical on every surface; a profile only says how they look.
 */
export interface Profile {
  readonly name: string;
  /** The product, for documentation. */
  readonly title: string;
  readonly routes: readonly ProfileRoute[];
  /** Grant types its token route accepts; others are `unsupported_grant_type`. */
  readonly grantTypes: readonly string[];
  /** The environment selection used when the configuration gives none (undefined: it must be configured). */
  readonly environment: EnvironmentSelection | undefined;
  /** Request parameter aliases: alias → canonical name (AbbeyCross's `clientId` → `client_id`). */
  readonly requestAliases: Readonly<Record<string, string>>;
  /** Parameters filled in when absent (AbbeyCross requests carry no grant_type). */
  readonly defaultParams: Readonly<Record<string, string>>;
  /** Whether its /authorize lets confidential clients omit PKCE (their token requests carry no code_verifier). */
  readonly pkceOptionalForConfidential: boolean;
  /** Access-token lifetime the product documents, in seconds (RightSignature: 7200). */
  readonly accessTokenTtl: number | undefined;
  readonly dialect: Dialect;
  /** For the OpenAPI document: response schemas and every error status the profile answers. */
  readonly schemas: {
    readonly token: JsonSchema;
    readonly error: JsonSchema;
    readonly tokenInfo?: JsonSchema;
    readonly errorStatuses: readonly number[];
  };
}
