import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { systemClock } from '../domain/clock.ts';
import type { Store } from '../domain/storage.ts';
import { type ServerConfig, warmLimits } from '../server/server.ts';
import { isWarmSnapshot, takeWarmSnapshot, type WarmSnapshot } from '../server/warm-start.ts';

const WARM_REQUEST = 'gatehouse.warm.request';
const WARM_ANSWER = 'gatehouse.warm';
/** How often the primary reads its snapshot again. */
const WARM_REFRESH_MS = 5 * 60_000;
/** How long a starting worker waits for the primary's snapshot. */
const WARM_ANSWER_TIMEOUT_MS = 3_000;

/** The primary's snapshot for its workers, read at start and every `WARM_REFRESH_MS` while the database answers. */
export class WarmSnapshots {
  private current: WarmSnapshot | undefined;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly store: Store,
    private readonly config: ServerConfig,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => void this.refresh(), WARM_REFRESH_MS).unref();
  }

  static async start(store: Store, config: ServerConfig, logger: Logger): Promise<WarmSnapshots> {
    const snapshots = new WarmSnapshots(store, config, logger);
    await snapshots.refresh();
    return snapshots;
  }

  /** Answers a worker's request for the snapshot (any other message is not ours). */
  answer(worker: { send(message: unknown): boolean }, message: unknown): void {
    if ((message as { type?: unknown } | null)?.type !== WARM_REQUEST) return;
    worker.send({ type: WARM_ANSWER, snapshot: this.current ?? null });
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async refresh(): Promise<void> {
    try {
      const next = await takeWarmSnapshot(this.store, systemClock, warmLimits(this.config));
      // An unreadable database keeps the last snapshot: it is what an outage needs.
      if (next) this.current = next;
    } catch (error) {
      this.logger.warn({ err: error }, 'the warm-start snapshot could not be read');
    }
  }
}

/** The primary's snapshot, asked for over the cluster's IPC channel; undefined if it has none or does not answer in time. */
export function snapshotFromPrimary(): Promise<WarmSnapshot | undefined> {
  if (!process.send) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const done = (snapshot: WarmSnapshot | undefined) => {
      clearTimeout(timeout);
      process.off('message', onMessage);
      resolve(snapshot);
    };
    const onMessage = (message: unknown) => {
      const answer = message as { type?: unknown; snapshot?: unknown } | null;
      if (answer?.type === WARM_ANSWER) done(isWarmSnapshot(answer.snapshot) ? answer.snapshot : undefined);
    };
    const timeout = setTimeout(() => done(undefined), WARM_ANSWER_TIMEOUT_MS);
    process.on('message', onMessage);
    process.send?.({ type: WARM_REQUEST });
  });
}

/** SIGTERM to every worker; one still running after `limitMs` gets SIGKILL. Resolves when all have exited. */
export async function stopWorkers(limitMs: number): Promise<void> {
  const exits = Object.values(cluster.workers ?? {}).map(
    (worker) =>
      new Promise<void>((resolve) => {
        if (!worker || worker.isDead()) return resolve();
        const kill = setTimeout(() => worker.process.kill('SIGKILL'), limitMs);
        worker.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        worker.process.kill('SIGTERM');
      }),
  );
  await Promise.all(exits);
}
