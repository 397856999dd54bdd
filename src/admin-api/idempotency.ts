import type { Clock } from '../domain/clock.ts';
import type { IdempotencyKeyStore } from '../domain/storage.ts';
import { canonicalJson } from './http-semantics.ts';
import { Problem } from './problems.ts';

/** How long a key is remembered: a retry after a lost response comes within minutes, not days. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600_000;
const KEY = /^[\x21-\x7E]{1,200}$/;

/** Fields that hold a secret: shown by the response that creates it, never stored, never replayed. */
export const SECRET_FIELDS = ['client_secret', 'private_key_pem', 'private_jwk', 'example'] as const;

export interface IdempotentResult {
  status: number;
  body: unknown;
  replayed: boolean;
}

/**
 * `Idempotency-Key` on creates (draft-ietf-httpapi-idempotency-key-header): the first request
 * runs; a retry with the same key and the same request gets the first response again, without
 * the secrets it held (they are never stored), marked `Idempotent-Replayed: true`; the same key
 * with another request is refused. Keys are per admin client and stored only as keyed hashes.
 */
export class Idempotency {
  constructor(
    private readonly store: IdempotencyKeyStore,
    private readonly clock: Clock,
    /** Keyed hash (GATEHOUSE_KEY_SECRET) of the caller and its key. */
    private readonly hashKey: (value: string) => string,
  ) {}

  async run(
    callerId: string,
    key: string,
    request: { method: string; path: string; body: unknown },
    create: () => Promise<{ status: number; body: unknown }>,
  ): Promise<IdempotentResult> {
    if (!KEY.test(key)) throw new Problem('invalid-request', 'Idempotency-Key must be 1-200 visible ASCII characters', { field: 'Idempotency-Key' });
    const keyHash = this.hashKey(`${callerId}\n${key}`);
    // Keyed, like the key: a body may hold a password (a new user), which a plain hash would
    // let anyone holding the database try guesses against.
    const requestHash = this.hashKey(`request\n${request.method} ${request.path}\n${canonicalJson(request.body ?? null)}`);
    const now = this.clock.now();
    const reserved = await this.store.reserve({ keyHash, requestHash, status: null, response: null, createdAt: now, expiresAt: now + IDEMPOTENCY_TTL_MS }, now);
    if (!reserved) return this.replay(keyHash, requestHash);
    let result: { status: number; body: unknown };
    try {
      result = await create();
    } catch (error) {
      await this.store.release(keyHash);
      throw error;
    }
    await this.store.complete(keyHash, result.status, JSON.stringify(withoutSecrets(result.body)));
    return { ...result, replayed: false };
  }

  private async replay(keyHash: string, requestHash: string): Promise<IdempotentResult> {
    const record = await this.store.find(keyHash, this.clock.now());
    if (!record) throw new Problem('idempotency-key-in-use', 'a request with this Idempotency-Key is still running');
    if (record.requestHash !== requestHash)
      throw new Problem('idempotency-key-reused', 'this Idempotency-Key was used for a different request', { field: 'Idempotency-Key' });
    if (record.status === null || record.response === null) throw new Problem('idempotency-key-in-use', 'a request with this Idempotency-Key is still running');
    return { status: record.status, body: JSON.parse(record.response) as unknown, replayed: true };
  }
}

/** `body` without any secret field, at any depth: what a replay may show. */
export function withoutSecrets(body: unknown): unknown {
  if (Array.isArray(body)) return body.map(withoutSecrets);
  if (body === null || typeof body !== 'object') return body;
  return Object.fromEntries(
    Object.entries(body)
      .filter(([name]) => !(SECRET_FIELDS as readonly string[]).includes(name))
      .map(([name, value]) => [name, withoutSecrets(value)]),
  );
}
