import { METADATA_DOCUMENTS_OFF, metadataDocumentSettingsJson, parseMetadataDocumentSettings } from '../domain/client-metadata-document-settings.ts';
import type { ClientMetadataDocumentSettings, Environment } from '../domain/model.ts';
import type { Store, TransactionStore } from '../domain/storage.ts';
import { AdminError } from './admin-error.ts';
import { AdminAudit } from './audit-trail.ts';
import { holdUnchanged } from './settings-guard.ts';

/**
 * An environment's settings for clients named by a Client ID Metadata Document URL, under their
 * wire names: `enabled`, `allowed_hosts`, `blocked_hosts`, and the policy such clients are held
 * to (`scopes`, `apis`, `access_token_ttl`, `refresh_tokens`).
 */
export type ClientMetadataDocumentsView = ReturnType<typeof metadataDocumentSettingsJson>;

/** Reads and replaces the settings; every change is an audit event. Nodes see a change within GATEHOUSE_CACHE_TTL. */
export class ClientMetadataDocumentService {
  constructor(
    private readonly store: Store,
    private readonly audit: AdminAudit = new AdminAudit(),
  ) {}

  async get(envName: string): Promise<ClientMetadataDocumentsView> {
    return metadataDocumentSettingsJson((await this.environment(envName)).clientMetadataDocuments ?? METADATA_DOCUMENTS_OFF);
  }

  /**
   * Replaces the settings with `raw` (its wire form; missing fields take their defaults).
   * `expect` sees the settings as read and may refuse (an admin's If-Match); the write then
   * applies only to that version, so a change made in between is never overwritten.
   */
  async set(envName: string, raw: unknown, expect?: (current: ClientMetadataDocumentsView) => void): Promise<ClientMetadataDocumentsView> {
    const env = await this.environment(envName);
    const current = (s: ClientMetadataDocumentSettings | undefined) => metadataDocumentSettingsJson(s ?? METADATA_DOCUMENTS_OFF);
    expect?.(current(env.clientMetadataDocuments));
    let settings: ClientMetadataDocumentSettings;
    try {
      settings = parseMetadataDocumentSettings(raw ?? {});
    } catch (error) {
      throw new AdminError('invalid_argument', (error as Error).message);
    }
    const view = metadataDocumentSettingsJson(settings);
    const changed = {
      type: 'environment.client_metadata_documents_changed',
      env,
      subject: { kind: 'environment', id: env.id },
      details: () => ({
        enabled: settings.enabled,
        allowed_hosts: [...settings.allowedHosts],
        blocked_hosts: [...settings.blockedHosts],
        scopes: [...settings.scopes],
        apis: [...settings.apis],
        access_token_ttl: settings.accessTokenTtl,
        refresh_tokens: settings.refreshTokens,
      }),
    } as const;
    const guard = {
      read: env.clientMetadataDocuments,
      reread: async (tx: TransactionStore) => (await tx.environments.findByName(env.name))?.clientMetadataDocuments,
      view: current,
      expect,
      what: 'the Client ID Metadata Document settings',
    };
    await this.audit.change(this.store, changed, async (tx) => {
      await holdUnchanged(tx, env, guard);
      if (!(await tx.environments.setClientMetadataDocuments(env.name, settings))) throw new AdminError('not_found', `no environment named ${env.name}`);
    });
    return view;
  }

  private async environment(name: string): Promise<Environment> {
    const env = await this.store.environments.findByName(name);
    if (!env) throw new AdminError('not_found', `no environment named ${name}`);
    return env;
  }
}
