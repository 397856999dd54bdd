import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// The worker's whole program: bcryptjs's synchronous compare (constant-time) on each message.
// Inline, so the bundled CLI needs no separate worker file; bcryptjs is resolved by the caller.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const bcrypt = require(workerData.bcryptjs);
parentPort.on('message', ({ id, secret, hash }) => {
  try {
    parentPort.postMessage({ id, ok: bcrypt.compareSync(secret, hash) });
  } catch (error) {
    parentPort.postMessage({ id, error: String(error && error.message) });
  }
});
`;

interface Pending {
  resolve(ok: boolean): void;
  reject(error: Error): void;
}

/**
 * bcrypt comparisons on one worker thread, one at a time. bcryptjs is pure JavaScript: on the
 * event loop it would hold it for up to 100 ms per slice, and every request of the node would
 * wait. Here a flood of bcrypt checks takes at most one core and the event loop stays free. The
 * thread starts on first use and keeps the process alive only while a comparison is pending.
 */
export class BcryptWorker {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  compare(secret: string, hash: string): Promise<boolean> {
    const worker = this.start();
    const id = this.nextId++;
    if (this.pending.size === 0) worker.ref();
    return new Promise<boolean>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, secret, hash });
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const bcryptjs = createRequire(import.meta.url).resolve('bcryptjs');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcryptjs } });
    worker.unref();
    worker.on('message', (message: { id: number; ok?: boolean; error?: string }) => this.settle(message));
    worker.on('error', (error) => this.fail(worker, error));
    worker.on('exit', (code) => this.fail(worker, new Error(`the bcrypt worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private settle({ id, ok, error }: { id: number; ok?: boolean; error?: string }): void {
    const task = this.pending.get(id);
    if (!task) return;
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker?.unref();
    if (error !== undefined) task.reject(new Error(`bcrypt comparison failed: ${error}`));
    else task.resolve(ok === true);
  }

  /** A dead worker fails what it was given; the next comparison starts a new one. */
  private fail(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    for (const task of this.pending.values()) task.reject(error);
    this.pending.clear();
  }
}

let shared: BcryptWorker | undefined;

/** The process's bcrypt worker. */
export function bcryptWorker(): BcryptWorker {
  shared ??= new BcryptWorker();
  return shared;
}
