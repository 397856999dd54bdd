import { AdminError } from '../admin/admin-service.ts';
import type { ApiView } from '../admin/apis.ts';
import { ADMIN_API_IDENTIFIER, ADMIN_READ, ADMIN_WRITE } from './auth.ts';
import type { AdminApiServices } from './routes.ts';

export interface BootstrapResult {
  environment: string;
  /** Whether this run created the management environment (false: it existed). */
  created_environment: boolean;
  api: string;
  client_id: string;
  client_secret: string;
  scopes: string[];
  token_endpoint: string;
}

/**
 * The first admin credential of a deployment: the management environment, the admin API
 * registered in it (the default API, so its tokens carry `aud` = the admin API), and one
 * confidential client allowed admin:read and admin:write. Refused when the admin API already
 * lets a client in, unless `force` (a second credential, for instance after losing the first).
 */
export async function bootstrapAdmin(services: AdminApiServices, managementEnv: string, options: { force?: boolean } = {}): Promise<BootstrapResult> {
  const exists = (await services.admin.listEnvironments()).some((env) => env.name === managementEnv);
  if (!exists) await services.admin.createEnvironment(managementEnv);
  const api = await adminApi(services, managementEnv);
  if (api.clients.length > 0 && !options.force) {
    throw new AdminError(
      'conflict',
      `an admin client already exists in ${managementEnv} (${api.clients.join(', ')}); use --force to create another, or rotate its secret with \`gatehouse client rotate-secret CLIENT_ID --env ${managementEnv}\``,
    );
  }
  const scopes = [ADMIN_READ, ADMIN_WRITE];
  const client = await services.admin.createClient({ env: managementEnv, name: 'admin (bootstrap)', scopes, grantTypes: ['client_credentials'] });
  await services.apis.allowClients(managementEnv, ADMIN_API_IDENTIFIER, [client.client_id]);
  if (!client.client_secret) throw new Error('a confidential client is created with a secret');
  return {
    environment: managementEnv,
    created_environment: !exists,
    api: ADMIN_API_IDENTIFIER,
    client_id: client.client_id,
    client_secret: client.client_secret,
    scopes,
    token_endpoint: `${client.issuer}/token`,
  };
}

async function adminApi(services: AdminApiServices, env: string): Promise<ApiView> {
  try {
    return await services.apis.show(env, ADMIN_API_IDENTIFIER);
  } catch (error) {
    if (!(error instanceof AdminError && error.kind === 'not_found')) throw error;
  }
  return services.apis.create({
    env,
    identifier: ADMIN_API_IDENTIFIER,
    name: 'Gatehouse admin API',
    scopes: [
      { name: ADMIN_READ, description: 'Read every environment' },
      { name: ADMIN_WRITE, description: 'Change every environment' },
    ],
    tokenFormat: 'jwt',
    isDefault: true,
  });
}
