import { randomUUID } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import { type ClaimRules, signCompactJwt, type VerifiedJwt, VerifiedSignatures, verifyJwt } from '../crypto/jwt.ts';
import { PublicKeyCache } from '../crypto/public-keys.ts';
import { hashSecret, randomToken } from '../crypto/secrets.ts';
import { type Clock, seconds } from '../domain/clock.ts';
import type { ActorClaim, Api, Client, ConfirmationClaim, Environment, OpaqueAccessToken, TokenAuthentication, TokenFormat } from '../domain/model.ts';
import type { Store } from '../domain/storage.ts';
import type { ApiDirectory } from './apis.ts';
import { OPENID_PATHS } from './endpoints.ts';
import { ACCESS_TOKEN_ALGORITHMS, type KeyRing } from './signing-keys.ts';

/** Prefix of opaque access tokens, so secret scanners can recognise a leaked one. */
export const OPAQUE_TOKEN_PREFIX = 'gat_';
/** Longest token of another provider looked up at all (Doorkeeper's and Hydra's are well under it). */
const MAX_IMPORTED_TOKEN_LENGTH = 512;

/** RFC 6750 for a bearer token; RFC 9449 §5 `DPoP` for one bound to a DPoP key. */
export type AccessTokenType = 'Bearer' | 'DPoP';

export interface IssuedAccessToken {
  accessToken: string;
  tokenType: AccessTokenType;
  expiresIn: number;
  scope: string[];
  /** When the token was issued, in epoch seconds (some dialects return it as `created_at`). */
  issuedAt: number;
  /** Whom it was issued to and for, for the events the token endpoint reports; no dialect renders these. */
  clientId: string;
  subject: string;
}

/** What a valid access token says, whichever its format. */
export interface AccessTokenClaims {
  format: 'jwt' | 'opaque';
  jti: string;
  clientId: string;
  subject: string;
  scope: string;
  issuedAt: number;
  expiresAt: number;
  audience: string | string[];
  /** RFC 8693 §4.1: who acts for the subject (a token exchange); absent when the subject acts itself. */
  act?: ActorClaim;
  /** RFC 9449 §6: the DPoP key the token is bound to; absent for a bearer token. */
  cnf?: ConfirmationClaim;
  /** How the user signed in (RFC 9068 §2.2.1 `acr`, `amr`); absent for a token of no user sign-in. */
  authentication?: TokenAuthentication;
}

export interface IssueRequest {
  env: Environment;
  issuer: string;
  client: Client;
  subject: string;
  scope: string[];
  /** Lifetime in seconds set by the surface; otherwise the APIs', the client's, the default. Capped by the maximum. */
  ttl?: number | undefined;
  /** RFC 8707: the identifiers of the APIs the token is for, its `aud`; absent: the issuer. */
  audience?: string[] | undefined;
  /** The APIs' choice of format, over the client's. */
  tokenFormat?: TokenFormat | undefined;
  /** The APIs' lifetime in seconds, over the client's. */
  resourceTtl?: number | undefined;
  /** RFC 8693 §4.1: the actor of a token exchange. */
  act?: ActorClaim | undefined;
  /** RFC 9449 §6: bind the token to this DPoP key; its type is then `DPoP`. */
  cnf?: ConfirmationClaim | undefined;
  /** The sign-in the token comes from: its `acr` and `amr`, for introspection and the JWT's claims. */
  authentication?: TokenAuthentication | undefined;
}

/** A token created but not yet stored; `opaque` is the row to store for an opaque token. */
export interface MintedAccessToken {
  issued: IssuedAccessToken;
  jti: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  opaque: OpaqueAccessToken | undefined;
}

/** Issues and reads access tokens: RFC 9068 JWTs (no database write) or opaque tokens (stored hashed). */
export class AccessTokenService {
  private readonly publicKeys = new PublicKeyCache();
  /** The access tokens whose signatures this node verified: introspection sees each one many times. */
  private readonly signatures = new VerifiedSignatures();

  constructor(
    private readonly store: Store,
    private readonly keys: KeyRing,
    private readonly clock: Clock,
    private readonly defaultTtl: number,
    private readonly maxTtl: number,
    /** The registered APIs, whose identifiers a token's `aud` may name besides the issuer. */
    private readonly apis?: ApiDirectory,
  ) {}

  /** Issues a token; an opaque one is stored (hashed) before it is returned. */
  async issue(request: IssueRequest): Promise<IssuedAccessToken> {
    const minted = await this.mint(request);
    if (minted.opaque) await this.store.accessTokens.insert(minted.opaque);
    return minted.issued;
  }

