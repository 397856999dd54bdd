import type { AdminService } from '../admin/admin-service.ts';
import type { ApiService } from '../admin/apis.ts';
import type { AuditEventService } from '../admin/audit-events.ts';
import type { ClientMetadataDocumentService } from '../admin/client-metadata-documents.ts';
import type { ServiceAccountService } from '../admin/service-accounts.ts';
import type { UserService } from '../admin/users.ts';
import type { Config } from '../config/config-type.ts';
import type { Store } from '../domain/storage.ts';
import type { CliAdmin, CliApis, CliAuditEvents, CliServiceAccounts, CliUsers } from './remote-admin.ts';
import type { CliBranding } from './remote-branding.ts';
import type { CliMetadataDocuments } from './remote-metadata-documents.ts';
import type { CliSignIn } from './sign-in-remote.ts';

/** What a data command works with: the services on this machine, or a running node's admin API with `--server`. */
export interface AdminContext {
  config: Config & { publicUrl: string };
  admin: CliAdmin;
  serviceAccounts: CliServiceAccounts;
  users: CliUsers;
  apis: CliApis;
  auditEvents: CliAuditEvents;
  branding?: CliBranding;
  signIn: CliSignIn;
  metadataDocuments: CliMetadataDocuments;
  close(): Promise<void>;
}

/** On this machine only: the store itself and the full application services. */
export interface LocalAdminContext extends AdminContext {
  store: Store;
  admin: AdminService;
  serviceAccounts: ServiceAccountService;
  users: UserService;
  apis: ApiService;
  auditEvents: AuditEventService;
  metadataDocuments: ClientMetadataDocumentService;
}
