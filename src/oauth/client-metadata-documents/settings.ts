import type { ClientMetadataDocumentSettings } from '../../domain/model.ts';
import { hostMatches } from './client-id-url.ts';

export {
  METADATA_DOCUMENTS_OFF,
  metadataDocumentSettingsJson,
  parseMetadataDocumentSettings,
} from '../../domain/client-metadata-document-settings.ts';
export type { ClientMetadataDocumentSettings };

/** Why a host may not serve metadata documents in this environment, or undefined if it may. */
export function refusedHost(settings: ClientMetadataDocumentSettings, host: string): string | undefined {
  if (settings.blockedHosts.some((rule) => hostMatches(host, rule))) return 'host is blocked';
  if (settings.allowedHosts.length > 0 && !settings.allowedHosts.some((rule) => hostMatches(host, rule))) return 'host is not allowed';
  return undefined;
}
