/**
 * The rules of a user's OpenID Connect Core §5.1 attributes, shared by every path that sets them
 * (the admin services and imports): what each value may be, and how a change applies.
 */
import type { PostalAddress, UserProfile } from './model.ts';

/** A value refused, with a message naming the attribute by its claim name. */
export class ProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProfileError';
  }
}

/** What a change may set; absent: kept, null (or an empty string): cleared. */
export type ProfileChanges = { [K in keyof UserProfile]?: UserProfile[K] };

/** Core §5.1.1 members of `address`. */
export const ADDRESS_FIELDS = ['formatted', 'street_address', 'locality', 'region', 'postal_code', 'country'] as const;

export const EMPTY_PROFILE: UserProfile = {
  email: null,
  emailVerified: false,
  name: null,
  givenName: null,
  familyName: null,
  preferredUsername: null,
  picture: null,
  locale: null,
  zoneinfo: null,
  phoneNumber: null,
  phoneNumberVerified: false,
  address: null,
};

const MAX_TEXT = 200;
const MAX_URL = 2000;
const MAX_ADDRESS_PART = 500;

/**
 * `current` with `changes` applied and checked; undefined when nothing is left set. A new email
 * or phone number is unverified unless the change says otherwise: the old one's verification
 * says nothing about it.
 */
export function changedProfile(current: UserProfile | undefined, changes: ProfileChanges): UserProfile | undefined {
  const base = current ?? EMPTY_PROFILE;
  const email = changes.email === undefined ? base.email : validEmail(changes.email);
  const phoneNumber = changes.phoneNumber === undefined ? base.phoneNumber : validPhone(changes.phoneNumber);
  const next: UserProfile = {
    email,
    emailVerified: flag(changes.emailVerified ?? (email === base.email ? base.emailVerified : false), 'email_verified'),
    name: changes.name === undefined ? base.name : validText(changes.name, 'name'),
    givenName: changes.givenName === undefined ? base.givenName : validText(changes.givenName, 'given_name'),
    familyName: changes.familyName === undefined ? base.familyName : validText(changes.familyName, 'family_name'),
    preferredUsername: changes.preferredUsername === undefined ? base.preferredUsername : validText(changes.preferredUsername, 'preferred_username'),
    picture: changes.picture === undefined ? base.picture : validPicture(changes.picture),
    locale: changes.locale === undefined ? base.locale : validLocale(changes.locale),
    zoneinfo: changes.zoneinfo === undefined ? base.zoneinfo : validZone(changes.zoneinfo),
    phoneNumber,
    phoneNumberVerified: flag(changes.phoneNumberVerified ?? (phoneNumber === base.phoneNumber ? base.phoneNumberVerified : false), 'phone_number_verified'),
    address: changes.address === undefined ? base.address : validAddress(changes.address),
  };
  // Core §5.1: a verification flag speaks of an address or number; without one it claims nothing.
  if (next.emailVerified && next.email === null) throw new ProfileError('email_verified needs an email');
  if (next.phoneNumberVerified && next.phoneNumber === null) throw new ProfileError('phone_number_verified needs a phone_number');
  const empty = Object.values(next).every((value) => value === null || value === false);
  return empty ? undefined : next;
}

/** Null, or a trimmed non-empty string (empty clears). */
function present(value: unknown, claim: string): string | null {
  if (value === null) return null;
  if (typeof value !== 'string') throw new ProfileError(`${claim} must be a string or null`);
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed.normalize('NFC');
}

function flag(value: unknown, claim: string): boolean {
  if (typeof value !== 'boolean') throw new ProfileError(`${claim} must be true or false`);
  return value;
}

// Control and format characters (bidi overrides among them) are refused in every attribute: they
// end up in ID Tokens and on pages. The zero-width (non-)joiners are letters' business in some
// scripts (Persian names, emoji sequences), so they stay.
const CONTROL = /\p{Cc}|(?![\u200C\u200D])\p{Cf}/u;

function validText(value: unknown, claim: string, max = MAX_TEXT): string | null {
  const text = present(value, claim);
  if (text === null) return null;
  if (text.length > max) throw new ProfileError(`${claim} must be at most ${max} characters`);
  if (CONTROL.test(text)) throw new ProfileError(`${claim} must not contain control characters`);
  return text;
}

