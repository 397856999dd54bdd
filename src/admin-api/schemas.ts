import { MAX_REDIRECT_URIS, MAX_SCOPES, MAX_SECRET_OVERLAP_SECONDS } from '../domain/model.ts';
/** JSON Schemas (2020-12) of the admin API's bodies: requests are checked against them, responses documented by them. */
export type Schema = Record<string, unknown>;

const str: Schema = { type: 'string' };
const time: Schema = { type: 'string', format: 'date-time' };
const nullableTime: Schema = { type: ['string', 'null'], format: 'date-time' };
const bool: Schema = { type: 'boolean' };
const strings: Schema = { type: 'array', items: str };
const nullableInt: Schema = { type: ['integer', 'null'] };

/** An object with exactly these properties; all required but those in `optional`. */
export function object(properties: Record<string, Schema>, optional: readonly string[] = []): Schema {
  return { type: 'object', properties, required: Object.keys(properties).filter((k) => !optional.includes(k)), additionalProperties: false };
}

/** A request body: every field optional unless listed, nothing else allowed. */
export function body(properties: Record<string, Schema>, required: readonly string[] = []): Schema {
  return { type: 'object', properties, required: [...required], additionalProperties: false };
}

export const page = (item: Schema): Schema => object({ items: { type: 'array', items: item }, next_cursor: { type: ['string', 'null'] } });

export const PROBLEM: Schema = object({ type: str, title: str, status: { type: 'integer' }, detail: str, field: str }, ['field']);

const subjectType: Schema = { enum: ['public', 'pairwise'] };
const refreshTokenPolicy: Schema = { enum: ['client', 'offline_access'] };
const idTokenAlg: Schema = { enum: ['RS256', 'ES256', 'EdDSA'] };
const nullableStr: Schema = { type: ['string', 'null'] };
const securityProfile: Schema = { enum: ['fapi2'] };

export const ENVIRONMENT = object({
  name: str,
  issuer: str,
  default_quota: nullableInt,
  subject_type: subjectType,
  refresh_token_policy: refreshTokenPolicy,
  // RFC 9449 §8: DPoP proofs must carry a server nonce.
  dpop_nonce_required: bool,
  // RFC 9126 §5 and the security profile (FAPI 2.0).
  require_pushed_authorization_requests: bool,
  security_profile: { anyOf: [securityProfile, { type: 'null' }] },
  created_at: time,
});
export const ENVIRONMENT_CREATED = object({ name: str, issuer: str, jwks_uri: str, kid: str });

const CLIENT_FIELDS = {
  client_id: str,
  name: str,
  environment: str,
  issuer: str,
  type: { enum: ['confidential', 'public', 'service_account'] },
  grant_types: strings,
  scopes: strings,
  default_scopes: strings,
  redirect_uris: strings,
  token_format: { enum: ['jwt', 'opaque'] },
  access_token_ttl: nullableInt,
  introspect_any: bool,
  allow_missing_pkce: bool,
  // RFC 7591: `dynamic` when the client registered itself.
  registration: { enum: ['admin', 'dynamic'] },
  quota: nullableInt,
  enabled: bool,
  created_at: time,
  // OpenID Connect metadata (Dynamic Registration §2, RP-Initiated Logout §3.1, Back-Channel Logout §2.2).
  post_logout_redirect_uris: strings,
  backchannel_logout_uri: nullableStr,
  backchannel_logout_session_required: bool,
  logout_revokes_tokens: bool,
  id_token_signed_response_alg: { anyOf: [idTokenAlg, { type: 'null' }] },
  subject_type: { anyOf: [subjectType, { type: 'null' }] },
  sector_identifier_uri: nullableStr,
  // RFC 9449 §5.2.
  dpop_bound_access_tokens: bool,
  // RFC 9126 §6.
  require_pushed_authorization_requests: bool,
  // Usage, where the operation reads it: when the client last got a token, and how many it got.
  last_used_at: nullableTime,
  tokens_today: { type: 'integer' },
  tokens_last_30_days: { type: 'integer' },
};
const USAGE_FIELDS = ['last_used_at', 'tokens_today', 'tokens_last_30_days'];
export const CLIENT = object(CLIENT_FIELDS, USAGE_FIELDS);
/** `client_secret` only on the response that created it, never on a replay. */
export const CLIENT_CREATED = object({ ...CLIENT_FIELDS, client_secret: str }, ['client_secret', ...USAGE_FIELDS]);
export const CLIENT_SECRET = object({ id: str, created_at: time, expires_at: nullableTime, last_used_at: nullableTime }, ['last_used_at']);
/** `client show`: the client with its usage and each current secret's last use. */
export const CLIENT_DETAILS = object({ ...CLIENT_FIELDS, secrets: { type: 'array', items: CLIENT_SECRET } });
export const SECRET_ROTATED = object({ client_id: str, client_secret: str, previous_secrets_expire_at: time }, ['client_secret']);
export const CLIENT_DELETED = object({ client_id: str, environment: str, deleted: { const: true } });

