import { hashPassword, passwordProblem } from '../crypto/passwords.ts';
import { randomToken } from '../crypto/secrets.ts';
import type { Clock } from '../domain/clock.ts';
import type { Environment, User } from '../domain/model.ts';
import { ConflictError, type PageQuery, type Store, type TransactionStore } from '../domain/storage.ts';
import { afterSessionsEnded } from '../oauth/openid/logout-sessions.ts';
import { AdminError, isoOrNull } from './admin-service.ts';
import { AdminAudit } from './audit-trail.ts';
import { type Listed, listed } from './paging.ts';
import type { AdminPolicy } from './policy.ts';
import { checkedProfile, givenProfileFields, type ProfileChanges, type ProfileView, profileView } from './user-profile.ts';

export interface UserView extends ProfileView {
  user_id: string;
  username: string;
  environment: string;
  enabled: boolean;
  created_at: string;
  updated_at: string;
}

/** What `update` may change; absent fields keep their value. */
export interface UserChanges extends ProfileChanges {
  enabled?: boolean;
}

/** Printable characters only, 1–200 of them, no surrounding spaces. */
const USERNAME = /^[^\p{Cc}\p{Cf}\s](?:[^\p{Cc}\p{Cf}]{0,198}[^\p{Cc}\p{Cf}\s])?$/u;

/**
 * End users of an environment, who sign in on the login page. Passwords are hashed with scrypt
 * at the configured cost; the clear password never leaves this call.
 */
export class UserService {
  constructor(
    private readonly config: Pick<AdminPolicy, 'passwordHashCost'>,
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly audit: AdminAudit = new AdminAudit(),
  ) {}

  /** A user with a password and, optionally, profile attributes (Core §5.1). */
  async create(input: { env: string; username: string; password: string; profile?: ProfileChanges }): Promise<UserView> {
    const env = await this.environment(input.env);
    const username = validUsername(input.username);
    const password = validPassword(input.password);
    const profile = checkedProfile(undefined, input.profile ?? {});
    const now = this.clock.now();
    // `usr_` ids never collide with service accounts (`sa_`), so a token's sub says which it is.
    const user: User = {
      envId: env.id,
      userId: `usr_${randomToken(18)}`,
      username,
      passwordHash: await hashPassword(password, this.cost()),
      enabled: true,
      createdAt: now,
      updatedAt: now,
      ...(profile ? { profile } : {}),
    };
    // The attributes are personal data: the event names the ones set, never their values.
    const attributes = givenProfileFields(input.profile ?? {});
    const created = {
      type: 'user.created',
      env,
      subject: { kind: 'user', id: user.userId },
      details: () => ({ username, ...(attributes.length ? { profile: attributes } : {}) }),
    } as const;
    try {
      await this.audit.change(this.store, created, (tx) => tx.users.create(user));
    } catch (error) {
      if (error instanceof ConflictError) throw new AdminError('conflict', `user ${username} already exists in ${env.name}`);
      throw error;
    }
    return view(env, user);
  }

  /** Each user with the time of their last successful login (null: none recorded). */
  async list(envName: string): Promise<(UserView & { last_login_at: string | null })[]> {
    const env = await this.environment(envName);
    const logins = await this.store.usage.lastUsed('user', env.id);
    return (await this.store.users.list(env.id)).map((user) => ({ ...view(env, user), last_login_at: isoOrNull(logins.get(user.userId)) }));
  }

  /** One page of users by username, with the time of their last successful login. */
  async page(envName: string, page: PageQuery<string>): Promise<Listed<UserView & { last_login_at: string | null }, string>> {
    const env = await this.environment(envName);
    const stored = await this.store.adminLists.users(env.id, page);
    // Only this page's users: the list is never read whole.
    const logins = await this.store.usage.lastUsed(
      'user',
      env.id,
      undefined,
      stored.items.map((user) => user.userId),
    );
    return listed(
      stored,
      (user) => ({ ...view(env, user), last_login_at: isoOrNull(logins.get(user.userId)) }),
      (user) => user.username,
    );
  }

  /**
   * Disabling also signs the user out everywhere and revokes every token issued for them.
   * `expect` sees the user as read and may refuse (an admin's If-Match); the write then applies
   * only to that version, so a change made in between is never overwritten.
   */
  async setEnabled(envName: string, username: string, enabled: boolean, expect?: (current: UserView) => void): Promise<UserView> {
    const env = await this.environment(envName);
    const current = await this.user(env, username);
    expect?.(view(env, current));
    // Strictly later than the version read, so a second writer of that version always loses.
    const now = Math.max(this.clock.now(), current.updatedAt + 1);
    const changed = {
      type: enabled ? 'user.enabled' : 'user.disabled',
      env,
      subject: { kind: 'user', id: current.userId },
      details: () => ({ username }),
    } as const;
    await this.audit.change(this.store, changed, async (tx) => {
      if (!(await tx.users.setEnabled(env.id, username, enabled, now, current.updatedAt))) {
        const fresh = await tx.users.findByUsername(env.id, username);
        if (!fresh) throw notFound(username, env);
        expect?.(view(env, fresh));
        throw new AdminError('conflict', `user ${username} changed while being updated: read it again`);
      }
      if (!enabled) await this.signOutEverywhere(tx, env, current.userId);
    });
    return view(env, { ...current, enabled, updatedAt: now });
  }

