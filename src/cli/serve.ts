import { AdminService } from '../admin/admin-service.ts';
import { systemClock } from '../clock.ts';
import { type Config, loadConfig, requireProductionSettings } from '../config/config.ts';
import { createApp, type ServerConfig } from '../http/app.ts';
import { createLogger } from '../http/logger.ts';
import { issuerUrls } from '../oauth/issuer.ts';
import { openStore } from '../store/open.ts';
import { devPublicUrl, ensureDevKeySecret } from './context.ts';

export const DEV_ENVIRONMENT = 'DEVELOPMENT';

/** Resolves the server configuration: production mode demands the settings dev mode fills in. */
export function serverConfig(loaded: Config, dev: boolean): ServerConfig {
  if (!dev) {
    requireProductionSettings(loaded);
    return loaded;
  }
  return Object.freeze({ ...loaded, publicUrl: loaded.publicUrl ?? devPublicUrl(loaded), keySecret: loaded.keySecret ?? ensureDevKeySecret(loaded) });
}

/** `gatehouse serve [--dev]`: migrate, (dev) bootstrap demo data, listen, stop cleanly on a signal. */
export async function serve(options: { dev: boolean }, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const config = serverConfig(loadConfig(), options.dev);
  const logger = createLogger(config.logLevel);
  const store = openStore(config.databaseUrl);
  await store.migrate();

  let demo: { clientId: string; secret: string } | undefined;
  if (options.dev && (await store.environments.list()).length === 0) {
    const admin = new AdminService(config, config.keySecret, store, undefined, systemClock);
    await admin.createEnvironment(DEV_ENVIRONMENT);
    const client = await admin.createClient({ env: DEV_ENVIRONMENT, name: 'Demo client', scopes: ['read', 'write'] });
    demo = { clientId: client.client_id, secret: client.client_secret ?? '' };
  }

  const app = await createApp(config, { store, logger });
  const address = await app.start();
  const environments = await store.environments.list();
  const lines = [`Gatehouse is listening on ${address} (${options.dev ? 'development' : 'production'} mode)`];
  for (const env of environments) {
    const urls = issuerUrls(config.publicUrl, env);
    lines.push(`  ${env.name}: issuer ${urls.issuer}`, `    metadata ${urls.metadata}`, `    JWKS     ${urls.jwks}`);
  }
  if (demo) {
    const token = issuerUrls(config.publicUrl, { name: DEV_ENVIRONMENT }).token;
    lines.push(
      '',
      'Created environment DEVELOPMENT and a demo client. Its secret is shown only now; get a token with:',
      `  curl -s -u '${demo.clientId}:${demo.secret}' -d grant_type=client_credentials ${token}`,
    );
  } else if (options.dev) {
    lines.push('', 'A new secret for a client: ./bin/gatehouse client rotate-secret CLIENT_ID --env DEVELOPMENT');
  }
  out.write(`${lines.join('\n')}\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await app.stop();
    await store.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
