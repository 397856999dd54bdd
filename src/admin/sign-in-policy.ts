import type { Clock } from '../domain/clock.ts';
import type { Environment, User } from '../domain/model.ts';
import { type FactorReset, type Passkey, SECOND_FACTOR_MODES, type SecondFactorMode, type SignInPolicy } from '../domain/second-factors.ts';
import type { Store, TransactionStore } from '../domain/storage.ts';
import { signInPolicyOf } from '../oauth/authorization/second-factor-gate.ts';
import { AdminError } from './admin-error.ts';
import { AdminAudit } from './audit-trail.ts';
import { holdUnchanged } from './settings-guard.ts';

/** An environment's sign-in policy under its wire names. */
export interface SignInPolicyView {
  environment: string;
  second_factor: SecondFactorMode;
  required_clients: string[];
  required_scopes: string[];
  webauthn_rp_id: string | null;
  webauthn_origins: string[];
}

/** What a change may set; absent: kept. */
export interface SignInPolicyChanges {
  secondFactor?: SecondFactorMode;
  requiredClients?: string[];
  requiredScopes?: string[];
  webauthnRpId?: string | null;
  webauthnOrigins?: string[];
}

/** A user's passkey as an operator sees it (never the key itself). */
export interface PasskeyView {
  credential_id: string;
  name: string;
  backup_eligible: boolean;
  backed_up: boolean;
  transports: string[];
  created_at: string;
  last_used_at: string | null;
}

/** What a user's second factors are, for an operator. */
export interface UserFactorsView {
  username: string;
  totp: boolean;
  unused_recovery_codes: number;
  passkeys: PasskeyView[];
}

/** The most items each list of the policy holds (the admin API's bound too). */
export const MAX_POLICY_LIST = 100;
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const RP_ID = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export function passkeyView(p: Passkey): PasskeyView {
  return {
    credential_id: p.credentialId,
    name: p.name,
    backup_eligible: p.backupEligible,
    backed_up: p.backedUp,
    transports: p.transports,
    created_at: new Date(p.createdAt).toISOString(),
    last_used_at: iso(p.lastUsedAt),
  };
}

/** `policy` with `changes` applied, checked: a mode Gatehouse knows, a relying-party id that is a host name, https origins. */
export function withPolicyChanges(policy: SignInPolicy, changes: SignInPolicyChanges): SignInPolicy {
  for (const [field, list] of [
    ['required_clients', changes.requiredClients],
    ['required_scopes', changes.requiredScopes],
    ['webauthn_origins', changes.webauthnOrigins],
  ] as const) {
    if ((list?.length ?? 0) > MAX_POLICY_LIST) throw new AdminError('invalid_argument', `${field} may hold at most ${MAX_POLICY_LIST} items`);
  }
  if (changes.secondFactor !== undefined && !SECOND_FACTOR_MODES.includes(changes.secondFactor))
    throw new AdminError('invalid_argument', `second_factor must be one of ${SECOND_FACTOR_MODES.join(', ')}`);
  if (changes.webauthnRpId != null && !RP_ID.test(changes.webauthnRpId))
    throw new AdminError('invalid_argument', 'webauthn_rp_id must be a lower-case host name (WebAuthn §5.1.2 RP ID)');
  for (const origin of changes.webauthnOrigins ?? []) {
    const url = URL.canParse(origin) ? new URL(origin) : undefined;
    const local = url?.hostname === 'localhost' || url?.hostname === '127.0.0.1';
    if (!url || url.origin !== origin || (url.protocol !== 'https:' && !local))
      throw new AdminError('invalid_argument', `webauthn_origins: ${origin} is not an https origin (scheme://host[:port])`);
  }
  const next = { ...policy };
  for (const [key, value] of Object.entries(changes)) if (value !== undefined) (next as Record<string, unknown>)[key] = value;
  return next;
}

/**
 * The sign-in policy of each environment (second factor, WebAuthn relying party), and an
 * operator's view of users' factors: passkeys to revoke, and the reset that recovers a user who
 * lost every factor. Every change is an audit event.
 */