  /**
   * Changes a user's profile attributes and, with `enabled`, whether they may sign in, in one
   * write conditional on the version read (as `setEnabled`). Disabling signs the user out
   * everywhere. The audit event names the changed attributes, never their values.
   */
  async update(envName: string, username: string, changes: UserChanges, expect?: (current: UserView) => void): Promise<UserView> {
    const { enabled, ...profileChanges } = changes;
    const fields = givenProfileFields(profileChanges);
    if (fields.length === 0) return enabled === undefined ? this.get(envName, username) : this.setEnabled(envName, username, enabled, expect);
    const env = await this.environment(envName);
    const current = await this.user(env, username);
    expect?.(view(env, current));
    const profile = checkedProfile(current.profile, profileChanges);
    const next: User = { ...current, enabled: enabled ?? current.enabled, updatedAt: Math.max(this.clock.now(), current.updatedAt + 1) };
    if (profile) next.profile = profile;
    else delete next.profile;
    const changed = {
      type: 'user.profile_changed',
      env,
      subject: { kind: 'user', id: current.userId },
      // The attributes whose value changes (a form sends them all), by name only.
      details: () => ({
        username,
        changed: [...changedClaims(current.profile, profile), ...(enabled === undefined || enabled === current.enabled ? [] : ['enabled'])],
      }),
    } as const;
    await this.audit.change(this.store, changed, async (tx) => {
      if (!(await tx.users.setProfile(env.id, username, profile, next.updatedAt, current.updatedAt))) {
        const fresh = await tx.users.findByUsername(env.id, username);
        if (!fresh) throw notFound(username, env);
        expect?.(view(env, fresh));
        throw new AdminError('conflict', `user ${username} changed while being updated: read it again`);
      }
      if (enabled === undefined || enabled === current.enabled) return;
      await tx.users.setEnabled(env.id, username, enabled, next.updatedAt, next.updatedAt);
      if (!enabled) await this.signOutEverywhere(tx, env, current.userId);
    });
    return view(env, next);
  }

  /**
   * A new password also signs the user out everywhere and revokes every token issued for them:
   * a reset after a compromise must lock the intruder out, not only change the next login.
   */
  async setPassword(envName: string, username: string, password: string): Promise<UserView> {
    const env = await this.environment(envName);
    const hash = await hashPassword(validPassword(password), this.cost());
    const current = await this.user(env, username);
    const changed = { type: 'user.password_changed', env, subject: { kind: 'user', id: current.userId }, details: () => ({ username }) } as const;
    await this.audit.change(this.store, changed, async (tx) => {
      if (!(await tx.users.setPasswordHash(env.id, username, hash, this.clock.now()))) throw notFound(username, env);
      await this.signOutEverywhere(tx, env, current.userId);
    });
    return this.show(env, username);
  }

  // --- Operations of the admin API ---

  async get(envName: string, username: string): Promise<UserView> {
    return this.show(await this.environment(envName), username);
  }

  /** Signs the user out everywhere and revokes every token issued for them; the account stays usable. */
  async revokeSessions(envName: string, username: string): Promise<UserView> {
    const env = await this.environment(envName);
    const view = await this.show(env, username);
    await this.audit.change(this.store, { type: 'user.sessions_revoked', env, subject: { kind: 'user', id: view.user_id } }, (tx) =>
      this.signOutEverywhere(tx, env, view.user_id),
    );
    return view;
  }

  private async signOutEverywhere(tx: TransactionStore, env: Environment, userId: string): Promise<void> {
    const now = this.clock.now();
    // Back-Channel Logout: the clients that obtained tokens in these sessions are told, in this transaction.
    await afterSessionsEnded(tx, env, await tx.browserSessions.endForUser(env.id, userId), now);
    await tx.tokenFamilies.revokeForUser(env.id, userId, now);
  }

  private async show(env: Environment, username: string): Promise<UserView> {
    return view(env, await this.user(env, username));
  }

  private async user(env: Environment, username: string): Promise<User> {
    const user = await this.store.users.findByUsername(env.id, username);
    if (!user) throw notFound(username, env);
    return user;
  }

  private cost() {
    return { log2N: this.config.passwordHashCost, r: 8, p: 1 };
  }

  private async environment(name: string): Promise<Environment> {
    const env = await this.store.environments.findByName(name);
    if (!env) throw new AdminError('not_found', `no environment named ${name}`);
    return env;
  }
}

function validUsername(raw: string): string {
  const username = raw.normalize('NFC');
  if (!USERNAME.test(username)) {
    throw new AdminError('invalid_argument', 'username must be 1-200 printable characters without leading or trailing spaces');
  }
  // A URL path cannot hold them (RFC 3986 §5.2.4 removes dot segments): the admin API could never name the user.
  if (username === '.' || username === '..') throw new AdminError('invalid_argument', 'username cannot be . or ..');
  return username;
}

function validPassword(password: string): string {
  const problem = passwordProblem(password);
  if (problem) throw new AdminError('invalid_argument', problem);
  return password;
}

/** The claim names whose values differ between two profiles. */
function changedClaims(before: User['profile'], after: User['profile']): string[] {
  const [a, b] = [profileView(before), profileView(after)];
  return (Object.keys(a) as (keyof ProfileView)[]).filter((claim) => JSON.stringify(a[claim]) !== JSON.stringify(b[claim]));
}

const notFound = (username: string, env: Environment) => new AdminError('not_found', `no user ${username} in ${env.name}`);

const view = (env: Environment, user: User): UserView => ({
  user_id: user.userId,
  username: user.username,
  environment: env.name,
  enabled: user.enabled,
  created_at: new Date(user.createdAt).toISOString(),
  updated_at: new Date(user.updatedAt).toISOString(),
  ...profileView(user.profile),
});
