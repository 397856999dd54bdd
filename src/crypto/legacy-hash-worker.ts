import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// The worker's whole program: bcryptjs's synchronous compare (constant-time), or argon2id with
// hash-wasm compared with timingSafeEqual, one message at a time. Inline, so the bundled CLI
// needs no separate worker file; both packages are resolved by the caller.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { timingSafeEqual } = require('node:crypto');
const bcrypt = require(workerData.bcryptjs);
const { argon2id } = require(workerData.hashWasm);
async function check(task) {
  if (task.kind === 'bcrypt') return bcrypt.compareSync(task.secret, task.hash);
  const { salt, expected, memorySize, iterations, parallelism } = task;
  const key = await argon2id({ password: task.secret, salt, memorySize, iterations, parallelism, hashLength: expected.length, outputType: 'binary' });
  return timingSafeEqual(Buffer.from(key), Buffer.from(expected));
}
parentPort.on('message', (task) => {
  check(task).then(
    (ok) => parentPort.postMessage({ id: task.id, ok }),
    (error) => parentPort.postMessage({ id: task.id, error: String(error && error.message) }),
  );
});
`;

/** An argon2id check: the stored parameters, salt and key, decoded and bounded by the caller. */
export interface Argon2idTask {
  salt: Uint8Array;
  expected: Uint8Array;
  /** KiB. */
  memorySize: number;
  iterations: number;
  parallelism: number;
}

type Task = { kind: 'bcrypt'; hash: string } | ({ kind: 'argon2id' } & Argon2idTask);

interface Pending {
  resolve(ok: boolean): void;
  reject(error: Error): void;
}

/**
 * bcrypt and argon2id checks on one worker thread, one at a time. Both are pure JavaScript or
 * WebAssembly: on the event loop bcryptjs would hold it for up to 100 ms per slice and argon2id
 * for a whole hash, and every request of the node would wait. Here a flood of such checks takes
 * at most one core and the event loop stays free. The thread starts on first use and keeps the
 * process alive only while a check is pending.
 */
export class LegacyHashWorker {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  /** Whether `secret` matches a bcrypt hash. */
  bcrypt(secret: string, hash: string): Promise<boolean> {
    return this.check(secret, { kind: 'bcrypt', hash });
  }

  /** Whether `secret` derives the expected argon2id key. */
  argon2id(secret: string, task: Argon2idTask): Promise<boolean> {
    return this.check(secret, { kind: 'argon2id', ...task });
  }

  private check(secret: string, task: Task): Promise<boolean> {
    const worker = this.start();
    const id = this.nextId++;
    if (this.pending.size === 0) worker.ref();
    return new Promise<boolean>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, secret, ...task });
    });
  }

  /** Stops the thread; checks still pending fail. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.fail(worker, new Error('the legacy hash worker exited: closed'));
    await worker.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const require = createRequire(import.meta.url);
    const workerData = { bcryptjs: require.resolve('bcryptjs'), hashWasm: require.resolve('hash-wasm') };
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData });
    worker.unref();
    worker.on('message', (message: { id: number; ok?: boolean; error?: string }) => this.settle(message));
    worker.on('error', (error) => this.fail(worker, error));
    worker.on('exit', (code) => this.fail(worker, new Error(`the legacy hash worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private settle({ id, ok, error }: { id: number; ok?: boolean; error?: string }): void {
    const task = this.pending.get(id);
    if (!task) return;
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker?.unref();
    if (error !== undefined) task.reject(new Error(`legacy hash check failed: ${error}`));
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

let shared: LegacyHashWorker | undefined;

/** The process's legacy hash worker. */
export function legacyHashWorker(): LegacyHashWorker {
  shared ??= new LegacyHashWorker();
  return shared;
}
