// Default import on purpose: `crypto.scrypt` is looked up at call time, so a test can wrap it and
// observe how many computations run at once (named ESM bindings of a builtin cannot be replaced).
import crypto from 'node:crypto';

/**
 * scrypt cost parameters: N = 2^log2N iterations, block size r, parallelism p. Memory per hash is
 * 128 · N · r bytes; CPU work grows with N · r · p.
 */
export interface PasswordHashCost {
  log2N: number;
  r: number;
  p: number;
}

/** OWASP's minimum for scrypt (N = 2^17, r = 8, p = 1): 128 MiB and one full pass over it per hash. */
export const DEFAULT_PASSWORD_COST: PasswordHashCost = Object.freeze({ log2N: 17, r: 8, p: 1 });

const ALGORITHM = 'scrypt';
const SALT_BYTES = 16;
const KEY_BYTES = 32;

// Bounds on parameters, checked for our own costs and for every stored hash: a corrupted or
// hand-edited row must not make one login allocate gigabytes or run for minutes.
const LOG2N_RANGE = [10, 20] as const;
const R_RANGE = [1, 32] as const;
const P_RANGE = [1, 16] as const;
/** Cap on 128 · N · r · p (memory × parallel passes): 1 GiB, e.g. log2N 20 with r 8 and p 1. */
const MAX_WORK_BYTES = 2 ** 30;
/**
 * OpenSSL refuses unless maxmem covers V (128 · r · N) plus B (128 · r · p) plus a little more, so
 * exactly 128 · N · r · p is not enough; 1 MiB of slack covers every parameter set we accept.
 */
const MAXMEM_MARGIN = 2 ** 20;

/**
 * At most this many scrypt computations per process. Each holds 128 MiB at the default cost and
 * occupies a libuv threadpool thread (4 by default, shared with fs and dns), so on a 2-core host two
 * at a time keep both cores busy while bounding memory to ~256 MiB; the rest wait their turn.
 */
const MAX_CONCURRENT_HASHES = 2;
/** At most this many wait behind them: a burst beyond that is refused at once, not queued for minutes. */
const MAX_WAITING_HASHES = 64;

/** Too many password hashes are queued in this process: the caller should answer "busy, retry". */
export class PasswordHashingBusyError extends Error {
  constructor() {
    super('too many password checks in progress');
    this.name = 'PasswordHashingBusyError';
  }
}

const PARAMS_PATTERN = /^ln=([1-9][0-9]?),r=([1-9][0-9]?),p=([1-9][0-9]?)$/;
// Standard base64 alphabet without padding, as PHC strings use.
const B64_PATTERN = /^[A-Za-z0-9+/]+$/;

