import { hashSecret, randomToken } from '../crypto/secrets.ts';
import type { Clock } from '../domain/clock.ts';
import type { InitialAccessToken } from '../domain/registration.ts';
import type { Store } from '../domain/storage.ts';
import { AdminError } from './admin-error.ts';
import type { AdminAudit } from './audit-trail.ts';
import { environment, type RegistrationPolicyService } from './registration-policy.ts';

/** Lifetime of an initial access token unless told otherwise: a week. */
export const DEFAULT_INITIAL_ACCESS_TOKEN_TTL = 7 * 86_400;
const MAX_TTL = 365 * 86_400;
const MAX_USES = 10_000;

/** One initial access token, without its value (shown once, at creation). */
export interface InitialAccessTokenView {
  id: string;
  environment: string;
  description: string;
  uses_left: number;
  created_at: string;
  expires_at: string;
}

export interface CreateInitialAccessTokenInput {
  env: string;
  description?: string;
  /** Seconds until it expires; default a week. */
  expiresIn?: number;
  /** How many registrations it allows; default 1. */
  uses?: number;
}

/**
 * RFC 7591 §3: the initial access tokens operators hand to developers where registration needs
 * one. The token is random (256 bits), shown once and stored as a hash; each registration spends
 * one use, atomically.
 */
export class InitialAccessTokenService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly audit: AdminAudit,
  ) {}

  async create(input: CreateInitialAccessTokenInput): Promise<InitialAccessTokenView & { token: string }> {
    const env = await environment(this.store, input.env);
    const ttl = input.expiresIn ?? DEFAULT_INITIAL_ACCESS_TOKEN_TTL;
    if (!Number.isInteger(ttl) || ttl < 60 || ttl > MAX_TTL) throw new AdminError('invalid_argument', `expires-in must be 60..${MAX_TTL} seconds`);
    const uses = input.uses ?? 1;
    if (!Number.isInteger(uses) || uses < 1 || uses > MAX_USES) throw new AdminError('invalid_argument', `uses must be 1..${MAX_USES}`);
    const description = (input.description ?? '').trim();
    if (description.length > 200) throw new AdminError('invalid_argument', 'description is at most 200 characters');
    const now = this.clock.now();
    const token = randomToken(32);
    const record: InitialAccessToken = {
      id: `iat_${randomToken(12)}`,
      envId: env.id,
      tokenHash: hashSecret(token),
      description,
      usesLeft: uses,
      createdAt: now,
      expiresAt: now + ttl * 1000,
    };
    const change = {
      type: 'initial_access_token.created',
      env,
      subject: { kind: 'initial_access_token', id: record.id },
      details: () => ({ uses, expires_at: new Date(record.expiresAt).toISOString() }),
    } as const;
    // The token is shown only once its record and audit event are committed.
    await this.audit.change(this.store, change, (tx) => tx.registrations.insertInitialAccessToken(record));
    return { ...view(env.name, record), token };
  }

  async list(envName: string): Promise<InitialAccessTokenView[]> {
    const env = await environment(this.store, envName);
    return (await this.store.registrations.listInitialAccessTokens(env.id)).map((t) => view(env.name, t));
  }

  async delete(envName: string, id: string): Promise<{ id: string; environment: string; deleted: true }> {
    const env = await environment(this.store, envName);
    const change = { type: 'initial_access_token.deleted', env, subject: { kind: 'initial_access_token', id } } as const;
    await this.audit.change(this.store, change, async (tx) => {
      if (!(await tx.registrations.deleteInitialAccessToken(env.id, id)))
        throw new AdminError('not_found', `no initial access token ${id} in environment ${envName}`);
    });
    return { id, environment: env.name, deleted: true };
  }
}

const view = (environment: string, t: InitialAccessToken): InitialAccessTokenView => ({
  id: t.id,
  environment,
  description: t.description,
  uses_left: t.usesLeft,
  created_at: new Date(t.createdAt).toISOString(),
  expires_at: new Date(t.expiresAt).toISOString(),
});

/** The registration services of the admin paths (admin API, CLI, console, `apply`). */
export interface RegistrationServices {
  readonly policies: RegistrationPolicyService;
  readonly initialAccessTokens: InitialAccessTokenService;
}