  /**
   * Creates a token without storing anything: the caller stores `opaque` (when set) itself, for
   * instance inside the transaction that consumes an authorization code.
   */
  async mint(request: IssueRequest): Promise<MintedAccessToken> {
    const { env, client, subject, scope } = request;
    const ttl = Math.min(request.ttl ?? request.resourceTtl ?? client.accessTokenTtl ?? this.defaultTtl, this.maxTtl);
    const audience = request.audience?.length ? request.audience : undefined;
    const now = this.clock.now();
    const jti = randomUUID();
    const scopeText = scope.join(' ');
    const { act, cnf } = request;
    const authentication = request.authentication && { acr: request.authentication.acr, amr: [...request.authentication.amr] };
    const tokenType: AccessTokenType = cnf ? 'DPoP' : 'Bearer';
    if ((request.tokenFormat ?? client.tokenFormat) === 'opaque') {
      const token = `${OPAQUE_TOKEN_PREFIX}${randomToken(32)}`;
      const opaque: OpaqueAccessToken = {
        tokenHash: hashSecret(token),
        envId: env.id,
        clientId: client.clientId,
        subject,
        scope: scopeText,
        jti,
        issuedAt: now,
        expiresAt: now + ttl * 1000,
        revokedAt: null,
        ...(audience ? { audience } : {}),
        ...(act ? { act } : {}),
        ...(cnf ? { cnfJkt: cnf.jkt } : {}),
        ...(authentication ? { authentication } : {}),
      };
      const issued = { accessToken: token, tokenType, expiresIn: ttl, scope, issuedAt: seconds(now), clientId: client.clientId, subject };
      return { issued, jti, expiresAt: opaque.expiresAt, opaque };
    }
    const key = await this.keys.activeKey(env.id);
    const iat = seconds(now);
    // RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti; scope when one was granted.
    const claims = {
      iss: request.issuer,
      sub: subject,
      aud: audClaim(audience, request.issuer),
      iat,
      exp: iat + ttl,
      jti,
      client_id: client.clientId,
      ...(scopeText ? { scope: scopeText } : {}),
      ...(act ? { act } : {}),
      ...(cnf ? { cnf } : {}),
      // RFC 9068 §2.2.1: how the user authenticated.
      ...(authentication ? { acr: authentication.acr, amr: authentication.amr } : {}),
    };
    const jwt = signCompactJwt({ kid: key.kid, typ: 'at+jwt' }, claims, key.privateKey, key.alg);
    const issued = { accessToken: jwt, tokenType, expiresIn: ttl, scope, issuedAt: iat, clientId: client.clientId, subject };
    return { issued, jti, expiresAt: (iat + ttl) * 1000, opaque: undefined };
  }

  /**
   * Returns the claims of an active token of `env`, or undefined for anything that is not one:
   * malformed, unknown, another environment's, expired, revoked, or signed by an unpublished key.
   */
  async read(env: Environment, issuer: string, token: string): Promise<AccessTokenClaims | undefined> {
    if (token.startsWith(OPAQUE_TOKEN_PREFIX)) return this.readOpaque(env, issuer, token);
    if (token.split('.').length === 3) return this.readJwt(env, issuer, token);
    // An imported opaque token keeps its old provider's form (no prefix); it is stored hashed like ours.
    if (token.length > 0 && token.length <= MAX_IMPORTED_TOKEN_LENGTH) return this.readOpaque(env, issuer, token);
    return undefined;
  }

  private async readOpaque(env: Environment, issuer: string, token: string): Promise<AccessTokenClaims | undefined> {
    const record = await this.store.accessTokens.findByHash(env.id, hashSecret(token));
    if (!record || record.revokedAt !== null || record.expiresAt <= this.clock.now()) return undefined;
    return {
      format: 'opaque',
      jti: record.jti,
      clientId: record.clientId,
      subject: record.subject,
      scope: record.scope,
      issuedAt: seconds(record.issuedAt),
      expiresAt: seconds(record.expiresAt),
      audience: audClaim(record.audience, issuer),
      ...(record.act ? { act: record.act } : {}),
      ...(record.cnfJkt ? { cnf: { jkt: record.cnfJkt } } : {}),
      ...(record.authentication ? { authentication: record.authentication } : {}),
    };
  }

