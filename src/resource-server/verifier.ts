import { type ClaimRules, JwtError, readJwsHeader, type VerifiableAlgorithm, verifyJwt } from '../crypto/jwt.ts';
import { createDpopPolicy, type DpopMode, type DpopOptions, type RouteAuthOptions } from './dpop-policy.ts';
import { type AuthScheme, BearerError } from './errors.ts';
import { type BearerRequest, extractAccessToken } from './extract.ts';
import type { FetchFunction } from './fetch-function.ts';
import { type ActiveIntrospection, IntrospectionClient, type IntrospectionSettings } from './introspection.ts';
import { JwksCache } from './jwks.ts';
import { buildResourceMetadata, type ResourceMetadata, type ResourceMetadataOptions } from './resource-metadata.ts';

/** Settings of `createVerifier`. Only `issuer` and `audience` are required. */
export interface VerifierOptions {
  /** The issuer, exactly as in the tokens' `iss` (for Gatehouse: `PUBLIC_URL/envs/NAME`). */
  issuer: string;
  /** This API's identifier(s): a token's `aud` must name one (an API's identifier, or the issuer for tokens that name no API). */
  audience: string | readonly string[];
  /** Where the signing keys are published. Default: `${issuer}/jwks.json`. */
  jwksUri?: string;
  /** For opaque tokens (`gat_…`): the issuer's introspection endpoint and a client allowed to use it. */
  introspection?: IntrospectionSettings;
  /**
   * Also ask introspection about every JWT that verifies locally, so a revoked JWT is refused
   * (within `introspectionCacheMs`) instead of until it expires. Needs `introspection`. Default false.
   */
  checkRevocation?: boolean;
  /** Tolerated clock difference for `exp`, `nbf` and `iat`, in seconds. Default 30. */
  clockSkew?: number;
  /**
   * RFC 8693 §4.1: the delegation chains this API accepts, each the token's `actors` in order (the
   * current actor first), or a predicate over them. A token whose chain is not accepted is refused
   * with `invalid_token` (RFC 6750 §3.1: the token is unusable here whatever scope it has, so not
   * `insufficient_scope`). List `[]` to accept tokens that no one acts on. Default: any chain.
   */
  allowedActorChains?: readonly (readonly string[])[] | ((actors: readonly string[]) => boolean);
  /** Scopes every request must have, on top of each route's. */
  requiredScopes?: readonly string[];
  /** Accept `?access_token=` (RFC 6750 §2.3; tokens in URLs end up in logs). Default false. */
  allowQueryToken?: boolean;
  /** Accept `access_token` in a form body (RFC 6750 §2.2). Default false. */
  allowBodyToken?: boolean;
  /** Shortest time between two JWKS fetches, in milliseconds. Default 30,000. */
  jwksCooldownMs?: number;
  /** Longest reuse of an active introspection answer, in milliseconds. Default 10,000; 0 disables the cache. */
  introspectionCacheMs?: number;
  /**
   * RFC 9449 DPoP: `'bearer'` (the default: Bearer only, a DPoP-bound token refused), `'allowed'`,
   * `'required'`, or `{ mode, … }` with the proof checks' settings. Routes may override the mode.
   */
  dpop?: DpopMode | DpopOptions;
  /**
   * RFC 9728: publish Protected Resource Metadata (every adapter serves it at
   * `/.well-known/oauth-protected-resource[/path]`) and name it in every 401's challenge (§5.1).
   */
  resourceMetadata?: ResourceMetadataOptions;
  /** The `realm` of challenges. Default: the first audience. */
  realm?: string;
  /** Default: the global `fetch`. */
  fetch?: FetchFunction;
  /** The current time in epoch milliseconds. Default: `Date.now`. */
  now?: () => number;
}

/** A verified access token. */
export interface AccessToken {
  format: 'jwt' | 'opaque';
  /** Whom the token is about: a user id (`usr_…`) or, for machine clients, the client id. */
  sub: string;
  clientId: string;
  scopes: readonly string[];
  /** Epoch seconds; undefined only if an introspection answer omitted it. */
  expiresAt: number | undefined;
  /**
   * RFC 8693 §4.1: who acts for `sub` after token exchanges, the current actor first and then the
   * ones before it (`act`, nested); empty when the subject acts itself.
   */
  actors: readonly string[];
  /** RFC 9449 §6: the thumbprint of the DPoP key the token is bound to; undefined for a bearer token. */
  jkt: string | undefined;
  /** The JWT's payload or the introspection answer. */
  claims: Readonly<Record<string, unknown>>;
}

