import type { Logger } from 'pino';
import { StorageUnavailableError, type Store } from '../domain/storage.ts';
import type { Server, ServerConfig } from '../server/server.ts';

/**
 * Runs a start-up step that needs the database, waiting for it when it cannot be reached yet (a
 * node started before its database, or during an outage): retried every second, reported every ten.
 */
export async function whenAvailable<T>(step: () => Promise<T>, logger: Logger, waiting: string): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await step();
      if (attempt > 0) logger.info('the database answers; starting');
      return result;
    } catch (error) {
      if (!(error instanceof StorageUnavailableError)) throw error;
      if (attempt % 10 === 0) logger.warn({ reason: error.reason }, waiting);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** Seconds between the signal and closing the listener: 5 by default, 0 in dev mode unless set. */
export function drainSeconds(config: ServerConfig, dev: boolean): number {
  return config.drainPeriod ?? (dev ? 0 : DEFAULT_DRAIN_SECONDS);
}

const DEFAULT_DRAIN_SECONDS = 5;

/**
 * The shutdown sequence: `/readyz` says 503 at once while every request is still served (with
 * `Connection: close`) for the drain period, so a load balancer can take the node out; then the
 * listener closes, idle connections close, requests in flight complete (within the shutdown
 * timeout), the last quota counts are shared and the database is closed.
 */
export async function shutDown(app: Server, store: Store, config: ServerConfig, dev: boolean, logger: Logger, signal: string): Promise<void> {
  const drain = drainSeconds(config, dev);
  logger.info({ signal, drainSeconds: drain }, 'shutting down: draining');
  app.drain();
  if (drain > 0) await new Promise((resolve) => setTimeout(resolve, drain * 1000));
  await app.stop(config.shutdownTimeout * 1000);
  await store.close();
  logger.info('stopped');
}

export interface SignalHandling {
  /** What the first SIGINT or SIGTERM runs once the server is up; the process then exits 0. */
  onStop(stop: (signal: string) => Promise<void>): void;
}

/**
 * SIGINT and SIGTERM from the first moment. Before the server is up a signal exits 0 at once;
 * after, the first one runs the stop sequence and every later one is ignored: a signal sent to
 * the whole process group (systemd's default, `kill -TERM -PGID`, init wrappers) reaches each
 * worker next to the one the primary passes on, and must not cut the drain short. SIGKILL
 * remains for an operator who cannot wait.
 */
export function handleSignals(): SignalHandling {
  let stop: ((signal: string) => Promise<void>) | undefined;
  let stopping = false;
  const handle = (signal: string) => {
    if (stopping) return;
    stopping = true;
    if (!stop) process.exit(0);
    void stop(signal).finally(() => process.exit(0));
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
  return {
    onStop(next) {
      stop = next;
    },
  };
}
