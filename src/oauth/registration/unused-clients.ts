import { type AuditLog, SYSTEM_ACTOR } from '../../domain/audit.ts';
import type { Clock } from '../../domain/clock.ts';
import type { Store } from '../../domain/storage.ts';

const DAY_MS = 86_400_000;

/**
 * Deletes the dynamically registered clients nobody used for their environment's
 * `unusedClientDays` (never used: counted from registration). Last use comes from the usage
 * records every node flushes; a client deleted here is recorded as `client.registration_deleted`
 * by Gatehouse itself, with the reason. Runs with the sweeper; returns how many were deleted.
 */
export async function deleteUnusedRegisteredClients(
  store: Pick<Store, 'registrations' | 'environments' | 'clients' | 'usage' | 'transaction'>,
  clock: Clock,
  audit: AuditLog,
  invalidate: (envId: string, clientId: string) => void = () => {},
): Promise<number> {
  const now = clock.now();
  const policies = (await store.registrations.listPolicies()).filter((p) => p.unusedClientDays !== null);
  if (policies.length === 0) return 0;
  const environments = new Map((await store.environments.list()).map((env) => [env.id, env]));
  let deleted = 0;
  for (const policy of policies) {
    const env = environments.get(policy.envId);
    if (!env) continue;
    const cutoff = now - (policy.unusedClientDays ?? 0) * DAY_MS;
    const dynamic = (await store.clients.list(env.id)).filter((c) => c.registration === 'dynamic' && c.createdAt < cutoff);
    if (dynamic.length === 0) continue;
    const lastUsed = await store.usage.lastUsed(
      'client',
      env.id,
      undefined,
      dynamic.map((c) => c.clientId),
    );
    for (const client of dynamic) {
      if ((lastUsed.get(client.clientId) ?? client.createdAt) >= cutoff) continue;
      const gone = await store.transaction(async (tx) => {
        if (!(await tx.clients.delete(env.id, client.clientId, now))) return false;
        await audit.record(
          {
            type: 'client.registration_deleted',
            environment: { id: env.id, name: env.name },
            actor: SYSTEM_ACTOR,
            subject: { kind: 'client', id: client.clientId },
            details: { registration: 'dynamic', reason: 'unused', unused_days: policy.unusedClientDays },
          },
          tx.audit,
        );
        return true;
      });
      if (gone) {
        invalidate(env.id, client.clientId);
        deleted += 1;
      }
    }
  }
  return deleted;
}
