/** Longest API identifier accepted, so a `resource` parameter cannot be used to send megabytes to the database. */
export const MAX_RESOURCE_LENGTH = 2000;

// RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), followed by ":".
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
// Printable ASCII without spaces: an identifier is compared character for character, never normalised.
const URI_CHARACTERS = /^[\x21-\x7E]+$/;

/**
 * RFC 8707 §2: a resource is an absolute URI (it has a scheme) and has no fragment component.
 * The identifier is compared as a string, so it is checked but never rewritten.
 */
export function isResourceIdentifier(value: string): boolean {
  if (value.length === 0 || value.length > MAX_RESOURCE_LENGTH) return false;
  if (!SCHEME.test(value) || !URI_CHARACTERS.test(value) || value.includes('#')) return false;
  return URL.canParse(value);
}