  private async readJwt(env: Environment, issuer: string, token: string): Promise<AccessTokenClaims | undefined> {
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      return undefined;
    }
    if (kid === undefined) return undefined;
    const key = await this.keys.publishedKey(env.id, kid);
    if (!key) return undefined;
    // RFC 8725 §3.1 and RFC 9068 §4: only the key's own asymmetric algorithm, typ at+jwt, this issuer.
    const alg = ACCESS_TOKEN_ALGORITHMS.find((a) => a === key.alg);
    if (!alg) return undefined;
    let verified: VerifiedJwt<AccessTokenClaim>;
    try {
      const verification = { key: this.publicKeys.get(key.publicJwk), alg, signatures: this.signatures };
      verified = verifyJwt(token, verification, accessTokenRules(issuer), this.clock.now());
    } catch {
      return undefined;
    }
    const { payload } = verified;
    const { exp, iat, jti, sub, client_id: clientId } = payload;
    if (!(await this.audienceKnown(env, issuer, payload.aud))) return undefined;
    // A revoked token, or a revoked signing key, read in one statement. The key is read from
    // storage, not from the cached key set: its tokens are refused on every node at once, not
    // only once each node's cache has expired.
    if (await this.store.revokedJwts.isWithdrawn(env.id, jti, kid)) return undefined;
    return {
      format: 'jwt',
      jti,
      clientId: String(clientId),
      subject: sub,
      scope: typeof payload.scope === 'string' ? payload.scope : '',
      issuedAt: iat,
      expiresAt: exp,
      audience: payload.aud,
      ...actAndCnf(payload),
      ...authenticationOf(payload),
    };
  }

  /**
   * Whether `aud` names this issuer, its UserInfo endpoint (a token for APIs that carries
   * `openid`, OpenID Connect Core §5.3) or an API registered in the environment (RFC 9068 §4, RFC 8707).
   */
  private async audienceKnown(env: Environment, issuer: string, aud: unknown): Promise<boolean> {
    const names = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
    if (names.includes(issuer) || names.includes(`${issuer}${OPENID_PATHS.userinfo}`)) return true;
    if (!this.apis || names.length === 0) return false;
    // An API created since this node cached the list (by the CLI, another node) is read again.
    const known = (apis: readonly Api[]) => names.some((name) => apis.some((api) => api.identifier === name));
    return known(await this.apis.listCovering(env.id, known));
  }
}

/** The `act` and `cnf` claims of a verified payload, when well-formed (Gatehouse signed them, so they are). */
function actAndCnf(payload: Record<string, unknown>): Pick<AccessTokenClaims, 'act' | 'cnf'> {
  const { act, cnf } = payload;
  const out: Pick<AccessTokenClaims, 'act' | 'cnf'> = {};
  if (isActor(act)) out.act = act;
  if (cnf && typeof cnf === 'object' && typeof (cnf as { jkt?: unknown }).jkt === 'string') out.cnf = { jkt: (cnf as { jkt: string }).jkt };
  return out;
}

/** RFC 9068 §2.2.1 `acr` and `amr` of a verified payload, when both are there. */
function authenticationOf(payload: Record<string, unknown>): Pick<AccessTokenClaims, 'authentication'> {
  const { acr, amr } = payload;
  if (typeof acr !== 'string' || !Array.isArray(amr) || !amr.every((m) => typeof m === 'string')) return {};
  return { authentication: { acr, amr: amr as string[] } };
}

/** Whether a value is an RFC 8693 `act` claim: `sub` a string, a nested `act` one too. */
export function isActor(value: unknown): value is ActorClaim {
  if (!value || typeof value !== 'object') return false;
  const { sub, act } = value as { sub?: unknown; act?: unknown };
  return typeof sub === 'string' && (act === undefined || isActor(act));
}

/** RFC 9068 §2.2: the claims every access token carries (`scope` only when one was granted). */
const ACCESS_TOKEN_CLAIMS = ['aud', 'exp', 'iat', 'jti', 'sub', 'client_id'] as const;
type AccessTokenClaim = (typeof ACCESS_TOKEN_CLAIMS)[number];

/** RFC 9068 §4: typ at+jwt, issued by and for this issuer, not expired. */
function accessTokenRules(issuer: string): ClaimRules<AccessTokenClaim> {
  // `aud` is checked by `audienceKnown`: the issuer or an API of the environment (RFC 8707).
  return { typ: 'at+jwt', issuer, required: ACCESS_TOKEN_CLAIMS };
}

/**
 * RFC 8707 §2 and RFC 9068 §3: `aud` of a token for these APIs, a single one as a string; a token
 * that names no API is for the issuer, in its JWT and its opaque form alike.
 */
function audClaim(apis: readonly string[] | undefined, issuer: string): string | string[] {
  if (!apis?.length) return issuer;
  return apis.length === 1 ? (apis[0] as string) : [...apis];
}
