import type { VerificationQueue } from '../../src/crypto/legacy-hashes.ts';

/** Records the key of every verification that enters `queue` (admitted or refused). */
export function recordKeys(queue: VerificationQueue): { keys: string[]; restore(): void } {
  const keys: string[] = [];
  const original = queue.run.bind(queue);
  queue.run = <T>(key: string, task: () => Promise<T>): Promise<T> => {
    keys.push(key);
    return original(key, task);
  };
  return {
    keys,
    restore: () => {
      queue.run = original;
    },
  };
}
