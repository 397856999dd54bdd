import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './net.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'bin', 'gatehouse');
const STARTUP_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

/** Settles like `promise`, or rejects after `ms` (the message is built then); the timer never keeps the process alive. */
export function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what()} did not happen within ${ms} ms`)), ms).unref());
  return Promise.race([promise, timeout]);
}

/** A `gatehouse serve --dev` child process on 127.0.0.1 with its own data directory. */
export interface DevServer {
  readonly port: number;
  readonly dataDir: string;
  /** The environment it runs with; CLI commands given it act on the same data directory. */
  readonly env: NodeJS.ProcessEnv;
  /** What it printed on stdout so far. */
  stdout(): string;
  /** Waits until stdout matches `pattern` (the banner, the demo client's curl line). */
  waitFor(pattern: RegExp, what: string): Promise<RegExpExecArray>;
  /** SIGTERM; asserts a clean exit 0; removes the data directory. */
  stop(): Promise<void>;
}

/** Starts the built CLI (`dist/`) as `serve --dev` on a free port; `extraEnv` adds settings. */
export async function startDevServer(extraEnv: Record<string, string> = {}): Promise<DevServer> {
  assert.ok(existsSync(join(ROOT, 'dist', 'gatehouse.js')), 'dist/gatehouse.js is missing: run `npm run build` first');
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-dev-e2e-'));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_HOST: '127.0.0.1',
    GATEHOUSE_PORT: String(port),
    GATEHOUSE_LOG_LEVEL: 'warn',
    // Dev mode's admin listener has a fixed default port; servers of parallel tests need their own.
    GATEHOUSE_ADMIN_PORT: String(await freePort()),
    ...extraEnv,
  };
  const child: ChildProcess = spawn(process.execPath, [BIN, 'serve', '--dev'], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return {
    port,
    dataDir,
    env,
    stdout: () => stdout,
    waitFor(pattern, what) {
      return within(
        new Promise<RegExpExecArray>((resolve, reject) => {
          const check = () => {
            const found = pattern.exec(stdout);
            if (found) resolve(found);
          };
          check();
          child.stdout?.on('data', check);
          void exited.then(({ code }) => reject(new Error(`serve --dev exited early with ${code}; stdout: ${stdout} stderr: ${stderr}`)));
        }),
        STARTUP_TIMEOUT_MS,
        () => `${what} on stdout (stdout so far: ${JSON.stringify(stdout)}; stderr: ${JSON.stringify(stderr)})`,
      );
    },
    async stop() {
      try {
        if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
          process.kill(child.pid, 'SIGTERM');
          const { code, signal } = await within(exited, STOP_TIMEOUT_MS, () => 'serve stopping on SIGTERM').catch((error: Error) => {
            if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
            throw error;
          });
          assert.equal(signal, null, `serve was killed by ${signal}; stderr: ${stderr}`);
          assert.equal(code, 0, `serve should exit 0 on SIGTERM; stderr: ${stderr}`);
        }
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}
