/**
 * The scopes OpenID Connect defines (Core §3.1.2.1 `openid`, §5.4 the claim scopes, §11
 * `offline_access`). They ask for identity, not for an API: an API's scope list never has to
 * define them, and a request naming an API may still carry them. A client must still be allowed
 * each one (its `scopes`), like any other scope.
 */
export const OPENID_SCOPES = ['openid', 'profile', 'email', 'address', 'phone', 'offline_access'] as const;

export type OpenIdScope = (typeof OPENID_SCOPES)[number];

export function isOpenIdScope(scope: string): scope is OpenIdScope {
  return (OPENID_SCOPES as readonly string[]).includes(scope);
}

/** Core §5.4: the claims each scope asks for, given by UserInfo and (without an access token) the ID Token. */
export const SCOPE_CLAIMS: Readonly<Record<'profile' | 'email' | 'address' | 'phone', readonly string[]>> = {
  profile: [
    'name',
    'family_name',
    'given_name',
    'middle_name',
    'nickname',
    'preferred_username',
    'profile',
    'picture',
    'website',
    'gender',
    'birthdate',
    'zoneinfo',
    'locale',
    'updated_at',
  ],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
};