const SERVICE_ACCOUNT_FIELDS = {
  service_account_id: str,
  name: str,
  environment: str,
  issuer: str,
  token_endpoint: str,
  grant_types: strings,
  scopes: strings,
  default_scopes: strings,
  enabled: bool,
  created_at: time,
};
export const SERVICE_ACCOUNT = object(SERVICE_ACCOUNT_FIELDS);
export const SERVICE_ACCOUNT_CREATED = object({ ...SERVICE_ACCOUNT_FIELDS, client_secret: str }, ['client_secret']);

const KEY_FIELDS = {
  kid: str,
  owner: str,
  alg: str,
  status: { enum: ['active', 'revoked'] },
  created_at: time,
  revoked_at: nullableTime,
  last_used_at: nullableTime,
};
export const CLIENT_KEY = object(KEY_FIELDS, ['last_used_at']);
export const CLIENT_KEY_CREATED = object(
  {
    ...KEY_FIELDS,
    private_key_pem: str,
    private_jwk: { type: 'object' },
    public_jwk: { type: 'object' },
    example: object({ assertion: str, expires_at: time, curl: str }),
  },
  ['private_key_pem', 'private_jwk', 'example', 'last_used_at'],
);

const ADDRESS = object({ formatted: str, street_address: str, locality: str, region: str, postal_code: str, country: str }, [
  'formatted',
  'street_address',
  'locality',
  'region',
  'postal_code',
  'country',
]);
/** OpenID Connect Core §5.1 attributes, null when unset. */
const PROFILE_FIELDS = {
  email: nullableStr,
  email_verified: bool,
  name: nullableStr,
  given_name: nullableStr,
  family_name: nullableStr,
  preferred_username: nullableStr,
  picture: nullableStr,
  locale: nullableStr,
  zoneinfo: nullableStr,
  phone_number: nullableStr,
  phone_number_verified: bool,
  address: { anyOf: [ADDRESS, { type: 'null' }] },
};
export const USER = object(
  { user_id: str, username: str, environment: str, enabled: bool, created_at: time, updated_at: time, last_login_at: nullableTime, ...PROFILE_FIELDS },
  ['last_login_at'],
);

export const SIGNING_KEY = object({
  kid: str,
  alg: str,
  status: { enum: ['next', 'active', 'retired', 'removed', 'revoked'] },
  published: bool,
  created_at: time,
  activate_at: time,
  retired_at: nullableTime,
  publish_until: nullableTime,
  revoked_at: nullableTime,
});
export const KEY_REVOCATION = object({
  environment: str,
  kid: str,
  revoked_at: time,
  replaced_by: { type: ['string', 'null'] },
  keys: { type: 'array', items: SIGNING_KEY },
});
export const KEY_ROTATION = object({ environment: str, key_rotation_interval: nullableInt, activation_lead: { type: 'number' } });

const API_SCOPE = object({ name: str, description: str });
export const API = object({
  identifier: str,
  name: str,
  environment: str,
  scopes: { type: 'array', items: API_SCOPE },
  token_format: { enum: ['jwt', 'opaque'] },
  access_token_ttl: nullableInt,
  clients: strings,
  default: bool,
  created_at: time,
  updated_at: time,
});
const PARTY = object({ kind: str, id: str });
export const AUDIT_EVENT = object({
  id: str,
  type: str,
  time,
  environment: { anyOf: [object({ id: str, name: str }), { type: 'null' }] },
  actor: PARTY,
  subject: PARTY,
  outcome: { enum: ['success', 'failure'] },
  details: { type: 'object' },
});
export const API_DELETED = object({ identifier: str, environment: str, deleted: { const: true } });

// Request bodies.
const scopeList: Schema = { type: 'array', items: { type: 'string', maxLength: 200 }, maxItems: MAX_SCOPES };
const uriList: Schema = { type: 'array', items: { type: 'string', maxLength: 2000 }, maxItems: MAX_REDIRECT_URIS };
const grantList: Schema = { type: 'array', items: { type: 'string', maxLength: 100 }, maxItems: 10 };
const name: Schema = { type: 'string', minLength: 1, maxLength: 200 };
const ttl: Schema = { type: ['integer', 'null'], minimum: 1 };
const quota: Schema = { type: ['integer', 'null'], minimum: 1 };
const format: Schema = { enum: ['jwt', 'opaque'] };

