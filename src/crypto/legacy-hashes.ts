import crypto from 'node:crypto';
import { bcryptWorker } from './bcrypt-worker.ts';
import { hashSecret } from './secrets.ts';

/**
 * Hashes Gatehouse did not make, kept from an imported provider until their first successful use
 * (then the caller replaces them with its own). Each is self-describing, so a stored string says
 * which verifier it needs: bcrypt (`$2a$`, `$2b$`, `$2y$`) and PBKDF2-SHA256 in ORY's format
 * (`$pbkdf2-sha256$i=<iterations>,l=<length>$<salt>$<hash>`, unpadded standard base64). Gatehouse's
 * own hashes (SHA-256 base64url, `$scrypt$`) are not legacy. argon2id is not supported: no
 * maintained pure-JavaScript verifier runs off the event loop on Node 20, 22 and 24.
 */
export type LegacyHashKind = 'bcrypt' | 'pbkdf2-sha256';

const BCRYPT = /^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/;
const PBKDF2 = /^\$pbkdf2-sha256\$i=([1-9][0-9]{0,7}),l=([1-9][0-9]{0,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** Bounds on a stored PBKDF2 hash, so a hand-edited row cannot make one request run for minutes. */
const PBKDF2_MAX_ITERATIONS = 10_000_000;
const PBKDF2_KEY_RANGE = [16, 128] as const;

/** The legacy kind of a stored hash, or undefined for Gatehouse's own and for anything unrecognised. */
export function legacyHashKind(stored: string): LegacyHashKind | undefined {
  if (BCRYPT.test(stored)) return 'bcrypt';
  if (parsePbkdf2(stored)) return 'pbkdf2-sha256';
  return undefined;
}

/** Whether a stored secret or password hash is one of an imported provider's (it starts with `$` and is not scrypt). */
export const isLegacyHash = (stored: string): boolean => stored.startsWith('$') && !stored.startsWith('$scrypt$');

interface Pbkdf2Hash {
  iterations: number;
  salt: Buffer;
  hash: Buffer;
}

function parsePbkdf2(stored: string): Pbkdf2Hash | undefined {
  const match = stored.length <= 1024 ? PBKDF2.exec(stored) : null;
  if (!match) return undefined;
  const iterations = Number(match[1]);
  const length = Number(match[2]);
  const salt = Buffer.from(match[3] ?? '', 'base64');
  const hash = Buffer.from(match[4] ?? '', 'base64');
  if (iterations > PBKDF2_MAX_ITERATIONS || length < PBKDF2_KEY_RANGE[0] || length > PBKDF2_KEY_RANGE[1]) return undefined;
  if (hash.length !== length || salt.length < 8) return undefined;
  return { iterations, salt, hash };
}

/** Too many legacy verifications are queued for this client or in this process: answer "busy, retry". */
export class LegacyVerificationBusyError extends Error {
  constructor() {
    super('too many legacy credential checks in progress');
    this.name = 'LegacyVerificationBusyError';
  }
}

/**
 * A FIFO limit on slow verifications: at most `limit` run at once, at most `maxWaiting` wait, and
 * at most `maxPerKey` of one key (a client, a username) are running or waiting, so a flood of
 * wrong secrets for one imported client is refused without taking every place in the queue.
 */
export class VerificationQueue {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly perKey = new Map<string, number>();

  constructor(
    private readonly limit = 2,
    private readonly maxWaiting = 32,
    private readonly maxPerKey = 8,
  ) {}

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const held = this.perKey.get(key) ?? 0;
    const immediate = this.active < this.limit;
    if (held >= this.maxPerKey || (!immediate && this.waiting.length >= this.maxWaiting)) throw new LegacyVerificationBusyError();
    this.perKey.set(key, held + 1);
    try {
      if (immediate) this.active++;
      else await new Promise<void>((resolve) => this.waiting.push(resolve));
      return await task();
    } finally {
      const left = (this.perKey.get(key) ?? 1) - 1;
      if (left === 0) this.perKey.delete(key);
      else this.perKey.set(key, left);
      // The slot passes straight to the next waiter, so a newcomer cannot slip in and exceed the limit.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

let sharedQueue: VerificationQueue | undefined;

/** The process's queue for legacy verifications (separate from the password hasher's: a flood here leaves logins alone). */
export function legacyVerificationQueue(): VerificationQueue {
  sharedQueue ??= new VerificationQueue();
  return sharedQueue;
}

function verifyPbkdf2(secret: string, parsed: Pbkdf2Hash): Promise<boolean> {
  // node:crypto's pbkdf2 runs on the libuv threadpool, off the event loop.
  return new Promise((resolve, reject) => {
    crypto.pbkdf2(Buffer.from(secret, 'utf8'), parsed.salt, parsed.iterations, parsed.hash.length, 'sha256', (error, key) =>
      error ? reject(error) : resolve(crypto.timingSafeEqual(key, parsed.hash)),
    );
  });
}

/**
 * Whether `secret` matches a legacy `stored` hash, through `queue` under `key`. False for a
 * malformed or unsupported hash, without work. Rejects with `LegacyVerificationBusyError` when
 * the queue is full: that is no answer, and must not count as a wrong secret.
 */
export async function verifyLegacyHash(secret: string, stored: string, key: string, queue = legacyVerificationQueue()): Promise<boolean> {
  if (typeof secret !== 'string') return false;
  if (BCRYPT.test(stored)) {
    // bcrypt reads at most 72 bytes; bcryptjs compares the result in constant time, on a worker
    // thread (off the event loop). `$2y$` (PHP) is the same algorithm as `$2b$`.
    const normalised = stored.startsWith('$2y$') ? `$2b$${stored.slice(4)}` : stored;
    return queue.run(key, () => bcryptWorker().compare(secret, normalised));
  }
  const pbkdf2 = parsePbkdf2(stored);
  if (pbkdf2) return queue.run(key, () => verifyPbkdf2(secret, pbkdf2));
  return false;
}

/** A secret as an import record carries it, turned into what Gatehouse stores, or the reason it cannot be. */
export type StoredSecret = { hash: string } | { problem: string };

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;
const B64URL_SHA256 = /^[A-Za-z0-9_-]{43}$/;

/**
 * What to store for an imported client secret or token: a plain value is hashed (never stored in
 * clear); a SHA-256 digest becomes Gatehouse's own hash (the same digest in base64url, so it is
 * verified on the fast path at once); bcrypt and PBKDF2 are kept as they are until first use.
 */
export function storedSecretHash(format: string, value: string): StoredSecret {
  switch (format) {
    case 'plain':
      return value.length > 0 ? { hash: hashSecret(value) } : { problem: 'the plain secret is empty' };
    case 'sha256-hex':
      return HEX_SHA256.test(value) ? { hash: Buffer.from(value, 'hex').toString('base64url') } : { problem: 'not a hex SHA-256 digest' };
    case 'sha256-base64url':
      return B64URL_SHA256.test(value) ? { hash: value } : { problem: 'not a base64url SHA-256 digest' };
    case 'bcrypt':
      return BCRYPT.test(value) ? { hash: value } : { problem: 'not a bcrypt hash ($2a$, $2b$ or $2y$)' };
    case 'pbkdf2-sha256':
      return parsePbkdf2(value) ? { hash: value } : { problem: 'not a PBKDF2-SHA256 hash in the $pbkdf2-sha256$i=…,l=…$salt$hash format' };
    default:
      return { problem: `the ${format} format is not supported` };
  }
}