/** A tiny FIFO counting semaphore: bounds how many tasks run at once, queues the rest. */
class ConcurrencyLimit {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly limit: number,
    private readonly maxWaiting: number,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    else if (this.waiting.length >= this.maxWaiting) throw new PasswordHashingBusyError();
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter (active stays the same) so a newcomer cannot
      // slip in between and exceed the limit.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

let limiter: ConcurrencyLimit | undefined;

function hashLimiter(): ConcurrencyLimit {
  limiter ??= new ConcurrencyLimit(MAX_CONCURRENT_HASHES, MAX_WAITING_HASHES);
  return limiter;
}

const inRange = (value: number, [min, max]: readonly [number, number]): boolean => Number.isInteger(value) && value >= min && value <= max;

function costProblem({ log2N, r, p }: PasswordHashCost): string | undefined {
  if (!inRange(log2N, LOG2N_RANGE)) return `log2N must be an integer from ${LOG2N_RANGE[0]} to ${LOG2N_RANGE[1]}`;
  if (!inRange(r, R_RANGE)) return `r must be an integer from ${R_RANGE[0]} to ${R_RANGE[1]}`;
  if (!inRange(p, P_RANGE)) return `p must be an integer from ${P_RANGE[0]} to ${P_RANGE[1]}`;
  // OpenSSL's own rule (N < 2^(16·r)): only r = 1 with log2N ≥ 16 hits it here, and scrypt would throw.
  if (log2N >= 16 * r) return 'log2N must be less than 16 · r';
  if (128 * 2 ** log2N * r * p > MAX_WORK_BYTES) return `128 · N · r · p must not exceed ${MAX_WORK_BYTES} bytes`;
  return undefined;
}

function assertCost(cost: PasswordHashCost): void {
  const problem = costProblem(cost);
  if (problem) throw new RangeError(`invalid password hash cost: ${problem}`);
}

/** scrypt on the libuv threadpool (never scryptSync: it would stall the event loop for every request), bounded by the limiter. */
function derive(password: string | Buffer, salt: Buffer, { log2N, r, p }: PasswordHashCost): Promise<Buffer> {
  const N = 2 ** log2N;
  const options = { N, r, p, maxmem: 128 * N * r * p + MAXMEM_MARGIN };
  return hashLimiter().run(
    () =>
      new Promise<Buffer>((resolve, reject) => {
        crypto.scrypt(password, salt, KEY_BYTES, options, (error, key) => (error ? reject(error) : resolve(key)));
      }),
  );
}

/** Password bytes: NFC first, so the same password typed on systems that compose differently (é vs e + ◌́) matches. */
const passwordBytes = (password: string): Buffer => Buffer.from(password.normalize('NFC'), 'utf8');

const encodeB64 = (bytes: Buffer): string => bytes.toString('base64').replace(/=+$/, '');

/** Decodes unpadded standard base64, or undefined unless it is the canonical encoding of exactly `length` bytes. */
function decodeB64(text: string, length: number): Buffer | undefined {
  if (!B64_PATTERN.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  // Re-encoding catches what Buffer.from forgives: stray trailing bits and wrong lengths.
  return bytes.length === length && encodeB64(bytes) === text ? bytes : undefined;
}

interface ParsedHash {
  cost: PasswordHashCost;
  salt: Buffer;
  hash: Buffer;
}

/** Parses `$scrypt$ln=…,r=…,p=…$salt$hash`; undefined for anything malformed or outside the accepted bounds. */
function parseStored(stored: unknown): ParsedHash | undefined {
  // The longest valid string is well under 200 characters; refuse big inputs before splitting them.
  if (typeof stored !== 'string' || stored.length > 200) return undefined;
  const parts = stored.split('$');
  if (parts.length !== 5) return undefined;
  const [empty, algorithm, params, salt64, hash64] = parts as [string, string, string, string, string];
  if (empty !== '' || algorithm !== ALGORITHM) return undefined;
  const match = PARAMS_PATTERN.exec(params);
  if (!match) return undefined;
  const cost = { log2N: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  if (costProblem(cost)) return undefined;
  const salt = decodeB64(salt64, SALT_BYTES);
  const hash = decodeB64(hash64, KEY_BYTES);
  if (!salt || !hash) return undefined;
  return { cost, salt, hash };
}

/**
 * Hashes a new password with scrypt (NFC-normalised, random 16-byte salt, 32-byte key) into a
 * self-describing string `$scrypt$ln=17,r=8,p=1$<salt>$<hash>` (unpadded base64), so the cost can be
 * raised later without breaking stored hashes. Throws a RangeError for a cost outside the accepted
 * bounds. Check `passwordProblem` first: this hashes whatever it is given.
 */
export async function hashPassword(password: string, cost: PasswordHashCost = DEFAULT_PASSWORD_COST): Promise<string> {
  assertCost(cost);
  const salt = crypto.randomBytes(SALT_BYTES);
  const hash = await derive(passwordBytes(password), salt, cost);
  return `$${ALGORITHM}$ln=${cost.log2N},r=${cost.r},p=${cost.p}$${encodeB64(salt)}$${encodeB64(hash)}`;
}

/**
 * Whether `password` matches a string from `hashPassword`, recomputed with the stored parameters
 * and compared in constant time. A malformed, tampered or out-of-bounds stored string (or a
 * non-string argument) gives false without hashing. It rejects only when no answer was reached:
 * `PasswordHashingBusyError` when too many checks are already queued in this process, or a failure
 * of scrypt itself (e.g. out of memory). Neither is a wrong password; neither may count as one.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (typeof password !== 'string') return false;
  const parsed = parseStored(stored);
  if (!parsed) return false;
  const candidate = await derive(passwordBytes(password), parsed.salt, parsed.cost);
  return crypto.timingSafeEqual(candidate, parsed.hash);
}

/**
 * The scrypt work of one verification at `cost`, with the result thrown away: call it when the
 * username is unknown so the response takes as long as a wrong password would (no user enumeration
 * by timing). It queues behind the same concurrency limit as real verifications, and is refused
 * with `PasswordHashingBusyError` in the same way when that queue is full.
 */
export async function burnPasswordCheck(cost: PasswordHashCost = DEFAULT_PASSWORD_COST): Promise<void> {
  assertCost(cost);
  const candidate = await derive(passwordBytes('gatehouse: no such user'), crypto.randomBytes(SALT_BYTES), cost);
  crypto.timingSafeEqual(candidate, candidate);
}

/**
 * Whether a stored hash should be replaced after a successful login: true when any of its
 * parameters is below `cost` (or it cannot be parsed). Stronger stored parameters are kept, so
 * lowering the configured cost never downgrades existing hashes.
 */
export function needsRehash(stored: string, cost: PasswordHashCost): boolean {
  const parsed = parseStored(stored);
  if (!parsed) return true;
  return parsed.cost.log2N < cost.log2N || parsed.cost.r < cost.r || parsed.cost.p < cost.p;
}

/** Length bounds on new passwords, in code points after NFC. */
const MIN_PASSWORD_LENGTH = 8;
const MAX_PASSWORD_LENGTH = 1024;

/**
 * Policy for a new password, after NIST SP 800-63B: 8 to 1024 characters (Unicode code points
 * after NFC; the upper bound keeps hashing work bounded), no control characters (C0, DEL, C1) and
 * no unpaired surrogates (they are not text and would all encode as U+FFFD). Spaces and any other
 * printable Unicode are allowed; no composition rules. Returns a message naming the problem, or
 * undefined when the password is acceptable.
 */
export function passwordProblem(password: string): string | undefined {
  if (typeof password !== 'string') return 'Password must be a string.';
  let length = 0;
  for (const _ of password.normalize('NFC')) length++;
  if (length < MIN_PASSWORD_LENGTH) return `Password must be at least ${MIN_PASSWORD_LENGTH} characters long.`;
  if (length > MAX_PASSWORD_LENGTH) return `Password must be at most ${MAX_PASSWORD_LENGTH} characters long.`;
  if (/\p{Cc}/u.test(password)) return 'Password must not contain control characters (such as NUL, tab or newline).';
  if (/\p{Cs}/u.test(password)) return 'Password must not contain unpaired surrogate code units (invalid Unicode).';
  return undefined;
}
