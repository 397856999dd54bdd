import { createHmac, timingSafeEqual } from 'node:crypto';
import type { DpopNonceProvider } from './dpop.ts';

/** Settings of `createDpopNonces`. */
export interface DpopNonceOptions {
  /** At least 32 bytes, the same on every node of the API, so each accepts the nonces of the others. */
  secret: string | Uint8Array;
  /** How long one nonce is handed out, in milliseconds; the previous one is still accepted for as long. Default 300,000. */
  rotateMs?: number;
  /** The current time in epoch milliseconds. Default: `Date.now`. */
  now?: () => number;
}

/** The nonces of `createDpopNonces`: computed without I/O. */
export interface HmacDpopNonces extends DpopNonceProvider {
  current(): string;
  accepts(nonce: string): boolean;
}

/**
 * RFC 9449 §9: stateless resource-server nonces. A nonce names its time window and carries an
 * HMAC of it, so any node sharing the secret checks it without storage; the current window's and
 * the previous one's are accepted, so a nonce lives between one and two `rotateMs`.
 */
export function createDpopNonces(options: DpopNonceOptions): HmacDpopNonces {
  const secret = typeof options.secret === 'string' ? Buffer.from(options.secret, 'utf8') : Buffer.from(options.secret);
  if (secret.length < 32) throw new TypeError('createDpopNonces: secret must be at least 32 bytes');
  const rotateMs = options.rotateMs ?? 300_000;
  if (!Number.isInteger(rotateMs) || rotateMs < 1000) throw new TypeError('createDpopNonces: rotateMs must be an integer ≥ 1000');
  const now = options.now ?? Date.now;
  const mac = (window: number) => createHmac('sha256', secret).update(`dpop-nonce:${window}`).digest('base64url');
  const nonceOf = (window: number) => `${window.toString(36)}.${mac(window)}`;
  return Object.freeze({
    current: () => nonceOf(Math.floor(now() / rotateMs)),
    accepts(nonce: string) {
      const window = Math.floor(now() / rotateMs);
      const [encoded = '', tag = ''] = nonce.split('.');
      const named = Number.parseInt(encoded, 36);
      if (!/^[0-9a-z]{1,12}$/.test(encoded) || (named !== window && named !== window - 1)) return false;
      const expected = Buffer.from(mac(named));
      const given = Buffer.from(tag);
      return expected.length === given.length && timingSafeEqual(expected, given);
    },
  });
}
