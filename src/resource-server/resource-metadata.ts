/**
 * RFC 9728 OAuth 2.0 Protected Resource Metadata: the document an API publishes so that a client
 * that only knows the API's URL finds the authorization server to ask for a token, the scopes to
 * ask for and how to present the token. Every adapter serves it and points at it from its 401s.
 */

/** The `resourceMetadata` option of `createVerifier`. */
export interface ResourceMetadataOptions {
  /**
   * RFC 9728 §2 `resource`: this API's identifier, exactly as clients send it in the RFC 8707
   * `resource` parameter and as the issuer puts it in `aud` (so it must be one of the verifier's
   * audiences). An https URL, or http on a loopback host for development; no query, no fragment.
   */
  resource: string;
  /** RFC 9728 §2 `authorization_servers`: the issuers of tokens for this API. Default: the verifier's issuer. */
  authorizationServers?: readonly string[];
  /** RFC 9728 §2 `scopes_supported`: the scopes a client may ask for to use this API. */
  scopesSupported?: readonly string[];
  /** RFC 9728 §2 `resource_name`: a name for people. */
  resourceName?: string;
  /** RFC 9728 §2 `resource_documentation`: a page for developers. */
  resourceDocumentation?: string;
  /** `Cache-Control: max-age` of the document, in seconds. Default 3600. */
  maxAgeSeconds?: number;
}

/** What the verifier knows of how tokens may be presented, for the document. */
export interface PresentationRules {
  allowQueryToken: boolean;
  allowBodyToken: boolean;
  /** RFC 9449 mode of the verifier. */
  dpop: 'bearer' | 'allowed' | 'required';
  dpopAlgorithms: readonly string[];
}

/** A resource's metadata as every adapter serves it. */
export interface ResourceMetadata {
  /** RFC 9728 §3.1: the path of the document on this API's origin, `/.well-known/oauth-protected-resource[/path]`. */
  readonly path: string;
  /** The document's absolute URL, named in `WWW-Authenticate` (RFC 9728 §5.1). */
  readonly url: string;
  /** The JSON document. */
  readonly document: Readonly<Record<string, unknown>>;
  /** The headers of a 200 answer. */
  readonly headers: Readonly<Record<string, string>>;
}

/** RFC 9728 §3: the well-known URI suffix. */
export const RESOURCE_METADATA_SUFFIX = '/.well-known/oauth-protected-resource';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * RFC 9728 §3.1: the metadata URL of `resource`, the well-known suffix inserted between the host
 * and the path, without the path's terminating slash.
 */
export function resourceMetadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.origin}${RESOURCE_METADATA_SUFFIX}${path}`;
}

/** Builds and validates the metadata; a bad option throws at once, naming it. */
export function buildResourceMetadata(
  options: ResourceMetadataOptions,
  issuer: string,
  audience: readonly string[],
  rules: PresentationRules,
): ResourceMetadata {
  const fail = (key: string, expected: string): never => {
    throw new TypeError(`createVerifier: resourceMetadata.${key} must be ${expected}`);
  };
  const { resource } = options;
  if (typeof resource !== 'string' || !isResourceUrl(resource)) fail('resource', 'an https URL (http only on a loopback host) without query or fragment');
  // RFC 9728 §3.3: the document's resource is the identifier clients ask tokens for, so the tokens they get must be accepted here.
  if (!audience.includes(resource)) fail('resource', `one of the verifier's audiences (${audience.join(', ')})`);
  const servers = [...(options.authorizationServers ?? [issuer])];
  if (servers.length === 0 || !servers.every((s) => typeof s === 'string' && isResourceUrl(s))) fail('authorizationServers', 'a non-empty list of issuer URLs');
  const scopes = options.scopesSupported === undefined ? undefined : [...options.scopesSupported];
  if (scopes && !scopes.every((s) => typeof s === 'string' && SCOPE_TOKEN.test(s))) fail('scopesSupported', 'scope tokens (RFC 6749 §3.3)');
  if (options.resourceName !== undefined && (typeof options.resourceName !== 'string' || options.resourceName === ''))
    fail('resourceName', 'a non-empty string');
  const docs = options.resourceDocumentation;
  if (docs !== undefined && (typeof docs !== 'string' || !URL.canParse(docs))) fail('resourceDocumentation', 'an absolute URL');
  const maxAge = options.maxAgeSeconds ?? 3600;
  if (!Number.isInteger(maxAge) || maxAge < 0) fail('maxAgeSeconds', 'an integer ≥ 0');

  const document: Record<string, unknown> = { resource, authorization_servers: servers };
  if (scopes) document.scopes_supported = scopes;
  document.bearer_methods_supported = bearerMethods(rules);
  if (rules.dpop !== 'bearer') document.dpop_signing_alg_values_supported = [...rules.dpopAlgorithms];
  if (rules.dpop === 'required') document.dpop_bound_access_tokens_required = true;
  if (options.resourceName !== undefined) document.resource_name = options.resourceName;
  if (docs !== undefined) document.resource_documentation = docs;
  const url = resourceMetadataUrl(resource);
  return Object.freeze({
    path: new URL(url).pathname,
    url,
    document: Object.freeze(document),
    headers: Object.freeze({
      'content-type': 'application/json',
      'cache-control': `public, max-age=${maxAge}`,
      // Public metadata: browser-based clients read it from other origins.
      'access-control-allow-origin': '*',
    }),
  });
}

/** RFC 9728 §2 `bearer_methods_supported`, with RFC 6750 §2's names: `header` always, the others when enabled. */
function bearerMethods(rules: PresentationRules): string[] {
  const methods = ['header'];
  if (rules.allowBodyToken) methods.push('body');
  if (rules.allowQueryToken) methods.push('query');
  return methods;
}

/** RFC 9728 §1.2: an https URL without fragment (and, here, without query); http is accepted for loopback development. */
function isResourceUrl(value: string): boolean {
  if (!URL.canParse(value) || value.includes('#') || value.includes('?')) return false;
  const url = new URL(value);
  if (url.username !== '' || url.password !== '') return false;
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
}

/**
 * The answer to a request for `path` (the path without query) with `method`, or undefined when it
 * is not the metadata document: GET and HEAD only (RFC 9728 §3.1).
 */
export function metadataAnswer(
  metadata: ResourceMetadata | undefined,
  method: string,
  path: string,
): { status: number; headers: Record<string, string>; body: string } | undefined {
  if (metadata === undefined || path !== metadata.path) return undefined;
  if (method !== 'GET' && method !== 'HEAD') return { status: 405, headers: { allow: 'GET, HEAD' }, body: '' };
  return { status: 200, headers: { ...metadata.headers }, body: method === 'HEAD' ? '' : JSON.stringify(metadata.document) };
}