export class SignInPolicyService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly audit: AdminAudit = new AdminAudit(),
  ) {}

  async get(envName: string): Promise<SignInPolicyView> {
    const env = await this.environment(envName);
    return view(env, await signInPolicyOf(this.store, env.id));
  }

  /**
   * `expect` sees the policy as read and may refuse (an admin's If-Match); the write then applies
   * only to that version, so a change made in between is never overwritten.
   */
  async update(envName: string, changes: SignInPolicyChanges, expect?: (current: SignInPolicyView) => void): Promise<SignInPolicyView> {
    const env = await this.environment(envName);
    const read = await signInPolicyOf(this.store, env.id);
    expect?.(view(env, read));
    const next = withPolicyChanges(read, changes);
    const changed = Object.keys(changes).filter((k) => changes[k as keyof SignInPolicyChanges] !== undefined);
    const event = {
      type: 'environment.sign_in_policy_changed',
      env,
      subject: { kind: 'environment', id: env.id },
      details: () => ({ second_factor: next.secondFactor, changed }),
    } as const;
    const guard = {
      read,
      reread: (tx: TransactionStore) => signInPolicyOf(tx, env.id),
      view: (p: SignInPolicy) => view(env, p),
      expect,
      what: 'the sign-in policy',
    };
    await this.audit.change(this.store, event, async (tx) => {
      await holdUnchanged(tx, env, guard);
      await tx.secondFactors.savePolicy(env.id, next, this.clock.now());
    });
    return view(env, next);
  }

  async factors(envName: string, username: string): Promise<UserFactorsView> {
    const { env, user } = await this.user(envName, username);
    const [totp, codes, passkeys] = await Promise.all([
      this.store.secondFactors.findTotp(env.id, user.userId),
      this.store.secondFactors.unusedRecoveryCodes(env.id, user.userId),
      this.store.passkeys.listByUser(env.id, user.userId),
    ]);
    return { username: user.username, totp: totp?.confirmedAt != null, unused_recovery_codes: codes, passkeys: passkeys.map(passkeyView) };
  }

  async revokePasskey(envName: string, username: string, credentialId: string): Promise<void> {
    const { env, user } = await this.user(envName, username);
    const event = { type: 'user.passkey_revoked', env, subject: { kind: 'user', id: user.userId }, details: () => ({ credential_id: credentialId }) } as const;
    await this.audit.change(this.store, event, async (tx) => {
      if (!(await tx.passkeys.remove(env.id, user.userId, credentialId))) throw new AdminError('not_found', `${username} has no passkey ${credentialId}`);
    });
  }

  /** The recovery from a lost factor: removes the user's TOTP, recovery codes and passkeys. The next sign-in enrols again when the policy requires. */
  async resetFactors(envName: string, username: string): Promise<FactorReset> {
    const { env, user } = await this.user(envName, username);
    const event = {
      type: 'user.factors_reset',
      env,
      subject: { kind: 'user', id: user.userId },
      details: (r: FactorReset) => ({ totp: r.totp, recovery_codes: r.recoveryCodes, passkeys: r.passkeys }),
    } as const;
    return this.audit.change(this.store, event, (tx) => tx.secondFactors.resetFactors(env.id, user.userId));
  }

  private async environment(name: string): Promise<Environment> {
    const env = await this.store.environments.findByName(name);
    if (!env) throw new AdminError('not_found', `no environment named ${name}`);
    return env;
  }

  private async user(envName: string, username: string): Promise<{ env: Environment; user: User }> {
    const env = await this.environment(envName);
    const user = await this.store.users.findByUsername(env.id, username.normalize('NFC'));
    if (!user) throw new AdminError('not_found', `no user ${username} in ${env.name}`);
    return { env, user };
  }
}

function view(env: Environment, p: SignInPolicy): SignInPolicyView {
  return {
    environment: env.name,
    second_factor: p.secondFactor,
    required_clients: p.requiredClients,
    required_scopes: p.requiredScopes,
    webauthn_rp_id: p.webauthnRpId,
    webauthn_origins: p.webauthnOrigins,
  };
}
