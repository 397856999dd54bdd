import type { Clock } from '../../domain/clock.ts';
import { seconds } from '../../domain/clock.ts';
import type { ActorClaim, Api, Client, Environment } from '../../domain/model.ts';
import type { Store } from '../../domain/storage.ts';
import type { AccessTokenClaims, AccessTokenService, IssueRequest } from '../access-tokens.ts';
import { type ApiDirectory, grantResources, namesAllowedApis, requestedResources, scopeForResources, tokenOptionsOf } from '../apis.ts';
import { OAuthError } from '../errors.ts';
import { isResourceIdentifier } from '../resource-identifier.ts';
import { parseScope } from '../scope.ts';
import { type Grant, requireClient, type TokenResult } from './grant.ts';
import { type GrantModule, RESOURCE_PARAMETER, SCOPE_PARAMETER } from './module.ts';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** RFC 8693 §3: the only token type Gatehouse takes in and gives out. */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/**
 * RFC 8693 §2: a confidential client trades an access token of this environment (the subject
 * token) for one for other APIs, with a scope no wider, lasting no longer, naming itself (or the
 * subject of its own actor token) as the current actor (delegation, §4.1). Never a refresh token.
 */
export function tokenExchangeGrant(tokens: AccessTokenService, apis: ApiDirectory, store: Pick<Store, 'accessTokens'>, clock: Clock): Grant {
  return {
    grantType: TOKEN_EXCHANGE,
    clientAuthentication: 'required',
    async handle({ env, issuer, client: authenticated, params, accessTokenTtl }): Promise<TokenResult> {
      const client = requireClient(authenticated);
      // The token endpoint refused a client without a secret already (allowsPublicClients: false).
      if (client.kind === 'public') throw new OAuthError('unauthorized_client', 'a public client may not exchange tokens', { parameter: 'grant_type' });
      checkTokenTypes(params);
      const subject = await readSubjectToken(tokens, env, issuer, params.subject_token);
      if (!(await mayActOn(apis, env.id, client, subject, issuer))) {
        // RFC 8693 §2.2.2: a subject token that is "unacceptable based on policy" is answered with
        // invalid_request, not unauthorized_client: the client may use the grant, just not on this token.
        throw new OAuthError('invalid_request', 'this client may not act on the subject_token: it was not issued to it nor for an API that lets it in', {
          parameter: 'subject_token',
        });
      }
      const actor = await actorOf(tokens, env, issuer, client, params.actor_token);
      const target = await exchangeTarget(apis, env.id, client, subject, params);
      // RFC 8693 §4.1: the current actor outermost, the subject token's actors nested inside.
      const act: ActorClaim = { sub: actor, ...(subject.act ? { act: subject.act } : {}) };
      const request: IssueRequest = { env, issuer, client, subject: subject.subject, ttl: accessTokenTtl, act, ...target };
      // Never beyond the subject token's expiry: what it lets the client do ends when that token does.
      const remaining = subject.expiresAt - seconds(clock.now());
      if (remaining <= 0) throw subjectTokenRefused();
      let minted = await tokens.mint(request);
      if (minted.issued.expiresIn > remaining) minted = await tokens.mint({ ...request, ttl: remaining });
      if (minted.opaque) await store.accessTokens.insert(minted.opaque);
      return { ...minted.issued, issuedTokenType: ACCESS_TOKEN_TYPE, act };
    },
  };
}

export const tokenExchangeModule: GrantModule = {
  grantType: TOKEN_EXCHANGE,
  assignable: 'clients',
  label: 'Token exchange (a service acting for the subject of a token, RFC 8693)',
  parameters: {
    subject_token: { description: 'The access token of the subject to act for (RFC 8693 §2.1)', secret: true },
    subject_token_type: { description: `The type of subject_token: ${ACCESS_TOKEN_TYPE}` },
    actor_token: { description: 'An access token issued to the client that names the acting party in its sub (optional)', secret: true },
    actor_token_type: { description: `The type of actor_token, required with it: ${ACCESS_TOKEN_TYPE}` },
    requested_token_type: { description: `The type of token wanted; only ${ACCESS_TOKEN_TYPE}` },
    audience: { description: 'The identifier of an API the token is for, like resource' },
    scope: SCOPE_PARAMETER,
    resource: RESOURCE_PARAMETER,
  },
  allowsPublicClients: false,
  create: (s) => tokenExchangeGrant(s.tokens, s.apis, s.store, s.clock),
};

