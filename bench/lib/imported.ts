import bcrypt from 'bcryptjs';
import { systemClock } from '../../src/domain/clock.ts';
import { runImport } from '../../src/import/engine.ts';
import type { ImportRecord } from '../../src/import/records.ts';
import { openStore } from '../../src/store/open.ts';

export const IMPORTED_SECRET = 'imported-doorkeeper-secret-0123456789';

/**
 * Imports `count` confidential clients whose secret is kept as a bcrypt hash (cost 10, as a
 * Doorkeeper application with `hash_secrets using: BCrypt` stores it), the way `gatehouse import`
 * does. They share one hash so that setting up takes one bcrypt computation, not `count`; each
 * still has its own row, re-hashed on its own first use. Returns their ids.
 */
export async function importBcryptClients(databaseUrl: string, envName: string, count: number): Promise<string[]> {
  const hash = bcrypt.hashSync(IMPORTED_SECRET, 10);
  const ids = Array.from({ length: count }, (_, i) => `imported-bcrypt-${i}`);
  async function* records(): AsyncGenerator<ImportRecord> {
    for (const id of ids) {
      yield {
        kind: 'client',
        client_id: id,
        name: id,
        confidential: true,
        secret: { format: 'bcrypt', value: hash },
        redirect_uris: [],
        scopes: ['read', 'write'],
        grant_types: ['client_credentials'],
      };
    }
  }
  const store = openStore(databaseUrl);
  try {
    const env = await store.environments.findByName(envName);
    if (!env) throw new Error(`environment ${envName} does not exist`);
    const lifetimes = { refreshTokenIdleTtl: 86_400, refreshTokenAbsoluteTtl: 86_400 };
    const report = await runImport(records(), { env, store, clock: systemClock, lifetimes, sourceId: 'bench' });
    if (report.counts.client.imported !== count) throw new Error(`imported ${report.counts.client.imported} of ${count} bench clients`);
  } finally {
    await store.close();
  }
  return ids;
}
