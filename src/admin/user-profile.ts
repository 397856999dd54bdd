import type { PostalAddress, UserProfile } from '../domain/model.ts';
import { changedProfile, EMPTY_PROFILE, type ProfileChanges, ProfileError } from '../domain/user-profile.ts';
import { AdminError } from './admin-error.ts';

export { ADDRESS_FIELDS, type ProfileChanges } from '../domain/user-profile.ts';

/**
 * A user's OpenID Connect Core §5.1 attributes as every admin surface shows them, under their
 * claim names: null when unset (false for the `_verified` flags).
 */
export interface ProfileView {
  email: string | null;
  email_verified: boolean;
  name: string | null;
  given_name: string | null;
  family_name: string | null;
  preferred_username: string | null;
  picture: string | null;
  locale: string | null;
  zoneinfo: string | null;
  phone_number: string | null;
  phone_number_verified: boolean;
  address: PostalAddress | null;
}

/** The claim name of each profile field, in the order the surfaces list them. */
export const PROFILE_CLAIMS: Record<keyof UserProfile, keyof ProfileView> = {
  email: 'email',
  emailVerified: 'email_verified',
  name: 'name',
  givenName: 'given_name',
  familyName: 'family_name',
  preferredUsername: 'preferred_username',
  picture: 'picture',
  locale: 'locale',
  zoneinfo: 'zoneinfo',
  phoneNumber: 'phone_number',
  phoneNumberVerified: 'phone_number_verified',
  address: 'address',
};

export function profileView(profile: UserProfile | undefined): ProfileView {
  const p = profile ?? EMPTY_PROFILE;
  return {
    email: p.email,
    email_verified: p.emailVerified,
    name: p.name,
    given_name: p.givenName,
    family_name: p.familyName,
    preferred_username: p.preferredUsername,
    picture: p.picture,
    locale: p.locale,
    zoneinfo: p.zoneinfo,
    phone_number: p.phoneNumber,
    phone_number_verified: p.phoneNumberVerified,
    address: p.address,
  };
}

/** A view's claims back as profile changes (every field given). */
export function profileFromView(view: Partial<ProfileView>): ProfileChanges {
  const changes: ProfileChanges = {};
  for (const [field, claim] of Object.entries(PROFILE_CLAIMS) as [keyof UserProfile, keyof ProfileView][]) {
    if (view[claim] !== undefined) (changes as Record<string, unknown>)[field] = view[claim];
  }
  return changes;
}

/** The names of the fields a change gives (the audit records these, never the values: they are personal data). */
export const givenProfileFields = (changes: ProfileChanges): (keyof ProfileView)[] =>
  (Object.keys(PROFILE_CLAIMS) as (keyof UserProfile)[]).filter((k) => changes[k] !== undefined).map((k) => PROFILE_CLAIMS[k]);

/** `changedProfile`, its refusals as the admin services' `invalid_argument`. */
export function checkedProfile(current: UserProfile | undefined, changes: ProfileChanges): UserProfile | undefined {
  try {
    return changedProfile(current, changes);
  } catch (error) {
    if (error instanceof ProfileError) throw new AdminError('invalid_argument', error.message);
    throw error;
  }
}