/** Verifies access tokens for one API; shared by every adapter. */
export interface Verifier {
  readonly realm: string;
  /** Whether a form body may carry the token (adapters read the body only then). */
  readonly allowBodyToken: boolean;
  /** The RFC 9728 metadata the adapters serve; undefined without the `resourceMetadata` option. */
  readonly resourceMetadata: ResourceMetadata | undefined;
  /** Verifies one token; throws `BearerError` (`invalid_token`, or `temporarily_unavailable`). */
  verifyToken(token: string): Promise<AccessToken>;
  /**
   * Extracts the token of a request, verifies it, checks its DPoP proof (per the verifier's mode or
   * `route.dpop`) and `scopes` and the required ones; throws `BearerError` with its challenges.
   */
  authenticate(request: BearerRequest, scopes?: readonly string[], route?: RouteAuthOptions): Promise<AccessToken>;
}

/** Prefix of Gatehouse's opaque access tokens (the issuer's `OPAQUE_TOKEN_PREFIX`). */
export const OPAQUE_TOKEN_PREFIX = 'gat_';

/** RFC 9068 §2.2: the claims every access token carries. */
const REQUIRED_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id'] as const;

const DEFAULTS = { clockSkew: 30, jwksCooldownMs: 30_000, introspectionCacheMs: 10_000 };
const JWKS_MAX_AGE_MS = 10 * 60_000;
const FETCH_TIMEOUT_MS = 5_000;
const INTROSPECTION_CACHE_ENTRIES = 1_000;

/** Builds a verifier; a bad option throws at once, naming it. */
export function createVerifier(options: VerifierOptions): Verifier {
  const settings = validated(options);
  const fetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
  const now = options.now ?? Date.now;
  const jwks = new JwksCache({
    uri: settings.jwksUri,
    fetch,
    now,
    cooldownMs: settings.jwksCooldownMs,
    maxAgeMs: JWKS_MAX_AGE_MS,
    timeoutMs: FETCH_TIMEOUT_MS,
  });
  const introspection =
    options.introspection &&
    new IntrospectionClient({
      settings: { ...options.introspection },
      fetch,
      now,
      cacheMs: settings.introspectionCacheMs,
      maxEntries: INTROSPECTION_CACHE_ENTRIES,
      timeoutMs: FETCH_TIMEOUT_MS,
    });
  const rules: ClaimRules<(typeof REQUIRED_CLAIMS)[number]> = {
    typ: 'at+jwt',
    issuer: settings.issuer,
    audience: settings.audience,
    clockSkew: settings.clockSkew,
    refuseFutureIat: true,
    required: REQUIRED_CLAIMS,
  };
  const verifyToken = async (token: string): Promise<AccessToken> => {
    if (token.startsWith(OPAQUE_TOKEN_PREFIX)) {
      if (!introspection) throw new BearerError('invalid_token', 'opaque tokens are not accepted here');
      return acceptedChain(fromIntrospection(await introspection.introspect(token), settings, now()), settings);
    }
    const verified = acceptedChain(await verifyJwtAccessToken(token, jwks, rules, now), settings);
    // RFC 7662: the issuer knows whether a signed token was revoked since.
    if (settings.checkRevocation && introspection) await introspection.introspect(token);
    return verified;
  };
  const dpop = createDpopPolicy(options.dpop, settings.clockSkew, now);
  const resourceMetadata =
    options.resourceMetadata &&
    buildResourceMetadata(options.resourceMetadata, settings.issuer, settings.audience, {
      allowQueryToken: settings.allowQueryToken,
      allowBodyToken: settings.allowBodyToken,
      dpop: dpop.mode,
      dpopAlgorithms: dpop.algorithms,
    });
  return Object.freeze({
    realm: settings.realm,
    allowBodyToken: settings.allowBodyToken,
    resourceMetadata,
    verifyToken,
    async authenticate(request: BearerRequest, scopes: readonly string[] = [], route: RouteAuthOptions = {}) {
      const mode = dpop.modeFor(route);
      let used: AuthScheme | undefined;
      try {
        const presented = extractAccessToken(request, { ...settings, acceptDpop: mode !== 'bearer' });
        used = presented.scheme;
        const token = await verifyToken(presented.token);
        await dpop.check(request, presented, token.jkt, mode);
        const needed = [...new Set([...settings.requiredScopes, ...scopes])];
        // RFC 6750 §3.1: insufficient_scope names the scopes the resource needs.
        if (!needed.every((scope) => token.scopes.includes(scope))) throw new BearerError('insufficient_scope', 'the token lacks a required scope', needed);
        return token;
      } catch (error) {
        throw error instanceof BearerError ? await dpop.challenged(error, mode, used) : error;
      }
    },
  });
}

