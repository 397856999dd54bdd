import type { Config } from '../config/config.ts';
import type { Clock } from '../domain/clock.ts';
import type { Store } from '../domain/storage.ts';
import { signingKeyAt } from '../oauth/signing-keys.ts';
import { GatehouseMetrics } from '../observability/metrics.ts';

/** A node's metrics, or none when no metrics port is configured. */
export function nodeMetrics(config: Config): GatehouseMetrics | undefined {
  return config.metricsPort === undefined ? undefined : new GatehouseMetrics({ maxClients: config.metricsMaxClients });
}

/**
 * Reads when each environment's signing key started signing, for the key-age gauge. Run in the
 * background, not at scrape time: a scrape only subtracts, and never waits for the database.
 */
export async function refreshSigningKeyAges(metrics: GatehouseMetrics, store: Store, clock: Clock): Promise<void> {
  const now = clock.now();
  const activations = new Map<string, number>();
  for (const env of await store.environments.list()) {
    const active = signingKeyAt(await store.signingKeys.listPublished(env.id, now), now);
    if (active) activations.set(env.name, active.activateAt);
  }
  metrics.setSigningKeyActivations(activations);
}
