import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { stopProcess } from './processes.ts';

const run = promisify(execFile);

export const SOAK_ENV = 'SOAK';

/** A failure to prepare or start the server: its message says it all, no stack needed. */
export class SoakSetupError extends Error {}

export interface SoakServerOptions {
  /** The built CLI (dist/gatehouse.js or another esbuild bundle of src/cli/main.ts). */
  bin: string;
  dataDir: string;
  /** Empty for the default SQLite file in `dataDir`. */
  databaseUrl: string;
  workers: number;
  probeModule: string;
  probeFile: string;
  probeIntervalMs: number;
  /** Epoch milliseconds the probes' reporting grid starts from. */
  probeOrigin: number;
}

export interface SoakServer {
  child: ChildProcess;
  port: number;
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  /** Output the server wrote after it was ready (the last few KiB), for a crash report. */
  output(): string;
  stop(): Promise<void>;
}

/** A port nothing listens on right now: the kernel picks it for a throwaway listener. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port was assigned'))));
    });
  });
}

/**
 * Creates the SOAK environment and its client with the CLI (the same code path an operator
 * uses), then starts `serve` with the event-loop probe preloaded. Resolves once it listens.
 */
export async function startSoakServer(options: SoakServerOptions): Promise<SoakServer> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GATEHOUSE_DATA_DIR: options.dataDir,
    GATEHOUSE_DATABASE_URL: options.databaseUrl || join(options.dataDir, 'gatehouse.db'),
    GATEHOUSE_PUBLIC_URL: baseUrl,
    GATEHOUSE_KEY_SECRET: randomBytes(32).toString('hex'),
    GATEHOUSE_LOG_LEVEL: 'warn',
    GATEHOUSE_HOST: '127.0.0.1',
    GATEHOUSE_PORT: String(port),
  };
  const cli = async (...args: string[]) => (await run(process.execPath, [options.bin, ...args], { env })).stdout;
  try {
    await cli('env', 'create', SOAK_ENV);
  } catch (error) {
    // The signing key of an existing SOAK environment is sealed with another run's key secret.
    throw new SoakSetupError(
      `creating environment ${SOAK_ENV} failed (a --database must not hold one already): ${(error as { stderr?: string }).stderr ?? error}`,
    );
  }
  const client = JSON.parse(await cli('client', 'create', '--env', SOAK_ENV, '--name', 'soak', '--scope', 'read', '--json')) as {
    client_id: string;
    client_secret: string;
  };
  const serverEnv = {
    ...env,
    GATEHOUSE_SOAK_PROBE_FILE: options.probeFile,
    GATEHOUSE_SOAK_PROBE_INTERVAL_MS: String(options.probeIntervalMs),
    GATEHOUSE_SOAK_PROBE_ORIGIN: String(options.probeOrigin),
  };
  const args = ['--import', pathToFileURL(options.probeModule).href, options.bin, 'serve', '--workers', String(options.workers)];
  const { child, output } = await spawnUntilReady(args, serverEnv);
  return { child, port, baseUrl, clientId: client.client_id, clientSecret: client.client_secret, output, stop: () => stopProcess(child) };
}

/**
 * Spawns the server in its own process group, so a Ctrl-C in the terminal reaches only the soak
 * script, which stops the load first and then the server (SIGTERM to this one PID).
 */
function spawnUntilReady(args: string[], env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let text = '';
  const keep = (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-8192);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  // Should the soak script itself die, the server must not outlive it.
  const orphanGuard = () => child.kill('SIGTERM');
  process.once('exit', orphanGuard);
  child.once('exit', () => process.off('exit', orphanGuard));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new SoakSetupError(`the server did not become ready within 30 s:\n${text}`));
    }, 30_000);
    const onData = () => {
      if (!/Gatehouse is listening/.test(text)) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onEarlyExit);
      resolve({ child, output: () => text });
    };
    const onEarlyExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new SoakSetupError(`the server exited with ${code} before it was ready:\n${text}`));
    };
    child.stdout?.on('data', onData);
    child.once('exit', onEarlyExit);
  });
}

/** The server's resident memory in MiB: the process plus its cluster workers (Linux /proc). */
export function serverRssMiB(pid: number): number | undefined {
  const pids = [pid, ...childPids(pid)];
  let kib = 0;
  for (const p of pids) {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readProc(`/proc/${p}/status`) ?? '');
    if (match?.[1]) kib += Number(match[1]);
    else if (p === pid) return undefined;
  }
  return kib / 1024;
}

/** Children are listed per thread; node:cluster forks from the main thread, but any may. */
function childPids(pid: number): number[] {
  const tasks = `/proc/${pid}/task`;
  let tids: string[];
  try {
    tids = readdirSync(tasks);
  } catch {
    return [];
  }
  const listed = tids.flatMap((tid) => (readProc(`${tasks}/${tid}/children`) ?? '').split(/\s+/));
  return listed.filter(Boolean).map(Number);
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // The process (a worker being replaced, say) may be gone between listing and reading.
    return undefined;
  }
}