type Settings = Required<Omit<VerifierOptions, 'introspection' | 'fetch' | 'now' | 'audience' | 'dpop' | 'allowedActorChains' | 'resourceMetadata'>> & {
  audience: readonly string[];
  acceptsActors: (actors: readonly string[]) => boolean;
};

function validated(options: VerifierOptions): Readonly<Settings> {
  const fail = (key: string, expected: string): never => {
    throw new TypeError(`createVerifier: ${key} must be ${expected}`);
  };
  if (typeof options.issuer !== 'string' || !URL.canParse(options.issuer)) fail('issuer', 'an absolute URL');
  const audience = typeof options.audience === 'string' ? [options.audience] : [...(options.audience ?? [])];
  if (audience.length === 0 || !audience.every((a) => typeof a === 'string' && a !== '')) fail('audience', 'a non-empty string or array of strings');
  const jwksUri = options.jwksUri ?? `${options.issuer.replace(/\/+$/, '')}/jwks.json`;
  if (!URL.canParse(jwksUri)) fail('jwksUri', 'an absolute URL');
  const introspection = options.introspection;
  if (introspection && (!URL.canParse(introspection.url) || !introspection.clientId || !introspection.clientSecret)) {
    fail('introspection', '{ url, clientId, clientSecret } with an absolute URL');
  }
  if (options.checkRevocation === true && !introspection) fail('checkRevocation', 'used with introspection');
  const count = (key: 'clockSkew' | 'jwksCooldownMs' | 'introspectionCacheMs'): number => {
    const value = options[key] ?? DEFAULTS[key];
    return Number.isFinite(value) && value >= 0 ? value : fail(key, 'a number ≥ 0');
  };
  const chains = options.allowedActorChains;
  let acceptsActors: (actors: readonly string[]) => boolean = () => true;
  if (typeof chains === 'function') acceptsActors = chains;
  else if (chains !== undefined) {
    if (!Array.isArray(chains) || !chains.every((c) => Array.isArray(c) && c.every((a) => typeof a === 'string' && a !== ''))) {
      fail('allowedActorChains', 'an array of arrays of actor ids, or a function');
    }
    const accepted = new Set(chains.map((chain) => JSON.stringify(chain)));
    acceptsActors = (actors) => accepted.has(JSON.stringify(actors));
  }
  const requiredScopes = [...(options.requiredScopes ?? [])];
  if (!requiredScopes.every((s) => typeof s === 'string' && /^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s))) fail('requiredScopes', 'scope tokens (RFC 6749 §3.3)');
  return Object.freeze({
    issuer: options.issuer,
    audience,
    jwksUri,
    clockSkew: count('clockSkew'),
    jwksCooldownMs: count('jwksCooldownMs'),
    introspectionCacheMs: count('introspectionCacheMs'),
    requiredScopes,
    allowQueryToken: options.allowQueryToken === true,
    allowBodyToken: options.allowBodyToken === true,
    checkRevocation: options.checkRevocation === true,
    realm: options.realm ?? audience[0] ?? '',
    acceptsActors,
  });
}

/** RFC 9068 §4: a fixed asymmetric algorithm bound to the published key, typ at+jwt, this issuer and audience. */
async function verifyJwtAccessToken(
  token: string,
  jwks: JwksCache,
  rules: ClaimRules<(typeof REQUIRED_CLAIMS)[number]>,
  now: () => number,
): Promise<AccessToken> {
  const header = readJwsHeader(token);
  if (!header) throw new BearerError('invalid_token', 'the token is malformed');
  if (typeof header.kid !== 'string') throw new BearerError('invalid_token', 'the token names no key (kid)');
  const published = await jwks.get(header.kid);
  const alg = published.algorithms.find((a) => a === header.alg);
  if (alg === undefined) throw new BearerError('invalid_token', 'the token algorithm does not fit its key');
  let payload: Record<string, unknown>;
  try {
    payload = verifyJwt(token, { key: published.key, alg: alg as VerifiableAlgorithm }, rules, now()).payload;
  } catch (error) {
    if (error instanceof JwtError) throw new BearerError('invalid_token', describeJwtFailure(error));
    throw error;
  }
  if (typeof payload.client_id !== 'string') throw new BearerError('invalid_token', 'client_id must be a string');
  return {
    format: 'jwt',
    sub: String(payload.sub),
    clientId: payload.client_id,
    scopes: scopesOf(payload.scope),
    expiresAt: payload.exp as number,
    actors: actorsOf(payload.act),
    jkt: thumbprintOf(payload.cnf),
    claims: Object.freeze(payload),
  };
}

