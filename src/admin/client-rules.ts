import { type Client, MAX_REDIRECT_URIS, MAX_SCOPES } from '../domain/model.ts';
import { grantRuleViolation } from '../oauth/grants/index.ts';
import { isValidScopeToken } from '../oauth/scope.ts';
import { ID_TOKEN_KEY_ALGORITHM } from '../oauth/signing-keys.ts';
import { AdminError } from './admin-error.ts';
import type { ClientChanges } from './admin-views.ts';
import { CLIENT_DPOP_FIELDS } from './client-dpop.ts';
import { CLIENT_OIDC_FIELDS } from './client-oidc.ts';
import { CLIENT_PAR_FIELDS } from './par-settings.ts';
import type { AdminPolicy } from './policy.ts';

/* The rules a client must pass, whichever path creates or changes it, and what its audit events record. */

/**
 * An ID Token can be signed only with an algorithm the environment holds a key of: RS256, and
 * the access-token algorithm of this server (`GATEHOUSE_SIGNING_ALG`). Any other would fail at
 * the token endpoint, so it is refused here.
 */
export function checkIdTokenAlgorithm(config: Pick<AdminPolicy, 'signingAlgorithm'>, client: Client): void {
  const alg = client.idTokenSignedResponseAlg;
  if (alg == null || alg === ID_TOKEN_KEY_ALGORITHM || alg === config.signingAlgorithm) return;
  throw new AdminError(
    'invalid_argument',
    `id_token_signed_response_alg ${alg} has no key here: this server signs with ${ID_TOKEN_KEY_ALGORITHM} and ${config.signingAlgorithm} (GATEHOUSE_SIGNING_ALG)`,
  );
}

/** How many scopes and redirect URIs a client may list. */
export function checkClientLists(scopes: readonly string[], redirectUris: readonly string[]): void {
  if (scopes.length > MAX_SCOPES) throw new AdminError('invalid_argument', `a client may list at most ${MAX_SCOPES} scopes`);
  if (redirectUris.length > MAX_REDIRECT_URIS) throw new AdminError('invalid_argument', `a client may list at most ${MAX_REDIRECT_URIS} redirect URIs`);
}

/** The rules every client passes, new or changed. */
export function checkClient(config: Pick<AdminPolicy, 'maxAccessTokenTtl'>, client: Client): void {
  const grants = client.grantTypes;
  if (grants.length === 0) throw new AdminError('invalid_argument', 'a client needs at least one grant type');
  const grantProblem = grantRuleViolation(client.kind, grants, client.redirectUris);
  if (grantProblem !== undefined) throw new AdminError('invalid_argument', grantProblem);
  const badScope = client.scopes.find((scope) => !isValidScopeToken(scope));
  if (badScope !== undefined) throw new AdminError('invalid_argument', `invalid scope ${JSON.stringify(badScope)}`);
  const outside = client.defaultScopes.filter((s) => !client.scopes.includes(s));
  if (outside.length) throw new AdminError('invalid_argument', `default scopes must be allowed scopes: ${outside.join(' ')}`);
  for (const uri of client.redirectUris) validateRedirectUri(uri);
  const ttl = client.accessTokenTtl;
  if (ttl !== null && (!Number.isInteger(ttl) || ttl < 1 || ttl > config.maxAccessTokenTtl)) {
    throw new AdminError('invalid_argument', `access-token lifetime must be 1..${config.maxAccessTokenTtl} seconds`);
  }
  if (client.tokenFormat !== 'jwt' && client.tokenFormat !== 'opaque') throw new AdminError('invalid_argument', 'token format must be jwt or opaque');
  if (!client.name || client.name.length > 200) throw new AdminError('invalid_argument', 'client name must be 1-200 characters');
  if (client.allowMissingPkce && (client.kind !== 'confidential' || !grants.includes('authorization_code'))) {
    throw new AdminError('invalid_argument', 'only a confidential client using authorization_code may omit PKCE');
  }
}

/** What a client's creation records: its settings, none of them secret. */
export function clientDetails(c: Client) {
  return {
    name: c.name,
    type: c.kind,
    grant_types: c.grantTypes,
    scopes: c.scopes,
    redirect_uris: c.redirectUris,
    token_format: c.tokenFormat,
    quota: c.quota,
    // The OpenID Connect metadata that differs from its default, under its registration names.
    ...Object.fromEntries(
      Object.entries({ ...CLIENT_OIDC_FIELDS, ...CLIENT_DPOP_FIELDS, ...CLIENT_PAR_FIELDS })
        .filter(([field]) => c[field as keyof Client] !== undefined)
        .map(([field, wire]) => [wire, c[field as keyof Client]]),
    ),
  };
}

const FORBIDDEN_REDIRECT_SCHEMES = new Set(['javascript:', 'data:', 'file:', 'vbscript:', 'blob:', 'about:', 'ftp:']);
const RESPONSE_PARAMETERS = ['code', 'state', 'iss', 'error', 'error_description', 'error_uri'];

/**
 * RFC 6749 §3.1.2 and RFC 9700 §2.1: an absolute URI without fragment or credentials, in its
 * canonical form (it is matched character for character, and sent back in a Location header),
 * https unless loopback or a private-use scheme (RFC 8252 §7.1), and no parameter of its own that
 * an authorization response would add.
 */
export function validateRedirectUri(uri: string, what = 'redirect URI'): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new AdminError('invalid_argument', `${what} is not an absolute URI: ${uri}`);
  }
  if (url.hash || uri.includes('#')) throw new AdminError('invalid_argument', `${what} must not have a fragment: ${uri}`);
  if (url.href !== uri) throw new AdminError('invalid_argument', `${what} must be written in its canonical form: ${url.href}`);
  if (FORBIDDEN_REDIRECT_SCHEMES.has(url.protocol)) throw new AdminError('invalid_argument', `${what} scheme ${url.protocol} is not allowed`);
  if (url.username || url.password) throw new AdminError('invalid_argument', `${what} must not carry credentials: ${uri}`);
  if (url.protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)) {
    throw new AdminError('invalid_argument', `${what} must use https (http only on loopback): ${uri}`);
  }
  const clash = RESPONSE_PARAMETERS.find((name) => url.searchParams.has(name));
  if (clash) throw new AdminError('invalid_argument', `${what} must not have a ${clash} parameter: the response adds it`);
}

/**
 * The audit type of a client update: a change of `enabled` alone (or of the quota alone) is the
 * same event whichever path made it (CLI, admin API, console, apply); anything else `client.updated`.
 */
export function clientChangeType(changes: ClientChanges): 'client.enabled' | 'client.disabled' | 'client.quota_changed' | 'client.updated' {
  const given = Object.keys(changes).filter((k) => changes[k as keyof ClientChanges] !== undefined);
  if (given.length === 1 && given[0] === 'enabled') return changes.enabled ? 'client.enabled' : 'client.disabled';
  if (given.length === 1 && given[0] === 'quota') return 'client.quota_changed';
  return 'client.updated';
}
