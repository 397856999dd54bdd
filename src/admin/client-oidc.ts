import type { Client, Environment, IdTokenAlgorithm, SubjectType } from '../domain/model.ts';
import { AdminError } from './admin-error.ts';

/** A client's OpenID Connect metadata as the admin surfaces show it, under its registration names. */
export interface ClientOidcView {
  /** RP-Initiated Logout §3.1; empty: none registered. */
  post_logout_redirect_uris: string[];
  /** Back-Channel Logout §2.2; null: none. */
  backchannel_logout_uri: string | null;
  backchannel_logout_session_required: boolean;
  /** Ending a browser session revokes the refresh tokens this client got in it. */
  logout_revokes_tokens: boolean;
  /** Dynamic Registration §2; null: RS256. */
  id_token_signed_response_alg: IdTokenAlgorithm | null;
  /** Core §8; null: the environment's. */
  subject_type: SubjectType | null;
  /** Core §8.1; null: the host of the redirect URIs. */
  sector_identifier_uri: string | null;
}

/** What a create or change may set; absent: kept (default on create), null: back to the default. */
export interface ClientOidcChanges {
  postLogoutRedirectUris?: string[];
  backchannelLogoutUri?: string | null;
  backchannelLogoutSessionRequired?: boolean;
  logoutRevokesTokens?: boolean;
  idTokenSignedResponseAlg?: IdTokenAlgorithm | null;
  subjectType?: SubjectType | null;
  sectorIdentifierUri?: string | null;
}

export const ID_TOKEN_ALGORITHMS: readonly IdTokenAlgorithm[] = ['RS256', 'ES256', 'EdDSA'];
export const SUBJECT_TYPES: readonly SubjectType[] = ['public', 'pairwise'];

/** The wire name of each field, for audit events and declarative diffs. */
export const CLIENT_OIDC_FIELDS: Record<keyof ClientOidcChanges, keyof ClientOidcView> = {
  postLogoutRedirectUris: 'post_logout_redirect_uris',
  backchannelLogoutUri: 'backchannel_logout_uri',
  backchannelLogoutSessionRequired: 'backchannel_logout_session_required',
  logoutRevokesTokens: 'logout_revokes_tokens',
  idTokenSignedResponseAlg: 'id_token_signed_response_alg',
  subjectType: 'subject_type',
  sectorIdentifierUri: 'sector_identifier_uri',
};

export function clientOidcView(c: Client): ClientOidcView {
  return {
    post_logout_redirect_uris: c.postLogoutRedirectUris ?? [],
    backchannel_logout_uri: c.backchannelLogoutUri ?? null,
    backchannel_logout_session_required: c.backchannelLogoutSessionRequired ?? false,
    logout_revokes_tokens: c.logoutRevokesTokens ?? false,
    id_token_signed_response_alg: c.idTokenSignedResponseAlg ?? null,
    subject_type: c.subjectType ?? null,
    sector_identifier_uri: c.sectorIdentifierUri ?? null,
  };
}

/**
 * `client` with `changes` applied, each field present only when it differs from its default (as
 * storage reads it back). Checked by `checkClientOidc` with the rest of the client.
 */
export function withOidcChanges(client: Client, changes: ClientOidcChanges): Client {
  const next: Client = { ...client };
  const set = <K extends keyof Client>(key: K, value: Client[K] | undefined, isDefault: boolean) => {
    if (value === undefined) return;
    if (isDefault) delete next[key];
    else next[key] = value;
  };
  const uris = changes.postLogoutRedirectUris && [...new Set(changes.postLogoutRedirectUris.map((u) => u.trim()).filter((u) => u !== ''))];
  set('postLogoutRedirectUris', uris, uris?.length === 0);
  set('backchannelLogoutUri', blankToNull(changes.backchannelLogoutUri), blankToNull(changes.backchannelLogoutUri) === null);
  set('backchannelLogoutSessionRequired', changes.backchannelLogoutSessionRequired, changes.backchannelLogoutSessionRequired === false);
  set('logoutRevokesTokens', changes.logoutRevokesTokens, changes.logoutRevokesTokens === false);
  set('idTokenSignedResponseAlg', changes.idTokenSignedResponseAlg, changes.idTokenSignedResponseAlg === null);
  set('subjectType', changes.subjectType, changes.subjectType === null);
  set('sectorIdentifierUri', blankToNull(changes.sectorIdentifierUri), blankToNull(changes.sectorIdentifierUri) === null);
  return next;
}

