import { hashesEqual, hashSecret, randomToken } from '../../crypto/secrets.ts';
import type { Clock } from '../../domain/clock.ts';
import { type EventSink, NO_EVENTS } from '../../domain/events.ts';
import type { BrowserSession, CodeOidc, DeviceAuthorization, Environment, PendingAuthorization } from '../../domain/model.ts';
import type { Store } from '../../domain/storage.ts';
import type { PendingFlow } from '../authorization/flow-context.ts';
import type { ClientCache } from '../client-cache.ts';
import { acrOf } from '../openid/acr.ts';
import { DEVICE_CODE_GRANT } from './device-authorization.ts';
import { normalizeUserCode } from './user-code.ts';
import type { UserCodeThrottle } from './user-code-throttle.ts';

// The user has this long to sign in and decide once the code was entered (never past the code's expiry).
const PENDING_TTL_MS = 15 * 60 * 1000;

/** What a code typed on the verification page led to. */
export type UserCodeCheck =
  | { kind: 'found'; requestId: string; pending: PendingAuthorization }
  /** Not a pending code of this environment (unknown, expired, already decided, or not a code at all). */
  | { kind: 'wrong' }
  /** Too many attempts from this browser session or address; the code was not looked at. */
  | { kind: 'throttled'; retryAfter: number };

/** The end of a decision on the verification page. */
export type DeviceDecisionOutcome = 'approved' | 'denied' | 'gone';

export interface DeviceVerificationDeps {
  store: Pick<Store, 'deviceAuthorizations' | 'authorizationRequests' | 'users'>;
  clients: ClientCache;
  clock: Clock;
  throttle: UserCodeThrottle;
  hashUserCode: (code: string) => string;
  events?: EventSink;
}

/**
 * RFC 8628 §3.3: the user enters (or confirms) the code on the verification page, signs in and
 * decides. A found code becomes a held request of the browser session — the same held request
 * the login page resumes for /authorize — naming its device authorization; its gates then lead
 * to the decision page, always (a remembered consent never stands in for it: the request comes
 * from a device whose origin the user cannot see, RFC 8628 §5.4).
 */
export class DeviceVerification {
  private readonly events: EventSink;

  constructor(private readonly deps: DeviceVerificationDeps) {
    this.events = deps.events ?? NO_EVENTS;
  }

  /** Checks a typed code (throttled before it is looked at) and holds the request it names. */
  async check(env: Environment, session: BrowserSession, sourceAddress: string, typed: string): Promise<UserCodeCheck> {
    const { store, throttle, clock, hashUserCode } = this.deps;
    const retryAfter = await throttle.attempt(env.id, session.idHash, sourceAddress);
    if (retryAfter > 0) {
      this.events.emit({ type: 'device.verification', env, outcome: 'throttled' });
      return { kind: 'throttled', retryAfter };
    }
    const code = normalizeUserCode(typed);
    const now = clock.now();
    const found = code === undefined ? undefined : await store.deviceAuthorizations.findPendingByUserCode(env.id, hashUserCode(code), now);
    if (!found) {
      this.events.emit({ type: 'device.verification', env, outcome: 'wrong_code' });
      return { kind: 'wrong' };
    }
    this.events.emit({ type: 'device.verification', env, outcome: 'code_accepted' });
    return { kind: 'found', ...(await this.hold(env, session, found, now)) };
  }

  /** The device authorization a held request decides, while it is still pending. */
  authorizationOf(env: Environment, pending: PendingAuthorization): Promise<DeviceAuthorization | undefined> {
    if (pending.deviceCodeHash === undefined) return Promise.resolve(undefined);
    return this.deps.store.deviceAuthorizations.findPending(env.id, pending.deviceCodeHash, this.deps.clock.now());
  }

  /** Whether `typed` is the user code of `authorization` (compared as keyed hashes, in constant time). */
  codeMatches(authorization: DeviceAuthorization, typed: string | undefined): boolean {
    const code = typed === undefined ? undefined : normalizeUserCode(typed);
    return code !== undefined && hashesEqual(this.deps.hashUserCode(code), authorization.userCodeHash);
  }

  /**
   * The signed-in user's decision on a held device request, taken once: approving records who
   * approved and, for `openid`, the sign-in the ID Token describes (`auth_time`, `amr`, `sid`,
   * as the code flow records them); denying makes the next poll `access_denied` (RFC 8628 §3.5).
   * The client must still be enabled and registered for the grant and its scopes.
   */
  async decide(flow: PendingFlow, approve: boolean): Promise<DeviceDecisionOutcome> {
    const { store, clock } = this.deps;
    const { env, session, pending } = flow;
    const userId = session.userId;
    if (userId === null || pending.deviceCodeHash === undefined) throw new Error('a device decision needs a signed-in session and a device request');
    const user = await store.users.find(env.id, userId);
    if (!user?.enabled) return 'gone';
    // Taken first, so each held request is decided once.
    if (!(await store.authorizationRequests.take(env.id, hashSecret(flow.requestId), session.idHash))) return 'gone';
    const stillAllowed = approve ? await this.clientStillAllows(env, pending) : true;
    const now = clock.now();
    const status = approve && stillAllowed ? 'approved' : 'denied';
    const oidc = status === 'approved' && pending.scope.includes('openid') ? sessionOidc(session, now) : undefined;
    if (!(await store.deviceAuthorizations.decide(env.id, pending.deviceCodeHash, { status, userId, now, oidc }))) return 'gone';
    this.events.emit({
      type: status === 'approved' ? 'device_authorization.approved' : 'device_authorization.denied',
      env,
      clientId: pending.clientId,
      userId,
    });
    return stillAllowed ? status : 'gone';
  }

  private async clientStillAllows(env: Environment, pending: PendingAuthorization): Promise<boolean> {
    const { client } = await this.deps.clients.get(env.id, pending.clientId);
    return client?.enabled === true && client.grantTypes.includes(DEVICE_CODE_GRANT) && pending.scope.every((s) => client.scopes.includes(s));
  }

  /** A held request of this browser session for the device authorization; storage holds only the id's hash. */
  private async hold(env: Environment, session: BrowserSession, found: DeviceAuthorization, now: number) {
    const requestId = randomToken(32);
    const pending: PendingAuthorization = {
      idHash: hashSecret(requestId),
      envId: env.id,
      sessionIdHash: session.idHash,
      clientId: found.clientId,
      redirectUri: '',
      scope: found.scope,
      state: null,
      codeChallenge: null,
      ...(found.resources ? { resources: found.resources } : {}),
      createdAt: now,
      expiresAt: Math.min(now + PENDING_TTL_MS, found.expiresAt),
      deviceCodeHash: found.deviceCodeHash,
    };
    await this.deps.store.authorizationRequests.insert(pending);
    return { requestId, pending };
  }
}

/** What the ID Token says about the approving sign-in (Core §2), as the code flow records it; no nonce (RFC 8628 has none). */
function sessionOidc(session: BrowserSession, now: number): CodeOidc {
  return { nonce: null, sid: session.sid ?? null, authTime: session.authenticatedAt ?? now, amr: session.amr ?? ['pwd'], acr: acrOf(session.amr) };
}
