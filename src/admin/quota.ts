import { AdminError } from './admin-error.ts';

/** Largest quota accepted, in requests per window: far above any real client, far below overflow. */
export const MAX_QUOTA = 100_000_000;

export function validQuota(quota: number | null): number | null {
  if (quota !== null && (!Number.isInteger(quota) || quota < 1 || quota > MAX_QUOTA)) {
    throw new AdminError('invalid_argument', `a quota is a whole number of requests per window, 1..${MAX_QUOTA}`);
  }
  return quota;
}
