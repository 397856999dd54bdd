import { seconds } from '../../domain/clock.ts';
import type { PostalAddress, User } from '../../domain/model.ts';

/**
 * Core §5.4: the standard claims of the scopes granted, from the user's attributes (§5.1).
 * A claim the user has no value for is left out (§5.3.2), never sent as null or an empty string;
 * a `*_verified` flag goes with its value only. `preferred_username` is the username unless one
 * was set; `updated_at` is when the user's record last changed, in seconds.
 */
export function userClaims(user: User, scopes: readonly string[]): Record<string, unknown> {
  const p = user.profile;
  const claims: Record<string, unknown> = {};
  const set = (name: string, value: unknown): void => {
    if (value !== null && value !== undefined && value !== '') claims[name] = value;
  };
  if (scopes.includes('profile')) {
    set('name', p?.name);
    set('given_name', p?.givenName);
    set('family_name', p?.familyName);
    set('preferred_username', p?.preferredUsername ?? user.username);
    set('picture', p?.picture);
    set('locale', p?.locale);
    set('zoneinfo', p?.zoneinfo);
    set('updated_at', seconds(user.updatedAt));
  }
  if (scopes.includes('email') && p?.email) {
    set('email', p.email);
    set('email_verified', p.emailVerified);
  }
  if (scopes.includes('phone') && p?.phoneNumber) {
    set('phone_number', p.phoneNumber);
    set('phone_number_verified', p.phoneNumberVerified);
  }
  if (scopes.includes('address')) set('address', addressClaim(p?.address ?? null));
  return claims;
}

/** Core §5.1.1: the members that have a value; undefined when none has. */
function addressClaim(address: PostalAddress | null): PostalAddress | undefined {
  if (!address) return undefined;
  const members = Object.entries(address).filter(([, value]) => typeof value === 'string' && value !== '');
  return members.length > 0 ? (Object.fromEntries(members) as PostalAddress) : undefined;
}

/** Every claim Gatehouse can give (Discovery §3 `claims_supported`): the ID Token's, then UserInfo's. */
export const CLAIMS_SUPPORTED: readonly string[] = [
  'sub',
  'iss',
  'aud',
  'exp',
  'iat',
  'auth_time',
  'nonce',
  'at_hash',
  'amr',
  'acr',
  'sid',
  'azp',
  'name',
  'given_name',
  'family_name',
  'preferred_username',
  'picture',
  'locale',
  'zoneinfo',
  'updated_at',
  'email',
  'email_verified',
  'phone_number',
  'phone_number_verified',
  'address',
];
