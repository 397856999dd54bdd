import { loadConfig } from '../config/config.ts';
import type { AdminContext } from './admin-context.ts';
import { AdminApiClient, adminApiBase, remoteCredentials, remoteServices } from './remote-admin.ts';

/** The admin API of `--server URL`, with the credentials from the environment. */
export function remoteAdminApi(server: string, env: NodeJS.ProcessEnv = process.env): AdminApiClient {
  const loaded = loadConfig(env);
  return new AdminApiClient(adminApiBase(server), remoteCredentials(env, { publicUrl: loaded.publicUrl, adminEnvironment: loaded.adminEnvironment }));
}

/** The context of a command run with `--server`: the admin API client, with the credentials from the environment. */
export function openRemoteContext(server: string, env: NodeJS.ProcessEnv = process.env): AdminContext {
  const loaded = loadConfig(env);
  const config = Object.freeze({ ...loaded, publicUrl: loaded.publicUrl ?? server });
  const credentials = remoteCredentials(env, { publicUrl: loaded.publicUrl, adminEnvironment: loaded.adminEnvironment });
  return { config, ...remoteServices(server, credentials), close: async () => {} };
}
