/**
 * How a command reaches its data. The services are loaded when a command runs, not when the CLI
 * starts: a local command loads the store and the application services, a `--server` command only
 * the admin API client, and `--help` neither.
 */
import type { AdminContext, LocalAdminContext } from './admin-context.ts';

export type { AdminContext, LocalAdminContext } from './admin-context.ts';

/** `--server URL` of the command being run, set by the CLI before each action; undefined: work locally. */
let remoteServer: string | undefined;

export function useServer(url: string | undefined): void {
  remoteServer = url;
}

/** The `--server URL` of the command being run, if any. */
export const currentServer = (): string | undefined => remoteServer;

/** The services on this machine: configuration, the migrated store and the application services. */
export async function openLocalContext(): Promise<LocalAdminContext> {
  const { openAdminContext } = await import('./local-context.ts');
  return openAdminContext();
}

async function openContext(): Promise<AdminContext> {
  if (remoteServer === undefined) return openLocalContext();
  const { openRemoteContext } = await import('./remote-context.ts');
  return openRemoteContext(remoteServer);
}

/** Wraps a data command: locally, or against `--server`; opens the context, runs, and always closes it. */
export function withAdmin<A extends unknown[]>(fn: (ctx: AdminContext, ...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const ctx = await openContext();
    try {
      await fn(ctx, ...args);
    } finally {
      await ctx.close();
    }
  };
}

/** Wraps a command that works on this machine only (the CLI refuses `--server` for it before it runs). */
export function withLocalAdmin<A extends unknown[]>(fn: (ctx: LocalAdminContext, ...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const ctx = await openLocalContext();
    try {
      await fn(ctx, ...args);
    } finally {
      await ctx.close();
    }
  };
}
