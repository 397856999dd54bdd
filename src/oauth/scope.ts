import { OAuthError } from './errors.ts';

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export function isValidScopeToken(token: string): boolean {
  return SCOPE_TOKEN.test(token);
}

/** Splits a `scope` parameter into distinct tokens, in order; rejects malformed tokens. */
export function parseScope(scope: string | undefined): string[] {
  if (scope === undefined) return [];
  const tokens = scope.split(' ').filter((t) => t !== '');
  for (const token of tokens) {
    if (!isValidScopeToken(token)) throw new OAuthError('invalid_scope', 'scope contains a malformed scope token', { parameter: 'scope' });
  }
  return [...new Set(tokens)];
}

/**
 * RFC 6749 §3.3: the granted scope is the requested one when every token is allowed, or the
 * client's default scopes when none was requested.
 */
export function resolveScope(requested: string | undefined, allowed: readonly string[], defaults: readonly string[]): string[] {
  const tokens = parseScope(requested);
  if (tokens.length === 0) return [...defaults];
  const refused = tokens.filter((t) => !allowed.includes(t));
  if (refused.length > 0) {
    throw new OAuthError('invalid_scope', `scope not allowed for this client: ${refused.join(' ')}`, { parameter: 'scope' });
  }
  return tokens;
}