export const CREATE_ENVIRONMENT = body({ name: { type: 'string', minLength: 1, maxLength: 64 } }, ['name']);
export const UPDATE_ENVIRONMENT = body({
  default_quota: quota,
  subject_type: subjectType,
  refresh_token_policy: refreshTokenPolicy,
  dpop_nonce_required: bool,
  require_pushed_authorization_requests: bool,
  security_profile: { anyOf: [securityProfile, { type: 'null' }] },
});
const clearable = (maxLength: number): Schema => ({ type: ['string', 'null'], maxLength });
/** Client OpenID Connect metadata of a create or change: null sets a field back to its default. */
const CLIENT_OIDC_BODY = {
  post_logout_redirect_uris: uriList,
  backchannel_logout_uri: clearable(2000),
  backchannel_logout_session_required: bool,
  logout_revokes_tokens: bool,
  id_token_signed_response_alg: { anyOf: [idTokenAlg, { type: 'null' }] },
  subject_type: { anyOf: [subjectType, { type: 'null' }] },
  sector_identifier_uri: clearable(2000),
  // RFC 9126 §6.
  require_pushed_authorization_requests: bool,
};
/** Client DPoP metadata of a create or change (RFC 9449 §5.2). */
const CLIENT_DPOP_BODY = { dpop_bound_access_tokens: bool };
export const CREATE_CLIENT = body(
  {
    name,
    type: { enum: ['confidential', 'public'] },
    grant_types: grantList,
    scopes: scopeList,
    default_scopes: scopeList,
    redirect_uris: uriList,
    token_format: format,
    access_token_ttl: ttl,
    introspect_any: bool,
    allow_missing_pkce: bool,
    quota,
    ...CLIENT_OIDC_BODY,
    ...CLIENT_DPOP_BODY,
  },
  ['name'],
);
export const UPDATE_CLIENT = body({
  name,
  grant_types: grantList,
  scopes: scopeList,
  default_scopes: scopeList,
  redirect_uris: uriList,
  token_format: format,
  access_token_ttl: ttl,
  introspect_any: bool,
  allow_missing_pkce: bool,
  quota,
  enabled: bool,
  ...CLIENT_OIDC_BODY,
  ...CLIENT_DPOP_BODY,
});
export const ROTATE_SECRET = body({ overlap_seconds: { type: 'integer', minimum: 0, maximum: MAX_SECRET_OVERLAP_SECONDS } });
export const CREATE_SERVICE_ACCOUNT = body({ name, scopes: scopeList, default_scopes: scopeList, with_secret: bool }, ['name']);
export const UPDATE_ENABLED = body({ enabled: bool });
export const CREATE_KEY = body({ alg: { enum: ['ES256', 'EdDSA', 'RS256'] } });
const password: Schema = { type: 'string', minLength: 1, maxLength: 1024 };
/** Profile attributes of a create or change: null (or an empty string) clears one; the service checks each value. */
const PROFILE_BODY = {
  email: clearable(254),
  email_verified: bool,
  name: clearable(200),
  given_name: clearable(200),
  family_name: clearable(200),
  preferred_username: clearable(200),
  picture: clearable(2000),
  locale: clearable(35),
  zoneinfo: clearable(64),
  phone_number: clearable(32),
  phone_number_verified: bool,
  address: {
    anyOf: [
      body({
        formatted: clearable(500),
        street_address: clearable(500),
        locality: clearable(500),
        region: clearable(500),
        postal_code: clearable(500),
        country: clearable(500),
      }),
      { type: 'null' },
    ],
  },
};
export const CREATE_USER = body({ username: { type: 'string', minLength: 1, maxLength: 200 }, password, ...PROFILE_BODY }, ['username', 'password']);
export const UPDATE_USER = body({ enabled: bool, ...PROFILE_BODY });
export const SET_PASSWORD = body({ password }, ['password']);
export const ROTATE_KEYS = body({ now: bool, alg: { enum: ['RS256', 'ES256', 'EdDSA'] } });
export const SET_ROTATION = body({ interval_seconds: { type: ['integer', 'null'], minimum: 1 } }, ['interval_seconds']);
const apiScopes: Schema = {
  type: 'array',
  items: body({ name: { type: 'string', maxLength: 200 }, description: { type: 'string', maxLength: 500 } }, ['name']),
  maxItems: MAX_SCOPES,
};
const apiFields = {
  name,
  scopes: apiScopes,
  token_format: format,
  access_token_ttl: ttl,
  clients: { type: 'array', items: str, maxItems: 1000 },
  default: bool,
};
export const CREATE_API = body({ identifier: { type: 'string', minLength: 1, maxLength: 2000 }, ...apiFields }, ['identifier', 'name']);
export const UPDATE_API = body(apiFields);
