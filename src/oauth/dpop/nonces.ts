import { keyedHasher } from '../../crypto/secrets.ts';
import type { Environment } from '../../domain/model.ts';

/** How long one nonce is current; the one before it is still accepted, so a nonce lives one to two periods. */
const NONCE_PERIOD_MS = 5 * 60 * 1000;

/**
 * RFC 9449 §8 server nonces, without storage: a nonce is a keyed hash of the environment and a
 * time slot, so every node that shares the key secret gives and accepts the same ones, and
 * they rotate by themselves.
 */
export class DpopNonces {
  private readonly mac: (value: string) => string;

  constructor(keySecret: Buffer) {
    this.mac = keyedHasher(keySecret, 'dpop nonces');
  }

  /** The nonce to hand out now (`DPoP-Nonce`, §8.1). */
  current(env: Pick<Environment, 'id'>, now: number): string {
    return this.forSlot(env.id, Math.floor(now / NONCE_PERIOD_MS));
  }

  /** Whether `nonce` is the current nonce or the one just before it. */
  isValid(env: Pick<Environment, 'id'>, nonce: unknown, now: number): boolean {
    if (typeof nonce !== 'string') return false;
    const slot = Math.floor(now / NONCE_PERIOD_MS);
    // Not secret comparisons: a nonce is public once handed out.
    return nonce === this.forSlot(env.id, slot) || nonce === this.forSlot(env.id, slot - 1);
  }

  private forSlot(envId: string, slot: number): string {
    return this.mac(`${envId}.${slot}`);
  }
}
