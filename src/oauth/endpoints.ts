/** An endpoint kind a surface can serve; each maps onto one part of the OAuth core. */
export interface EndpointDefinition {
  readonly method: 'GET' | 'POST';
  /** Where the standard surface serves it, under an environment's issuer. */
  readonly path: string;
  /** The RFC 8414 metadata field that announces its URL, if it has one. */
  readonly metadata: string | undefined;
  /** Whether the standard surface serves it (the others serve what their profile lists). */
  readonly standard: boolean;
  /** What it does, for the OpenAPI document when a profile gives no summary of its own. */
  readonly summary: string;
}

/**
 * Every endpoint kind, in one table: routes, the issuer's URLs, the metadata document, the
 * OpenAPI document, the surface settings validator and the profiles read it. A new endpoint
 * kind is a row here, its part of the OAuth core and its handler in the HTTP adapter
 * (`surface-routes.ts`); the standard surface serves it from this row, another surface when its
 * profile lists a route for it.
 */
export const ENDPOINTS = {
  token: { method: 'POST', path: '/token', metadata: 'token_endpoint', standard: true, summary: 'Token endpoint (RFC 6749 §3.2)' },
  introspection: { method: 'POST', path: '/introspect', metadata: 'introspection_endpoint', standard: true, summary: 'Token introspection (RFC 7662)' },
  revocation: { method: 'POST', path: '/revoke', metadata: 'revocation_endpoint', standard: true, summary: 'Token revocation (RFC 7009)' },
  authorization: { method: 'GET', path: '/authorize', metadata: 'authorization_endpoint', standard: true, summary: 'Authorization endpoint (RFC 6749 §3.1)' },
  /** RFC 8628 §3.1; the grant it starts is redeemed at the token endpoint. */
  device_authorization: {
    method: 'POST',
    path: '/device_authorization',
    metadata: 'device_authorization_endpoint',
    standard: true,
    summary: 'Device authorization endpoint (RFC 8628 §3.1)',
  },
  /** RFC 9126 §2: the pushed authorization request endpoint, authenticated like the token endpoint. */
  pushed_authorization: {
    method: 'POST',
    path: '/par',
    metadata: 'pushed_authorization_request_endpoint',
    standard: true,
    summary: 'Pushed authorization request (RFC 9126 §2)',
  },
  token_info: { method: 'GET', path: '/token/info', metadata: undefined, standard: false, summary: 'Describe the presented access token' },
} as const satisfies Record<string, EndpointDefinition>;

export type EndpointKind = keyof typeof ENDPOINTS;

/** The kinds of `ENDPOINTS`, in its order. */
export const ENDPOINT_KINDS = Object.keys(ENDPOINTS) as readonly EndpointKind[];

/** The router's pattern of an environment's issuer path (`environmentPath` writes a real one). */
export const ISSUER_ROUTE = '/envs/:env';

/** Where an environment's JWKS lives under its issuer (RFC 8414 `jwks_uri`). */
export const JWKS_PATH = '/jwks.json';

/**
 * OpenID Connect's endpoints under the issuer, served by Gatehouse itself on every environment
 * (never by a compatibility surface): UserInfo (Core §5.3), the end-session endpoint
 * (RP-Initiated Logout 1.0 §2) and the OpenID Provider configuration (Discovery 1.0 §4: the
 * issuer with `/.well-known/openid-configuration` appended).
 */
export const OPENID_PATHS = {
  userinfo: '/userinfo',
  endSession: '/logout',
  configuration: '/.well-known/openid-configuration',
} as const;

/**
 * Gatehouse's own routes besides the surfaces' (discovery, documents, pages, health), as the
 * router writes them. The HTTP adapter registers them from here and refuses to start with a
 * route missing from this table; no surface may take one of them.
 */
export const GATEHOUSE_ROUTES = {
  health: { method: 'GET', path: '/healthz' },
  ready: { method: 'GET', path: '/readyz' },
  /** RFC 8414 §3: the well-known segment goes between the host and the issuer's path. */
  metadata: { method: 'GET', path: `/.well-known/oauth-authorization-server${ISSUER_ROUTE}` },
  /** Also served under the issuer, for clients that append the well-known suffix instead. */
  metadataUnderIssuer: { method: 'GET', path: `${ISSUER_ROUTE}/.well-known/oauth-authorization-server` },
  /** OpenID Connect Discovery 1.0 §4. */
  openidConfiguration: { method: 'GET', path: `${ISSUER_ROUTE}${OPENID_PATHS.configuration}` },
  /** OpenID Connect Core §5.3.1: UserInfo answers GET and POST. */
  userinfo: { method: 'GET', path: `${ISSUER_ROUTE}${OPENID_PATHS.userinfo}` },
  userinfoPost: { method: 'POST', path: `${ISSUER_ROUTE}${OPENID_PATHS.userinfo}` },
  jwks: { method: 'GET', path: `${ISSUER_ROUTE}${JWKS_PATH}` },
  openapi: { method: 'GET', path: `${ISSUER_ROUTE}/openapi.json` },
  loginPage: { method: 'GET', path: `${ISSUER_ROUTE}/login` },
  login: { method: 'POST', path: `${ISSUER_ROUTE}/login` },
  consentPage: { method: 'GET', path: `${ISSUER_ROUTE}/consent` },
  consent: { method: 'POST', path: `${ISSUER_ROUTE}/consent` },
  /**
   * OpenID Connect Core §3.1.2.1: the authorization endpoint answers POST too, its parameters
   * form-serialized (the standard surface's GET route is the surface's own).
   */
  authorizeForm: { method: 'POST', path: `${ISSUER_ROUTE}${ENDPOINTS.authorization.path}` },
  /** RP-Initiated Logout 1.0 §2: the end-session endpoint (`end_session_endpoint`), GET and POST. */
  endSession: { method: 'GET', path: `${ISSUER_ROUTE}/logout` },
  endSessionForm: { method: 'POST', path: `${ISSUER_ROUTE}/logout` },
  /** RFC 8628 §3.3: the device verification page (`verification_uri`) and the forms it posts. */
  devicePage: { method: 'GET', path: `${ISSUER_ROUTE}/device` },
  /** The environment's logo on its pages, served same-origin so the pages' CSP needs no other origin. */
  brandingLogo: { method: 'GET', path: `${ISSUER_ROUTE}/branding/logo` },
  device: { method: 'POST', path: `${ISSUER_ROUTE}/device` },
  /** RFC 7591 §3: the client registration endpoint (`registration_endpoint`), when the environment enables it. */
  register: { method: 'POST', path: `${ISSUER_ROUTE}/register` },
  /** RFC 7592 §2: the client configuration endpoint (`registration_client_uri`): read, replace, delete. */
  registrationRead: { method: 'GET', path: `${ISSUER_ROUTE}/register/:clientId` },
  registrationUpdate: { method: 'PUT', path: `${ISSUER_ROUTE}/register/:clientId` },
  registrationDelete: { method: 'DELETE', path: `${ISSUER_ROUTE}/register/:clientId` },
  /** A compatibility surface's /authorize, resumed on Gatehouse's pages. */
  surfaceAuthorization: { method: 'GET', path: `${ISSUER_ROUTE}${ENDPOINTS.authorization.path}/:surface` },
} as const satisfies Record<string, { method: 'GET' | 'POST' | 'PUT' | 'DELETE'; path: string }>;