/** RFC 8693 §2.1 and §2.2.2: the type parameters, each an error naming what is wrong. */
function checkTokenTypes(params: Readonly<Record<string, string>>): void {
  if (params.subject_token === undefined) throw new OAuthError('invalid_request', 'subject_token is required', { parameter: 'subject_token' });
  const subjectType = params.subject_token_type;
  if (subjectType === undefined) throw new OAuthError('invalid_request', 'subject_token_type is required', { parameter: 'subject_token_type' });
  if (subjectType !== ACCESS_TOKEN_TYPE) {
    throw new OAuthError('invalid_request', `subject_token_type ${subjectType} is not supported: only ${ACCESS_TOKEN_TYPE}`, {
      parameter: 'subject_token_type',
    });
  }
  // §2.1: actor_token_type is required with actor_token and must not be sent without it.
  if ((params.actor_token === undefined) !== (params.actor_token_type === undefined)) {
    throw new OAuthError('invalid_request', 'actor_token and actor_token_type go together', {
      parameter: params.actor_token === undefined ? 'actor_token' : 'actor_token_type',
    });
  }
  if (params.actor_token_type !== undefined && params.actor_token_type !== ACCESS_TOKEN_TYPE) {
    throw new OAuthError('invalid_request', `actor_token_type ${params.actor_token_type} is not supported: only ${ACCESS_TOKEN_TYPE}`, {
      parameter: 'actor_token_type',
    });
  }
  // §2.2.2: a requested_token_type the server cannot issue is invalid_request.
  const requested = params.requested_token_type;
  if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE) {
    throw new OAuthError('invalid_request', `requested_token_type ${requested} cannot be issued: only ${ACCESS_TOKEN_TYPE}`, {
      parameter: 'requested_token_type',
    });
  }
}

/** One answer for every unusable subject token, so a caller cannot tell revoked from expired from foreign. */
const subjectTokenRefused = () =>
  new OAuthError('invalid_request', 'subject_token is not an active access token of this issuer', { parameter: 'subject_token' });

/** RFC 8693 §2.2.2: an invalid subject token is invalid_request (not invalid_grant). */
async function readSubjectToken(tokens: AccessTokenService, env: Environment, issuer: string, token: string | undefined): Promise<AccessTokenClaims> {
  const claims = token === undefined ? undefined : await tokens.read(env, issuer, token);
  if (!claims) throw subjectTokenRefused();
  return claims;
}

/**
 * Whether `client` may act on the subject token: it was issued to the client, or it is for an API
 * that lists the client among those allowed tokens for it (the API called the client with it).
 * Gatehouse issues no `may_act` claim (RFC 8693 §4.4), so there is none to honour.
 */
async function mayActOn(apis: ApiDirectory, envId: string, client: Client, subject: AccessTokenClaims, issuer: string): Promise<boolean> {
  if (subject.clientId === client.clientId) return true;
  const audience = (typeof subject.audience === 'string' ? [subject.audience] : subject.audience).filter((aud) => aud !== issuer);
  if (audience.length === 0) return false;
  const list = await apis.list(envId);
  return audience.some((aud) => list.some((api) => api.identifier === aud && api.clientIds.includes(client.clientId)));
}

/**
 * The current actor: the client itself, or the `sub` of an actor token (RFC 8693 §2.1) that is
 * an active access token of this environment issued to the client. Any other actor token is
 * invalid_request (§2.2.2), with one description whatever the reason.
 */
async function actorOf(tokens: AccessTokenService, env: Environment, issuer: string, client: Client, token: string | undefined): Promise<string> {
  if (token === undefined) return client.clientId;
  const claims = await tokens.read(env, issuer, token);
  if (!claims || claims.clientId !== client.clientId) {
    throw new OAuthError('invalid_request', 'actor_token is not an active access token of this issuer issued to this client', { parameter: 'actor_token' });
  }
  return claims.subject;
}

/**
 * RFC 8693 §2.1 `resource` and `audience` both name target APIs by identifier (RFC 8707), each
 * one the client may get tokens for (`invalid_target` otherwise). The scope is at most what the
 * subject token has, the client may have and the APIs define; none asked: all of that.
 */
async function exchangeTarget(apis: ApiDirectory, envId: string, client: Client, subject: AccessTokenClaims, params: Readonly<Record<string, string>>) {
  const audience = params.audience;
  const named = [...new Set([...requestedResources(params), ...(audience === undefined ? [] : [audience])])];
  const list = named.length === 0 ? await apis.list(envId) : await apis.listCovering(envId, namesAllowedApis(client, named));
  if (audience !== undefined && !isKnownAndAllowed(list, client, audience)) {
    throw new OAuthError('invalid_target', `audience ${audience} is unknown or not allowed for this client`, { parameter: 'audience' });
  }
  const grant = grantResources(list, client, named);
  const held = parseScope(subject.scope);
  const wider = parseScope(params.scope).filter((s) => !held.includes(s));
  if (wider.length > 0) {
    throw new OAuthError('invalid_scope', `scope wider than the subject token's: ${wider.join(' ')}`, { parameter: 'scope' });
  }
  const allowed = client.scopes.filter((s) => held.includes(s));
  const scope = scopeForResources(params.scope, { scopes: allowed, defaultScopes: allowed }, grant);
  return { scope, ...tokenOptionsOf(grant) };
}

function isKnownAndAllowed(list: readonly Api[], client: Client, identifier: string): boolean {
  if (!isResourceIdentifier(identifier)) return false;
  return list.some((api) => api.identifier === identifier && api.clientIds.includes(client.clientId));
}
