import type { Environment } from '../domain/model.ts';
import { ENDPOINTS, ISSUER_ROUTE, JWKS_PATH, OPENID_PATHS } from './endpoints.ts';

/** Where an environment's standard endpoints live, all under its issuer URL. */
export interface IssuerUrls {
  issuer: string;
  authorization: string;
  token: string;
  introspection: string;
  revocation: string;
  /** RFC 9126 §5 `pushed_authorization_request_endpoint`. */
  pushedAuthorization: string;
  jwks: string;
  /** RFC 8414 §3: the well-known URL with the issuer's path appended. */
  metadata: string;
  /** OpenID Connect Core §5.3. */
  userinfo: string;
  /** RP-Initiated Logout 1.0 §2. */
  endSession: string;
  /** OpenID Connect Discovery 1.0 §4: the issuer with the well-known suffix appended. */
  openidConfiguration: string;
  /** RFC 8628 §3.1 device authorization endpoint. */
  deviceAuthorization: string;
}

/** Path of an environment under the public URL; the issuer is never taken from the Host header. */
export const environmentPath = (name: string): string => ISSUER_ROUTE.replace(':env', encodeURIComponent(name));

export function issuerUrls(publicUrl: string, env: Pick<Environment, 'name'>): IssuerUrls {
  const base = new URL(publicUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  const path = `${basePath}${environmentPath(env.name)}`;
  const issuer = `${base.origin}${path}`;
  return {
    issuer,
    authorization: `${issuer}${ENDPOINTS.authorization.path}`,
    token: `${issuer}${ENDPOINTS.token.path}`,
    introspection: `${issuer}${ENDPOINTS.introspection.path}`,
    revocation: `${issuer}${ENDPOINTS.revocation.path}`,
    pushedAuthorization: `${issuer}${ENDPOINTS.pushed_authorization.path}`,
    jwks: `${issuer}${JWKS_PATH}`,
    metadata: `${base.origin}/.well-known/oauth-authorization-server${path}`,
    userinfo: `${issuer}${OPENID_PATHS.userinfo}`,
    endSession: `${issuer}${OPENID_PATHS.endSession}`,
    openidConfiguration: `${issuer}${OPENID_PATHS.configuration}`,
    deviceAuthorization: `${issuer}${ENDPOINTS.device_authorization.path}`,
  };
}
