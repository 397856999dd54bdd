import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { JwtError, readJwsHeader, type VerifiableAlgorithm, verifyJwt } from '../../crypto/jwt.ts';
import type { RegistrationPolicy, TrustedStatementIssuer } from '../../domain/registration.ts';
import { OAuthError } from '../errors.ts';

/** The algorithm a public JWK verifies (asymmetric only, RFC 8725 §3.1); undefined for any other key. */
export function jwkAlgorithm(jwk: Record<string, unknown>): VerifiableAlgorithm | undefined {
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  if (jwk.kty === 'RSA') return 'RS256';
  return undefined;
}

const invalid = (description: string) => new OAuthError('invalid_software_statement', description, { parameter: 'software_statement' });
const unapproved = (description: string) => new OAuthError('unapproved_software_statement', description, { parameter: 'software_statement' });

/** Claims of a JWT that say nothing about the client and are never registered. */
const JWT_CLAIMS = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti']);

/**
 * RFC 7591 §2.3 and §3.1.1: verifies a software statement (a JWS signed by an issuer the
 * operator trusts in this environment) and returns its client metadata claims, which take
 * precedence over the same fields sent in the clear. Malformed or badly signed:
 * `invalid_software_statement`; from an issuer not trusted here: `unapproved_software_statement`.
 */
export function verifySoftwareStatement(statement: unknown, policy: RegistrationPolicy, now: number, clockSkew: number): Record<string, unknown> {
  if (typeof statement !== 'string' || statement.length > 16_384) throw invalid('software_statement is a compact JWS');
  const header = readJwsHeader(statement);
  if (!header) throw invalid('software_statement is not a compact JWS');
  const issuer = unverifiedIssuer(statement);
  if (issuer === undefined) throw invalid('software_statement has no iss claim');
  const trusted = policy.softwareStatementIssuers.find((t) => t.issuer === issuer);
  if (!trusted) throw unapproved(`software statements from ${issuer} are not accepted here`);
  const key = keyFor(trusted, header.kid);
  try {
    const { payload } = verifyJwt(statement, key, { issuer, clockSkew }, now);
    return Object.fromEntries(Object.entries(payload).filter(([claim]) => !JWT_CLAIMS.has(claim)));
  } catch (error) {
    if (error instanceof JwtError) throw invalid(`software_statement refused: ${error.message}`);
    throw error;
  }
}

function keyFor(trusted: TrustedStatementIssuer, kid: unknown) {
  const candidates = trusted.jwks.keys.filter((k) => kid === undefined || k.kid === kid);
  const jwk = candidates[0];
  if (!jwk || (kid === undefined && candidates.length > 1)) throw invalid('software_statement is signed with a key its issuer does not publish here');
  const alg = jwkAlgorithm(jwk);
  if (!alg) throw invalid('the issuer key of this software statement has an unsupported type');
  const { kty, crv, x, y, n, e } = jwk;
  return { key: createPublicKey({ key: { kty, crv, x, y, n, e } as JsonWebKey, format: 'jwk' }), alg };
}

function unverifiedIssuer(jwt: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { iss?: unknown };
    return typeof payload.iss === 'string' ? payload.iss : undefined;
  } catch {
    return undefined;
  }
}