/** Absent stays absent; null or a blank string is null; a string is trimmed. */
const blankToNull = (value: string | null | undefined): string | null | undefined => {
  if (value === undefined || value === null) return value;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
};

/**
 * The OpenID Connect metadata rules; `redirectUriRule` is the check redirect URIs get, which
 * post-logout redirect URIs share (RP-Initiated Logout §3.1 registers them like redirect URIs).
 */
export function checkClientOidc(
  client: Client,
  env: Environment,
  redirectUriRule: (uri: string, what: string) => void,
  /** Whether the sector rule applies: on create, and when a change touches the redirect URIs or subject settings. */
  checkSector = true,
): void {
  for (const uri of client.postLogoutRedirectUris ?? []) redirectUriRule(uri, 'post-logout redirect URI');
  if (client.backchannelLogoutUri != null) checkBackchannelUri(client.backchannelLogoutUri);
  const alg = client.idTokenSignedResponseAlg;
  if (alg != null && !ID_TOKEN_ALGORITHMS.includes(alg)) {
    throw new AdminError('invalid_argument', `id_token_signed_response_alg must be one of ${ID_TOKEN_ALGORITHMS.join(', ')}`);
  }
  if (client.subjectType != null && !SUBJECT_TYPES.includes(client.subjectType)) {
    throw new AdminError('invalid_argument', `subject_type must be one of ${SUBJECT_TYPES.join(', ')}`);
  }
  if (client.sectorIdentifierUri != null) checkSectorUri(client.sectorIdentifierUri);
  if ((client.backchannelLogoutSessionRequired || client.logoutRevokesTokens) && client.kind === 'service_account') {
    throw new AdminError('invalid_argument', 'a service account has no browser sessions to log out of');
  }
  if (!checkSector) return;
  const hosts = sectorlessHosts(client, env.subjectType ?? 'public');
  if (hosts) {
    throw new AdminError(
      'invalid_argument',
      `a pairwise client whose redirect URIs use several hosts (${hosts.join(', ')}) needs a sector_identifier_uri (OpenID Connect Core §8.1)`,
    );
  }
}

/**
 * Core §8.1: redirect URIs on several hosts have no one sector without a sector_identifier_uri.
 * The hosts of a pairwise client (under `envSubjectType` when it chooses none) that has that
 * problem; undefined if it has not.
 */
export function sectorlessHosts(client: Client, envSubjectType: SubjectType): string[] | undefined {
  if ((client.subjectType ?? envSubjectType) !== 'pairwise' || client.sectorIdentifierUri != null) return undefined;
  const hosts = [...new Set(client.redirectUris.map(hostOf).filter((h) => h !== undefined))];
  return hosts.length > 1 ? hosts : undefined;
}

function hostOf(uri: string): string | undefined {
  try {
    return new URL(uri).hostname || undefined;
  } catch {
    return undefined;
  }
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

function absolute(uri: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new AdminError('invalid_argument', `${what} is not an absolute URI: ${uri}`);
  }
  if (uri.length > 2000) throw new AdminError('invalid_argument', `${what} must be at most 2000 characters`);
  if (url.hash || uri.includes('#')) throw new AdminError('invalid_argument', `${what} must not have a fragment: ${uri}`);
  if (url.username || url.password) throw new AdminError('invalid_argument', `${what} must not carry credentials: ${uri}`);
  return url;
}

/** Back-Channel Logout §2.2: absolute, https (http only on loopback), no fragment; a query is allowed. */
function checkBackchannelUri(uri: string): void {
  const url = absolute(uri, 'backchannel_logout_uri');
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    throw new AdminError('invalid_argument', `backchannel_logout_uri must use https (http only on loopback): ${uri}`);
  }
}

/** Core §8.1: the sector identifier is an https URL. */
function checkSectorUri(uri: string): void {
  const url = absolute(uri, 'sector_identifier_uri');
  if (url.protocol !== 'https:') throw new AdminError('invalid_argument', `sector_identifier_uri must use https: ${uri}`);
}