// The WHATWG HTML "valid e-mail address" syntax: what a browser's email field accepts.
const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function validEmail(value: unknown): string | null {
  const email = present(value, 'email');
  if (email === null) return null;
  // RFC 5321 §4.5.3.1: 64 octets of local part, 254 in all (a forward path's 256 minus its brackets).
  if (email.length > 254 || !EMAIL.test(email) || (email.split('@')[0] ?? '').length > 64) {
    // The address is personal data: the message does not repeat it.
    throw new ProfileError('email is not a valid address (as an email field accepts it: local-part@domain)');
  }
  return email;
}

// E.164: a + and up to 15 digits, the first not 0; Core §5.1 allows an RFC 3966 extension.
const PHONE = /^\+[1-9][0-9]{1,14}(?:;ext=[0-9]{1,10})?$/;

function validPhone(value: unknown): string | null {
  const phone = present(value, 'phone_number');
  if (phone === null) return null;
  if (!PHONE.test(phone)) throw new ProfileError('phone_number must be in E.164 form: + and up to 15 digits, e.g. +14155550123');
  return phone;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

function validPicture(value: unknown): string | null {
  const picture = present(value, 'picture');
  if (picture === null) return null;
  let url: URL;
  try {
    url = new URL(picture);
  } catch {
    throw new ProfileError('picture must be an absolute https URL');
  }
  if (picture.length > MAX_URL) throw new ProfileError(`picture must be at most ${MAX_URL} characters`);
  // Shown to relying parties and on pages: never mixed content, never credentials in the URL.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    throw new ProfileError('picture must be an https URL (http only on loopback)');
  }
  if (url.username || url.password) throw new ProfileError('picture must not carry credentials');
  return url.href;
}

/** Core §5.1: a BCP 47 language tag with hyphens (`en-US`); kept in its canonical case. */
function validLocale(value: unknown): string | null {
  const locale = present(value, 'locale');
  if (locale === null) return null;
  if (locale.includes('_')) throw new ProfileError(`locale is a BCP 47 tag with hyphens, e.g. ${locale.replace(/_/g, '-')}`);
  try {
    const [canonical] = Intl.getCanonicalLocales(locale);
    if (canonical && locale.length <= 35) return canonical;
  } catch {}
  throw new ProfileError(`locale is not a BCP 47 language tag (e.g. en-US): ${JSON.stringify(locale.slice(0, 40))}`);
}

let zones: Set<string> | undefined;

/** Core §5.1: a zone of the IANA time zone database (`Europe/Paris`), as this runtime knows it. */
function validZone(value: unknown): string | null {
  const zone = present(value, 'zoneinfo');
  if (zone === null) return null;
  zones ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (zones.has(zone)) return zone;
  // Links such as UTC or Asia/Calcutta are not in the canonical list but are IANA names; offsets are not.
  if (/^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/.test(zone) && zone.length <= 64) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: zone });
      return zone;
    } catch {}
  }
  throw new ProfileError(`zoneinfo is not an IANA time zone (e.g. Europe/Paris): ${JSON.stringify(zone.slice(0, 40))}`);
}

function validAddress(value: unknown): PostalAddress | null {
  if (value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw new ProfileError('address must be an object or null');
  const address: PostalAddress = {};
  for (const [key, part] of Object.entries(value)) {
    if (!(ADDRESS_FIELDS as readonly string[]).includes(key)) {
      throw new ProfileError(`address has no member ${key} (known: ${ADDRESS_FIELDS.join(', ')})`);
    }
    const text = present(part, `address.${key}`);
    if (text === null) continue;
    if (text.length > MAX_ADDRESS_PART) throw new ProfileError(`address.${key} must be at most ${MAX_ADDRESS_PART} characters`);
    // Core §5.1.1: formatted and street_address may span lines; nothing else controls the output.
    const multiline = key === 'formatted' || key === 'street_address';
    if (CONTROL.test(multiline ? text.replace(/\r?\n/g, '') : text)) {
      throw new ProfileError(`address.${key} must not contain control characters${multiline ? ' other than line breaks' : ''}`);
    }
    address[key as keyof PostalAddress] = text;
  }
  return Object.keys(address).length > 0 ? address : null;
}
