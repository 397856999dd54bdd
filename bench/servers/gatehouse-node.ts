import { loadConfig } from '../../src/config/config.ts';
import { EventBus, type EventListener } from '../../src/domain/events.ts';
import { createLogger } from '../../src/server/logger.ts';
import { createServer, type ServerConfig } from '../../src/server/server.ts';
import { openStore } from '../../src/store/open.ts';

/**
 * One Gatehouse node like `gatehouse serve --workers 1`, from the same settings, for the
 * observation comparison. With `--no-listeners` its event bus keeps no listener, so neither
 * metrics (give it no metrics port either), nor the audit log, nor the usage recorder hear the
 * token endpoint. What `serve` runs always has them; this exists only to measure what they cost.
 */
class UnheardEventBus extends EventBus {
  override listen(_listener: EventListener): () => void {
    return () => {};
  }
}

const config = loadConfig() as ServerConfig;
const store = openStore(config.databaseUrl, { timeoutMs: config.databaseTimeout * 1000 });
await store.migrate();
const unheard = process.argv.includes('--no-listeners');
const app = await createServer(config, { store, logger: createLogger(config.logLevel), ...(unheard ? { events: new UnheardEventBus() } : {}) });
const address = await app.start();
process.stdout.write(`Gatehouse is listening on ${address}${unheard ? ' (no event listeners)' : ''}\n`);
const stop = () => {
  void app
    .stop(1000)
    .then(() => store.close())
    .finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
