import { signCompactJwt } from '../../crypto/jwt.ts';
import { seconds } from '../../domain/clock.ts';
import type { Client } from '../../domain/model.ts';
import type { BackchannelLogout } from '../../domain/storage.ts';
import type { KeyRing } from '../signing-keys.ts';

/** Back-Channel Logout §2.4: the one member of a logout token's `events` claim. */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** Back-Channel Logout §2.4: the `typ` header that keeps a logout token from passing for an ID Token. */
export const LOGOUT_TOKEN_TYPE = 'logout+jwt';

/** A logout token is signed just before each attempt, so a short life is enough (§2.4 recommends minutes at most). */
export const LOGOUT_TOKEN_TTL_SECONDS = 120;

/**
 * Signs the logout token of `logout` for `client` at `now` (Back-Channel Logout §2.4): `typ`
 * `logout+jwt`, the client's ID Token algorithm (RS256 by default, Core §15.1) with the
 * environment's active key of it; `iss`, `aud` (the client), `iat`, `exp`, `jti` (the same on
 * every attempt), `sub`, `sid` when known, and the back-channel logout event. Never a `nonce`
 * (§2.4: it would let the token pass for an ID Token). Undefined when the client requires a
 * `sid` (§2.2 `backchannel_logout_session_required`) and the session had none.
 */
export async function signLogoutToken(keys: KeyRing, issuer: string, client: Client, logout: BackchannelLogout, now: number): Promise<string | undefined> {
  if (logout.sid === null && client.backchannelLogoutSessionRequired) return undefined;
  const key = await keys.activeKey(logout.envId, client.idTokenSignedResponseAlg ?? 'RS256');
  const iat = seconds(now);
  const claims = {
    iss: issuer,
    aud: client.clientId,
    iat,
    exp: iat + LOGOUT_TOKEN_TTL_SECONDS,
    jti: logout.id,
    sub: logout.subject,
    ...(logout.sid === null ? {} : { sid: logout.sid }),
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
  };
  return signCompactJwt({ typ: LOGOUT_TOKEN_TYPE, kid: key.kid }, claims, key.privateKey, key.alg);
}
