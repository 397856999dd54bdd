import type { ClientMetadataDocumentService, ClientMetadataDocumentsView } from '../admin/client-metadata-documents.ts';

/** What the CLI and `apply` call for Client ID Metadata Document settings: the local service, or the admin API with `--server`. */
export type CliMetadataDocuments = Pick<ClientMetadataDocumentService, 'get' | 'set'>;

/** The admin API client as far as these settings use it (kept structural, so this file imports no CLI plumbing). */
interface SettingsApi {
  get<T>(path: string): Promise<T>;
  update<T>(method: 'PATCH' | 'PUT', path: string, body: (current: T) => unknown): Promise<T>;
}

const settingsPath = (env: string) => `/environments/${encodeURIComponent(env)}/client-metadata-documents`;

/**
 * The settings over the admin API: a PUT with If-Match of the version read just before, which
 * `expect` sees first, as the service's would; a change made after that read gets 412.
 */
export function remoteMetadataDocuments(api: SettingsApi): CliMetadataDocuments {
  return {
    get: (env) => api.get<ClientMetadataDocumentsView>(settingsPath(env)),
    set: (env, raw, expect) =>
      api.update<ClientMetadataDocumentsView>('PUT', settingsPath(env), (current) => {
        expect?.(current);
        return raw;
      }),
  };
}
