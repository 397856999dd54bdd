import type { AdminService } from './admin-service.ts';
import type { ApiService } from './apis.ts';
import type { DeclarativeTarget } from './declarative-plan.ts';
import type { ServiceAccountService } from './service-accounts.ts';

/** `plan` and `apply` on this machine: straight through the application services. */
export function localDeclarativeTarget(services: { admin: AdminService; serviceAccounts: ServiceAccountService; apis: ApiService }): DeclarativeTarget {
  const { admin, serviceAccounts, apis } = services;
  return {
    listEnvironments: () => admin.listEnvironments(),
    createEnvironment: (name) => admin.createEnvironment(name),
    setEnvironmentQuota: (name, quota) => admin.setEnvironmentQuota(name, quota),
    listClients: (env) => admin.listClients(env),
    createClient: (input) => admin.createClient(input),
    updateClient: (env, clientId, changes) => admin.updateClient(env, clientId, changes),
    listServiceAccounts: (env) => serviceAccounts.list(env),
    createServiceAccount: (input) => serviceAccounts.create(input),
    setServiceAccountEnabled: (env, id, enabled) => serviceAccounts.setEnabled(env, id, enabled),
    listApis: (env) => apis.list(env),
    createApi: (input) => apis.create(input),
    updateApi: (env, identifier, changes) => apis.update(env, identifier, changes),
  };
}
