import type { AdminService } from '../admin/admin-service.ts';
import type { ApiService } from '../admin/apis.ts';
import type { UserService } from '../admin/users.ts';
import { randomToken } from '../crypto/secrets.ts';
import { READ_SCOPE, WRITE_SCOPE } from './deps.ts';

export const CONSOLE_CLIENT_NAME = 'Gatehouse console';

/**
 * Makes sure the management environment has the console's client: confidential, authorization
 * code with PKCE, the admin scopes, `redirectUri` registered. A new client's secret is returned
 * once (store it where every node reads it, like the key secret); an existing one is found by
 * name and redirect URI and returned without a secret, which Gatehouse cannot show again, unless
 * `rotate` is set: then it gets a new secret and the old ones stop at once. That suits a single
 * development node, which knows no secret after a restart; several nodes must share one secret.
 * With `allowOn`, the client is also allowed on that API (the admin API, whose tokens carry its
 * identifier as `aud`), so its tokens are accepted there too.
 */
export async function ensureConsoleClient(
  admin: Pick<AdminService, 'listClients' | 'createClient' | 'rotateClientSecret'>,
  managementEnv: string,
  redirectUri: string,
  options: { rotate?: boolean; allowOn?: { apis: Pick<ApiService, 'show' | 'allowClients'>; identifier: string } } = {},
): Promise<{ clientId: string; clientSecret?: string; created: boolean }> {
  const ensured = await ensureClient(admin, managementEnv, redirectUri, options.rotate ?? false);
  const allowOn = options.allowOn;
  if (allowOn && !(await allowOn.apis.show(managementEnv, allowOn.identifier)).clients.includes(ensured.clientId)) {
    await allowOn.apis.allowClients(managementEnv, allowOn.identifier, [ensured.clientId]);
  }
  return ensured;
}

async function ensureClient(
  admin: Pick<AdminService, 'listClients' | 'createClient' | 'rotateClientSecret'>,
  managementEnv: string,
  redirectUri: string,
  rotate: boolean,
): Promise<{ clientId: string; clientSecret?: string; created: boolean }> {
  const existing = (await admin.listClients(managementEnv)).find(
    (c) => c.name === CONSOLE_CLIENT_NAME && c.redirect_uris.includes(redirectUri) && c.type === 'confidential',
  );
  if (existing && rotate) {
    const rotated = await admin.rotateClientSecret(managementEnv, existing.client_id, 0);
    return { clientId: existing.client_id, clientSecret: rotated.client_secret, created: false };
  }
  if (existing) return { clientId: existing.client_id, created: false };
  const created = await admin.createClient({
    env: managementEnv,
    name: CONSOLE_CLIENT_NAME,
    kind: 'confidential',
    grantTypes: ['authorization_code'],
    scopes: [READ_SCOPE, WRITE_SCOPE],
    redirectUris: [redirectUri],
    tokenFormat: 'jwt',
  });
  return { clientId: created.client_id, ...(created.client_secret ? { clientSecret: created.client_secret } : {}), created: true };
}

export const DEV_OPERATOR = 'admin';

/**
 * For `serve --dev`: when the management environment has no user yet, creates the operator
 * `admin` with a random password, returned once to be printed; undefined when users exist.
 */
export async function ensureDevOperator(
  users: Pick<UserService, 'list' | 'create'>,
  managementEnv: string,
): Promise<{ username: string; password: string } | undefined> {
  if ((await users.list(managementEnv)).length > 0) return undefined;
  const password = randomToken(12);
  await users.create({ env: managementEnv, username: DEV_OPERATOR, password });
  return { username: DEV_OPERATOR, password };
}
