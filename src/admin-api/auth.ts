import { type Access, ADMIN_READ, ADMIN_WRITE, allows as allowsScopes } from '../admin/admin-scopes.ts';
import type { Clock } from '../domain/clock.ts';
import type { OAuthCore } from '../oauth/core.ts';
import type { EnvironmentResolver } from '../oauth/environments.ts';
import { OAuthError } from '../oauth/errors.ts';
import { Problem } from './problems.ts';

/** The RFC 8707 identifier of the admin API: the `aud` every admin token must carry. */
export const ADMIN_API_IDENTIFIER = 'urn:gatehouse:admin-api';
export { type Access, ADMIN_READ, ADMIN_WRITE } from '../admin/admin-scopes.ts';

/** Who is calling: the admin client the token was issued to, and what it may do. */
export interface AdminCaller {
  clientId: string;
  subject: string;
  scopes: ReadonlySet<string>;
}

const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/;
const REALM = 'realm="gatehouse-admin"';

/**
 * Verifies admin access tokens as a resource server would: issued by the management
 * environment (JWT or opaque, read by the OAuth core itself, so revocation counts), not expired,
 * and for the admin API (`aud`). Any other token is a 401 (RFC 6750 §3).
 */
export class AdminAuthenticator {
  constructor(
    private readonly core: Pick<OAuthCore, 'tokens'>,
    private readonly environments: EnvironmentResolver,
    private readonly managementEnv: string,
  ) {}

  async authenticate(authorization: string | undefined): Promise<AdminCaller> {
    if (authorization === undefined || authorization === '') {
      throw new Problem('unauthorized', 'send an admin access token as Authorization: Bearer …', { headers: { 'www-authenticate': `Bearer ${REALM}` } });
    }
    const match = BEARER.exec(authorization);
    const token = match?.[1];
    const claims = token === undefined ? undefined : await this.read(token);
    const audience = claims === undefined ? [] : [claims.audience].flat();
    if (!claims || !audience.includes(ADMIN_API_IDENTIFIER)) {
      throw new Problem('unauthorized', 'the access token is invalid, expired, revoked or not for the admin API', {
        headers: { 'www-authenticate': `Bearer ${REALM}, error="invalid_token"` },
      });
    }
    return { clientId: claims.clientId, subject: claims.subject, scopes: new Set(claims.scope.split(' ').filter(Boolean)) };
  }

  private async read(token: string) {
    let resolved: Awaited<ReturnType<EnvironmentResolver['resolve']>>;
    try {
      resolved = await this.environments.resolve(this.managementEnv);
    } catch (error) {
      // No management environment yet: no token can be valid (`gatehouse admin bootstrap` creates it).
      if (error instanceof OAuthError && error.code === 'not_found') return undefined;
      throw error;
    }
    return this.core.tokens.read(resolved.env, resolved.urls.issuer, token);
  }
}

/** Whether the caller may read or write (see `allows` in admin/admin-scopes.ts, which the console reads the same way). */
export function allows(caller: AdminCaller, access: Access, env: string | undefined): boolean {
  return allowsScopes(caller.scopes, access, env);
}

/** Throws the 403 of RFC 6750 §3.1 naming the scope that would do. */
export function authorize(caller: AdminCaller, access: Access, env: string | undefined): void {
  if (allows(caller, access, env)) return;
  const needed = access === 'read' ? ADMIN_READ : ADMIN_WRITE;
  const scope = env === undefined ? needed : `${needed} ${needed}:${env}`;
  throw new Problem('insufficient-scope', `this operation needs ${env === undefined ? needed : `${needed} or ${needed}:${env}`}`, {
    headers: { 'www-authenticate': `Bearer ${REALM}, error="insufficient_scope", scope="${scope}"` },
  });
}

/**
 * Fixed one-minute windows per admin client, on this node only (no database write per admin
 * call): with N nodes a client may make up to N × the limit. Bounded: the map is cleared at
 * each new window and refuses to grow past `maxClients` within one.
 */
export class AdminRateLimiter {
  private window = -1;
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly limit: number,
    private readonly clock: Clock,
    private readonly maxClients = 10_000,
  ) {}

  hit(clientId: string): void {
    const now = this.clock.now();
    const window = Math.floor(now / 60_000);
    if (window !== this.window) {
      this.window = window;
      this.counts.clear();
    }
    const count = (this.counts.get(clientId) ?? 0) + 1;
    if (count > this.limit || (count === 1 && this.counts.size >= this.maxClients)) {
      const retryAfter = String(Math.max(1, Math.ceil(((window + 1) * 60_000 - now) / 1000)));
      throw new Problem('rate-limited', `more than ${this.limit} admin requests in a minute`, { headers: { 'retry-after': retryAfter } });
    }
    this.counts.set(clientId, count);
  }
}
