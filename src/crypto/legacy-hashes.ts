import crypto from 'node:crypto';
import { type Argon2idTask, legacyHashWorker } from './legacy-hash-worker.ts';
import { hashSecret } from './secrets.ts';

/**
 * Hashes Gatehouse did not make, kept from an imported provider until their first successful use
 * (then the caller replaces them with its own). Each is self-describing, so a stored string says
 * which verifier it needs: bcrypt (`$2a$`, `$2b$`, `$2y$`), PBKDF2-SHA256 in ORY's format
 * (`$pbkdf2-sha256$i=<iterations>,l=<length>$<salt>$<hash>`, unpadded standard base64) and argon2id
 * in PHC format (`$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`, computed with hash-wasm on the worker
 * thread). Gatehouse's own hashes (SHA-256 base64url, `$scrypt$`) are not legacy.
 */
export type LegacyHashKind = 'bcrypt' | 'pbkdf2-sha256' | 'argon2id';

const BCRYPT = /^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/;
const PBKDF2 = /^\$pbkdf2-sha256\$i=([1-9][0-9]{0,7}),l=([1-9][0-9]{0,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** Bounds on a stored PBKDF2 hash, so a hand-edited row cannot make one request run for minutes. */
const PBKDF2_MAX_ITERATIONS = 10_000_000;
const PBKDF2_KEY_RANGE = [16, 128] as const;

const ARGON2ID = /^\$argon2id\$v=19\$m=([1-9][0-9]{0,6}),t=([1-9][0-9]?),p=([1-9][0-9]?)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
/** Bounds on a stored argon2id hash: at most 256 MiB and 10 passes, so one check cannot take the node down. */
const ARGON2_MAX_MEMORY_KIB = 262_144;
const ARGON2_MAX_ITERATIONS = 10;
const ARGON2_MAX_PARALLELISM = 16;

/** The legacy kind of a stored hash, or undefined for Gatehouse's own and for anything unrecognised. */
export function legacyHashKind(stored: string): LegacyHashKind | undefined {
  if (BCRYPT.test(stored)) return 'bcrypt';
  if (parsePbkdf2(stored)) return 'pbkdf2-sha256';
  if (parseArgon2id(stored)) return 'argon2id';
  return undefined;
}

function parseArgon2id(stored: string): Argon2idTask | undefined {
  const match = stored.length <= 1024 ? ARGON2ID.exec(stored) : null;
  if (!match) return undefined;
  const [memorySize, iterations, parallelism] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const salt = Buffer.from(match[4] ?? '', 'base64');
  const expected = Buffer.from(match[5] ?? '', 'base64');
  if (memorySize > ARGON2_MAX_MEMORY_KIB || memorySize < 8 * parallelism || iterations > ARGON2_MAX_ITERATIONS || parallelism > ARGON2_MAX_PARALLELISM)
    return undefined;
  if (salt.length < 8 || expected.length < 16 || expected.length > 64) return undefined;
  return { salt, expected, memorySize, iterations, parallelism };
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

/** How a verification holds its place in the queue: at least `minMs`, and what its own work took. */
export interface VerificationTiming {
  /** The place is kept (the answer withheld) until this many milliseconds of work have passed. */
  minMs?: number | undefined;
  /** Told how long the hash itself took, queue wait excluded. */
  onWork?: ((ms: number) => void) | undefined;
}

/**
 * Whether `secret` matches a legacy `stored` hash, through `queue` under `key`. False for a
 * malformed or unsupported hash, without work. Rejects with `LegacyVerificationBusyError` when
 * the queue is full: that is no answer, and must not count as a wrong secret.
 */
export async function verifyLegacyHash(
  secret: string,
  stored: string,
  key: string,
  queue = legacyVerificationQueue(),
  timing: VerificationTiming = {},
): Promise<boolean> {
  if (typeof secret !== 'string') return false;
  const check = legacyCheck(secret, stored);
  if (!check) return false;
  return queue.run(key, async () => {
    const started = performance.now();
    const valid = await check();
    const took = performance.now() - started;
    timing.onWork?.(took);
    const hold = (timing.minMs ?? 0) - took;
    if (hold > 0) await new Promise((resolve) => setTimeout(resolve, hold));
    return valid;
  });
}

/** The computation that checks `secret` against a legacy hash, or undefined for anything else. */
function legacyCheck(secret: string, stored: string): (() => Promise<boolean>) | undefined {
  if (BCRYPT.test(stored)) {
    // bcrypt reads at most 72 bytes; bcryptjs compares the result in constant time, on a worker
    // thread (off the event loop). `$2y$` (PHP) is the same algorithm as `$2b$`.
    const normalised = stored.startsWith('$2y$') ? `$2b$${stored.slice(4)}` : stored;
    return () => legacyHashWorker().bcrypt(secret, normalised);
  }
  const pbkdf2 = parsePbkdf2(stored);
  if (pbkdf2) return () => verifyPbkdf2(secret, pbkdf2);
  const argon2 = parseArgon2id(stored);
  if (argon2) return () => legacyHashWorker().argon2id(secret, argon2);
  return undefined;
}

/**
 * The cost class of a legacy hash: its scheme and work parameters, without salt or digest, so
 * every hash of one profile costs the same to verify. `estimatedMs` ranks profiles before any
 * has been timed on this node (figures of a 2-core x86_64 machine: bcrypt cost 10 took 60 ms in
 * bcryptjs, PBKDF2-SHA256 0.17 µs per iteration, argon2id about 1.1 µs per KiB and pass).
 */
export interface LegacyHashProfile {
  /** `bcrypt$10`, `pbkdf2-sha256$i=25000,l=32`, `argon2id$m=19456,t=2,p=1,l=32`. */
  readonly id: string;
  readonly estimatedMs: number;
}

export function legacyHashProfile(stored: string): LegacyHashProfile | undefined {
  const bcrypt = BCRYPT.exec(stored);
  if (bcrypt) {
    const cost = Number(bcrypt[1]);
    return { id: `bcrypt$${cost}`, estimatedMs: 2 ** cost * 0.0586 };
  }
  const pbkdf2 = parsePbkdf2(stored);
  if (pbkdf2) return { id: `pbkdf2-sha256$i=${pbkdf2.iterations},l=${pbkdf2.hash.length}`, estimatedMs: pbkdf2.iterations * 0.00017 };
  const argon2 = parseArgon2id(stored);
  if (argon2) {
    const { memorySize: m, iterations: t, parallelism: p, expected } = argon2;
    return { id: `argon2id$m=${m},t=${t},p=${p},l=${expected.length}`, estimatedMs: m * t * 0.0011 };
  }
  return undefined;
}

const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A hash of `profile` that no secret matches (random salt and digest): verifying anything
 * against it costs what verifying against a real hash of that profile costs. Undefined for an
 * id `legacyHashProfile` did not make.
 */
export function decoyLegacyHash(profile: string): string | undefined {
  const b64 = (bytes: number) => crypto.randomBytes(bytes).toString('base64').replace(/=+$/, '');
  let match = /^bcrypt\$(\d{1,2})$/.exec(profile);
  if (match) {
    const chars = Array.from(crypto.randomBytes(53), (byte) => BCRYPT_ALPHABET[byte & 63]).join('');
    const decoy = `$2b$${match[1]?.padStart(2, '0')}$${chars}`;
    return BCRYPT.test(decoy) ? decoy : undefined;
  }
  match = /^pbkdf2-sha256\$i=(\d+),l=(\d+)$/.exec(profile);
  if (match) {
    const decoy = `$pbkdf2-sha256$i=${match[1]},l=${match[2]}$${b64(16)}$${b64(Number(match[2]))}`;
    return parsePbkdf2(decoy) ? decoy : undefined;
  }
  match = /^argon2id\$m=(\d+),t=(\d+),p=(\d+),l=(\d+)$/.exec(profile);
  if (match) {
    const decoy = `$argon2id$v=19$m=${match[1]},t=${match[2]},p=${match[3]}$${b64(16)}$${b64(Number(match[4]))}`;
    return parseArgon2id(decoy) ? decoy : undefined;
  }
  return undefined;
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
    case 'argon2id':
      return parseArgon2id(value)
        ? { hash: value }
        : { problem: 'not an argon2id hash in PHC format ($argon2id$v=19$m=…,t=…,p=…$salt$hash) within the accepted bounds' };
    default:
      return { problem: `the ${format} format is not supported` };
  }
}
