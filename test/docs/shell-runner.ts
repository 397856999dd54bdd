import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FencedBlock } from './markdown.ts';
import { repoRoot } from './markdown.ts';

/**
 * A line of a shell block that starts a server, which a reader leaves running in a terminal of
 * its own: `npm start`, `./bin/gatehouse serve …`, optionally after `NAME=value` settings.
 */
const SERVER_START = /^((?:[A-Z_][A-Z0-9_]*=\S+\s+)*)(npm start|\.\/bin\/gatehouse serve\b[^#]*?)\s*(#.*)?$/;

export function startsServer(line: string): boolean {
  return SERVER_START.test(line.trim()) || startsInBackground(line);
}

/** The outcome of one file's blocks: the exit code, the output, and the line of the block that ran last. */
export interface ShellRun {
  readonly code: number | null;
  readonly output: string;
  readonly serverLog: string;
  readonly lastBlockLine: number;
  readonly millis: number;
  readonly timedOut: boolean;
}

/** Ports handed out in this process, never handed out twice (concurrent files must not share one). */
const handedOut = new Set<number>();

/** `count` distinct free ports: all are held open together before any is released. */
async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  const ports: number[] = [];
  while (ports.length < count) {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    servers.push(server);
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    if (port !== 0 && !handedOut.has(port)) {
      handedOut.add(port);
      ports.push(port);
    }
  }
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** The helpers the script begins with: waiting for a started server to be ready, in bounded time. */
const PRELUDE = `set -euo pipefail
gh_block=0
trap 'echo "$gh_block" > "$GH_WORK/last-block"' EXIT
gh_wait_ready() {
  local pid=$1
  # bash's own /dev/tcp probes the port without starting a process; then /readyz must say 200
  for _ in $(seq 1 600); do
    if (: < "/dev/tcp/127.0.0.1/$GATEHOUSE_PORT") 2>/dev/null && curl -sf -o /dev/null "$GATEHOUSE_PUBLIC_URL/readyz"; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then echo "the server exited before it was ready" >&2; return 1; fi
    sleep 0.1
  done
  echo "the server was not ready within 60 s" >&2
  return 1
}
`;

/** A server start the block itself puts in the background (`… &`) and waits for: left as written. */
function startsInBackground(line: string): boolean {
  return /&\s*(#.*)?$/.test(line.trim()) && /(^|\s)(npm start|\.\/bin\/gatehouse serve\b)/.test(line);
}

function serverLine(line: string): string {
  if (startsInBackground(line)) return line;
  const match = SERVER_START.exec(line.trim());
  if (!match) return line;
  const command = `${match[1] ?? ''}${match[2] ?? ''}`.trim();
  return `${command} >>"$GH_WORK/server.log" 2>&1 &\ngh_wait_ready $!`;
}

/** One bash script of a file's blocks, in order, sharing one shell; server starts run in the background. */
export function scriptOf(blocks: readonly FencedBlock[], startServer: boolean): string {
  const parts = [PRELUDE];
  if (startServer) parts.push(serverLine('./bin/gatehouse serve --dev'));
  for (const block of blocks) {
    parts.push(`gh_block=${block.line}`);
    parts.push(block.body.split('\n').map(serverLine).join('\n'));
  }
  return `${parts.join('\n')}\n`;
}

/**
 * Runs a file's shell blocks with bash in the repository root, as a reader would after
 * `npm start`: a fresh data folder, free ports given through the settings the docs name
 * (GATEHOUSE_PORT, GATEHOUSE_ADMIN_PORT, GATEHOUSE_METRICS_PORT, GATEHOUSE_PUBLIC_URL), and a
 * server of its own unless a block starts one. Everything it started is stopped at the end.
 */
export async function runShellBlocks(blocks: readonly FencedBlock[], options: { timeoutMs: number; server?: boolean }): Promise<ShellRun> {
  const work = mkdtempSync(join(tmpdir(), 'gatehouse-docs-'));
  const [port, adminPort, metricsPort] = await freePorts(3);
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('GATEHOUSE_') && !name.startsWith('npm_')) env[name] = value;
  Object.assign(env, {
    GH_WORK: work,
    TMPDIR: work,
    GATEHOUSE_DATA_DIR: join(work, 'data'),
    GATEHOUSE_PORT: String(port),
    GATEHOUSE_ADMIN_PORT: String(adminPort),
    GATEHOUSE_METRICS_PORT: String(metricsPort),
    GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${port}`,
  });
  const startServer = (options.server ?? true) && !blocks.some((block) => block.body.split('\n').some(startsServer));
  const script = join(work, 'blocks.sh');
  writeFileSync(script, scriptOf(blocks, startServer));
  const started = Date.now();
  const child = spawn('bash', [script], { cwd: repoRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stopGroup(child.pid);
  }, options.timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('close', (exit) => resolve(exit)));
  clearTimeout(timer);
  stopGroup(child.pid);
  const read = (name: string): string => {
    try {
      return readFileSync(join(work, name), 'utf8');
    } catch {
      return '';
    }
  };
  const run = { code, output, serverLog: read('server.log'), lastBlockLine: Number(read('last-block').trim() || 0), millis: Date.now() - started, timedOut };
  rmSync(work, { recursive: true, force: true });
  return run;
}

/** Stops the script and every process it started (its process group), by the group's id. */
function stopGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group has already ended
  }
}
