import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BIN, ROOT, within } from './dev-server.ts';
import { freePort } from './net.ts';

const run = promisify(execFile);

/** `gatehouse serve` in production mode on 127.0.0.1, with its own data directory and settings. */
export interface ProductionServer {
  readonly port: number;
  readonly pid: number;
  readonly baseUrl: string;
  /** Its data directory (the SQLite file is `gatehouse.db` there unless a database URL is set). */
  readonly dataDir: string;
  stderr(): string;
  /** Runs a CLI command with the server's settings (and `input` on stdin) and returns its stdout. */
  cli(args: string[], input?: string): Promise<string>;
  /** Starts serving (in a process group of its own); resolves once every worker listens. */
  start(workers: number): Promise<void>;
  /** Sends `signal` (to the whole process group with `group`) and resolves with the exit of the process. */
  signal(signal: NodeJS.Signals, options?: { group?: boolean }): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kills what is left and removes the data directory. */
  dispose(): Promise<void>;
}

export async function productionServer(settings: Record<string, string> = {}): Promise<ProductionServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-prod-e2e-'));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_HOST: '127.0.0.1',
    GATEHOUSE_PORT: String(port),
    GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${port}`,
    GATEHOUSE_KEY_SECRET: randomBytes(32).toString('hex'),
    GATEHOUSE_LOG_LEVEL: 'warn',
    ...settings,
  };
  let child: ChildProcess | undefined;
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  let stderr = '';
  return {
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    dataDir,
    get pid() {
      return child?.pid ?? 0;
    },
    stderr: () => stderr,
    async cli(args, input) {
      const running = run(process.execPath, [BIN, ...args], { env, cwd: ROOT });
      if (input !== undefined) running.child.stdin?.end(input);
      return (await running).stdout;
    },
    async start(workers) {
      child = spawn(process.execPath, [BIN, 'serve', '--workers', String(workers)], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      const proc = child;
      exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      let stdout = '';
      await within(
        new Promise<void>((resolve, reject) => {
          proc.stdout?.on('data', (chunk: Buffer) => {
            stdout += chunk.toString();
            if (stdout.includes('Gatehouse is listening')) resolve();
          });
          void exited?.then(({ code }) => reject(new Error(`serve exited early with ${code}: ${stderr}`)));
        }),
        20_000,
        () => `the banner (stdout ${JSON.stringify(stdout)}, stderr ${JSON.stringify(stderr)})`,
      );
    },
    async signal(signal, options = {}) {
      assert.ok(child?.pid && exited, 'the server was started');
      process.kill(options.group ? -child.pid : child.pid, signal);
      return within(exited, 60_000, () => `serve exiting on ${signal}`);
    },
    async dispose() {
      if (child?.pid && child.exitCode === null && child.signalCode === null) {
        // The whole group: workers of a primary that died must not be left behind.
        process.kill(-child.pid, 'SIGKILL');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request to 127.0.0.1 (a keep-alive agent may be given); rejects on a network error. */
export function httpRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; agent?: import('node:http').Agent | false } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.setTimeout(15_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A client_credentials token request with HTTP Basic. */
export function tokenRequest(baseUrl: string, env: string, client: { id: string; secret: string }, agent?: import('node:http').Agent) {
  return httpRequest(`${baseUrl}/envs/${env}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
    ...(agent ? { agent } : {}),
  });
}
