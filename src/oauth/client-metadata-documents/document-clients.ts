import type { Clock } from '../../domain/clock.ts';
import type { EventSink } from '../../domain/events.ts';
import type { Client, Environment } from '../../domain/model.ts';
import { parseClientIdUrl } from './client-id-url.ts';
import type { DocumentCache, DocumentOutcome } from './document-cache.ts';
import type { DocumentKey } from './key-set.ts';
import { type ClientMetadataDocumentSettings, refusedHost } from './settings.ts';
import type { MetadataDocument } from './validator.ts';

/**
 * Turns a client_id URL into a client, for an environment that accepts Client ID Metadata
 * Documents: checks the URL (draft §3) and the environment's host rules before anything is
 * fetched, takes the document from the cache (fetching it if needed), and applies the
 * environment's policy. Every refusal and every fetch is reported as an event.
 */
export class MetadataDocumentClients {
  constructor(
    private readonly documents: DocumentCache<MetadataDocument>,
    private readonly keySets: DocumentCache<DocumentKey[]>,
    private readonly clock: Clock,
    private readonly events: EventSink,
  ) {}

  /** The client the URL names in `env`, or undefined (documents off, or refused: see the events). */
  async find(env: Environment, clientId: string): Promise<Client | undefined> {
    const settings = env.clientMetadataDocuments;
    if (!settings?.enabled) return undefined;
    const eventEnv = { id: env.id, name: env.name };
    const parsed = parseClientIdUrl(clientId);
    const host = 'url' in parsed ? parsed.url.host : '';
    const refuse = (reason: string, durationMs?: number): undefined => {
      this.events.emit({ type: 'client.metadata_document_refused', env: eventEnv, clientId, host, reason, durationMs });
      return undefined;
    };
    if ('refused' in parsed) return refuse(parsed.refused);
    const hostRefusal = refusedHost(settings, parsed.url.hostname);
    if (hostRefusal !== undefined) return refuse(hostRefusal);
    const outcome = await this.documents.get(parsed.url);
    if ('refused' in outcome) return refuse(outcome.refused, outcome.fetchedMs);
    const keys = await this.keysOf(settings, outcome.document);
    const fetchedMs = outcome.fetchedMs === undefined && keys?.fetchedMs === undefined ? undefined : (outcome.fetchedMs ?? 0) + (keys?.fetchedMs ?? 0);
    if (keys && 'refused' in keys) return refuse(keys.refused, fetchedMs);
    if (fetchedMs !== undefined) {
      this.events.emit({ type: 'client.metadata_document_fetched', env: eventEnv, clientId, host, durationMs: fetchedMs });
    }
    return clientFromDocument(env, outcome.document, parsed.url.host, this.clock.now(), keys?.document);
  }

  /**
   * A private_key_jwt client's keys: from its document, or fetched from its `jwks_uri` (whose
   * host the environment's rules must allow before anything is fetched), kept like documents.
   */
  private async keysOf(settings: ClientMetadataDocumentSettings, document: MetadataDocument): Promise<DocumentOutcome<DocumentKey[]> | undefined> {
    const keys = document.keys;
    if (keys === undefined) return undefined;
    if ('jwks' in keys) return { document: keys.jwks };
    const url = new URL(keys.jwksUri);
    const hostRefusal = refusedHost(settings, url.hostname);
    if (hostRefusal !== undefined) return { refused: `jwks_uri: ${hostRefusal}` };
    return this.keySets.get(url);
  }
}

/**
 * The client a document describes, held to the environment's policy: public (no secret can
 * exist, draft §4.1), so PKCE is required and consent always asked; scopes only those the policy
 * allows (the document's `scope` can only narrow them); refresh tokens only if both allow them.
 */
export function clientFromDocument(env: Environment, doc: MetadataDocument, host: string, now: number, keys?: readonly DocumentKey[]): Client {
  const settings = env.clientMetadataDocuments;
  const allowed = settings?.scopes ?? [];
  const scopes = doc.scope === undefined ? [...allowed] : allowed.filter((s) => doc.scope?.includes(s));
  const grantTypes = doc.grantTypes.filter((g) => g !== 'refresh_token' || settings?.refreshTokens !== false);
  return {
    envId: env.id,
    clientId: doc.clientId,
    name: doc.clientName ?? host,
    // private_key_jwt: confidential, proving itself with the keys its document names.
    kind: keys ? 'confidential' : 'public',
    grantTypes,
    scopes,
    defaultScopes: scopes,
    redirectUris: doc.redirectUris,
    tokenFormat: 'jwt',
    accessTokenTtl: settings?.accessTokenTtl ?? null,
    introspectAny: false,
    allowMissingPkce: false,
    quota: null,
    enabled: true,
    createdAt: now,
    updatedAt: now,
    metadataDocument: { host, apis: settings?.apis ?? [], logoUri: doc.logoUri, clientUri: doc.clientUri, ...(keys ? { keys } : {}) },
  };
}
