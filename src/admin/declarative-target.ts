import type { AdminService } from './admin-service.ts';
import type { ApiService } from './apis.ts';
import type { ClientMetadataDocumentService } from './client-metadata-documents.ts';
import type { BrandingTarget, SignInTarget } from './declarative-pages.ts';
import type { DeclarativeTarget } from './declarative-plan.ts';
import type { RegistrationTarget } from './declarative-registration.ts';
import type { ServiceAccountService } from './service-accounts.ts';
import type { UserService } from './users.ts';

/** The service methods `plan` and `apply` use: the application services, or their admin API client with `--server`. */
export interface DeclarativeServices {
  admin: Pick<AdminService, 'listEnvironments' | 'createEnvironment' | 'updateEnvironment' | 'listClients' | 'createClient' | 'updateClient'>;
  serviceAccounts: Pick<ServiceAccountService, 'list' | 'create' | 'setEnabled'>;
  apis: Pick<ApiService, 'list' | 'create' | 'update'>;
  users: Pick<UserService, 'list' | 'update'>;
  /** RFC 7591 registration policies: the application services' policy service… */
  registration?: { policies: RegistrationTarget } | undefined;
  /** …or another way to them (the admin API with `--server`), which wins. */
  registrationPolicies?: RegistrationTarget | undefined;
  /** The sign-in policies and brands of environments (the services, or the admin API with `--server`). */
  signIn?: SignInTarget | undefined;
  branding?: BrandingTarget | undefined;
  metadataDocuments: Pick<ClientMetadataDocumentService, 'get' | 'set'>;
}

/** `plan` and `apply` over the application services (or, with `--server`, the same methods over the admin API). */
export function localDeclarativeTarget(services: DeclarativeServices): DeclarativeTarget {
  const { admin, serviceAccounts, apis, users, metadataDocuments: documents } = services;
  const registration = services.registrationPolicies ?? services.registration?.policies;
  return {
    ...(registration ? { registration } : {}),
    ...(services.signIn ? { signInPolicy: services.signIn } : {}),
    ...(services.branding ? { branding: services.branding } : {}),
    listEnvironments: () => admin.listEnvironments(),
    createEnvironment: (name) => admin.createEnvironment(name),
    updateEnvironment: (name, changes) => admin.updateEnvironment(name, changes),
    listClients: (env) => admin.listClients(env),
    createClient: (input) => admin.createClient(input),
    updateClient: (env, clientId, changes) => admin.updateClient(env, clientId, changes),
    listServiceAccounts: (env) => serviceAccounts.list(env),
    createServiceAccount: (input) => serviceAccounts.create(input),
    setServiceAccountEnabled: (env, id, enabled) => serviceAccounts.setEnabled(env, id, enabled),
    listApis: (env) => apis.list(env),
    createApi: (input) => apis.create(input),
    updateApi: (env, identifier, changes) => apis.update(env, identifier, changes),
    listUsers: (env) => users.list(env),
    updateUser: (env, username, changes) => users.update(env, username, changes),
    getClientMetadataDocuments: (env) => documents.get(env),
    setClientMetadataDocuments: (env, settings) => documents.set(env, settings),
  };
}
