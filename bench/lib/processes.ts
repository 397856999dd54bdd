import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Whether `taskset` can pin processes to cores here (Linux with util-linux). */
export const canPin = existsSync('/usr/bin/taskset') || existsSync('/bin/taskset');

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
  options: { env?: NodeJS.ProcessEnv; cpu?: string; ready: RegExp; port?: number; timeoutMs?: number },
): Promise<Started> {
  const [cmd, argv] = canPin && options.cpu !== undefined ? ['taskset', ['-c', options.cpu, command, ...args]] : [command, args];
  const child = spawn(cmd, argv as string[], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
      resolve({ child, port, stop: () => stopProcess(child) });
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

/** SIGTERM, then SIGKILL after five seconds; resolves when the process has exited. */
export function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
