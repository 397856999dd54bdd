import { isDeepStrictEqual } from 'node:util';
import type { Environment } from '../domain/model.ts';
import type { TransactionStore } from '../domain/storage.ts';
import { AdminError } from './admin-error.ts';

/** How a settings change checks, inside its transaction, that the settings are still what it read. */
export interface SettingsGuard<T, V> {
  /** The settings as the change read them before its transaction. */
  read: T;
  /** Reads them again, in the transaction. */
  reread: (tx: TransactionStore) => Promise<T>;
  /** Their representation, the one an admin's If-Match names. */
  view: (settings: T) => V;
  /** An admin's If-Match: refuses a representation other than the one the admin read. */
  expect: ((current: V) => void) | undefined;
  /** What the settings are, for the conflict's message: "the sign-in policy". */
  what: string;
}

/**
 * Holds the environment for the rest of an admin change's transaction and refuses the change if
 * its settings changed since the change read them: with `expect` (an If-Match) as that check
 * refuses, else as a conflict. Of two writers of the same version, only the first writes; the
 * second never overwrites what it did not see.
 */
export async function holdUnchanged<T, V>(tx: TransactionStore, env: Environment, guard: SettingsGuard<T, V>): Promise<void> {
  await tx.environments.lock(env.id);
  const current = guard.view(await guard.reread(tx));
  // What an admin sees (and an ETag names): a write that changed nothing of it is no conflict.
  if (isDeepStrictEqual(current, guard.view(guard.read))) return;
  guard.expect?.(current);
  throw new AdminError('conflict', `${guard.what} of environment ${env.name} changed while being updated: read it again`);
}
