import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Whether `taskset` can pin processes to cores here (Linux with util-linux). */
export const canPin = existsSync('/usr/bin/taskset') || existsSync('/bin/taskset');

/** The core a measured server is pinned to, and the core of the load generator (this process). */
export const SERVER_CPU = '1';
export const LOAD_CPU = '0';

/** Pins this process (the load generator) to LOAD_CPU, when taskset exists. */
export function pinLoadGenerator(): void {
  if (canPin) execFileSync('taskset', ['-pc', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
}

export interface Started {
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts a server process, pinned to `cpu` when taskset exists, and resolves once it printed a
 * line matching `ready` (whose first capture group, if any, is the port).
 */
export function startServer(
  command: string,
  args: string[],
  options: {
    env?: NodeJS.ProcessEnv;
    cpu?: string;
    ready: RegExp;
    port?: number;
    timeoutMs?: number;
    /** Working directory (default: this process's), such as another git worktree. */
    cwd?: string;
    /** How long stop() waits after SIGTERM before SIGKILL (default 5 s). */
    stopGraceMs?: number;
  },
): Promise<Started> {
  const [cmd, argv] = canPin && options.cpu !== undefined ? ['taskset', ['-c', options.cpu, command, ...args]] : [command, args];
  const child = spawn(cmd, argv as string[], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not become ready within ${options.timeoutMs ?? 30_000} ms:\n${output}`));
    }, options.timeoutMs ?? 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = options.ready.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stdout?.resume();
      child.stderr?.resume();
      const port = match[1] ? Number(match[1]) : (options.port ?? 0);
      resolve({ child, port, stop: () => stopProcess(child, options.stopGraceMs) });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code} before it was ready:\n${output}`));
    });
  });
}

/**
 * SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. A process killed
 * by SIGKILL writes no `--cpu-prof` profile: V8 writes it only on a normal exit.
 */
export function stopProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