function describeJwtFailure(error: JwtError): string {
  if (error.reason === 'expired') return 'the token has expired';
  if (error.reason === 'signature') return 'the token signature does not verify';
  return `the token is not valid (${error.message})`;
}

/** Checks what an introspection answer says against this API: issuer, audience, validity times. */
function fromIntrospection(answer: ActiveIntrospection, settings: Readonly<Settings>, now: number): AccessToken {
  const skew = settings.clockSkew * 1000;
  const refuse = (why: string): never => {
    throw new BearerError('invalid_token', why);
  };
  if (answer.iss !== undefined && answer.iss !== settings.issuer) refuse('the token is from another issuer');
  // RFC 8707: a token names the APIs it is for; one that names none is for no API.
  const aud = Array.isArray(answer.aud) ? answer.aud : [answer.aud];
  if (!aud.some((a) => typeof a === 'string' && settings.audience.includes(a))) refuse('the token is for another audience');
  if (typeof answer.exp === 'number' && answer.exp * 1000 <= now - skew) refuse('the token has expired');
  if (typeof answer.nbf === 'number' && answer.nbf * 1000 > now + skew) refuse('the token is not valid yet');
  if (typeof answer.sub !== 'string' || typeof answer.client_id !== 'string') refuse('the introspection answer names no sub or client_id');
  return {
    format: 'opaque',
    sub: answer.sub as string,
    clientId: answer.client_id as string,
    scopes: scopesOf(answer.scope),
    expiresAt: typeof answer.exp === 'number' ? answer.exp : undefined,
    actors: actorsOf(answer.act),
    jkt: thumbprintOf(answer.cnf),
    claims: Object.freeze({ ...answer }),
  };
}

/** RFC 8693 §4.1: refuses a token whose actors (current first) are not a chain this API accepts. */
function acceptedChain(token: AccessToken, settings: Readonly<Settings>): AccessToken {
  if (!settings.acceptsActors(token.actors)) {
    const chain = token.actors.length === 0 ? 'no actor' : `actors ${token.actors.join(' → ')}`;
    throw new BearerError('invalid_token', `the token's delegation chain (${chain}) is not accepted here`);
  }
  return token;
}

/** Longest chain of actors read from `act`; a deeper one is refused rather than walked. */
const MAX_ACTORS = 16;

/** RFC 8693 §4.1: the actors of a token, outermost (current) first; a malformed `act` is refused. */
function actorsOf(act: unknown): readonly string[] {
  const actors: string[] = [];
  let current = act;
  while (current !== undefined) {
    if (!current || typeof current !== 'object' || typeof (current as { sub?: unknown }).sub !== 'string') {
      throw new BearerError('invalid_token', 'act must be an object with a string sub');
    }
    if (actors.length === MAX_ACTORS) throw new BearerError('invalid_token', `act nests more than ${MAX_ACTORS} actors`);
    actors.push((current as { sub: string }).sub);
    current = (current as { act?: unknown }).act;
  }
  return Object.freeze(actors);
}

/** RFC 9449 §6: `cnf.jkt`, when the token is bound to a key; a malformed `cnf` is refused. */
function thumbprintOf(cnf: unknown): string | undefined {
  if (cnf === undefined) return undefined;
  const jkt = cnf && typeof cnf === 'object' ? (cnf as { jkt?: unknown }).jkt : undefined;
  if (typeof jkt !== 'string' || jkt === '') throw new BearerError('invalid_token', 'cnf must carry a jkt string');
  return jkt;
}

function scopesOf(scope: unknown): readonly string[] {
  if (scope === undefined) return [];
  if (typeof scope !== 'string') throw new BearerError('invalid_token', 'scope must be a string');
  return Object.freeze(scope.split(' ').filter((s) => s !== ''));
}
