/**
 * Scopes in plain words for the consent page. The raw scope name is shown beside the description,
 * so a description only has to be a fair reading of the name, not an authoritative one.
 */

// The OpenID Connect scopes (Core §5.4 and §11): what the app learns about the user, and
// whether it keeps access while the user is away.
const KNOWN_SCOPES: Readonly<Record<string, string>> = {
  openid: 'Confirm your identity',
  profile: 'Your name and profile',
  email: 'Your email address',
  address: 'Your postal address',
  phone: 'Your phone number',
  offline_access: 'Stay signed in (offline access): keep access when you are not using the app',
};

/** Each verb as a sentence about `what` (the remaining words of the scope, or undefined when none). */
const VERBS: Readonly<Record<string, (what: string | undefined) => string>> = {
  read: (what) => `Read your ${what ?? 'account'}`,
  view: (what) => `View your ${what ?? 'account'}`,
  list: (what) => (what ? `See the list of your ${what}` : 'See lists of things in your account'),
  write: (what) => `Create and change your ${what ?? 'account'}`,
  create: (what) => (what ? `Create new ${what}` : 'Create things in your account'),
  update: (what) => `Change your ${what ?? 'account'}`,
  delete: (what) => (what ? `Delete your ${what}` : 'Delete things in your account'),
  manage: (what) => `Manage your ${what ?? 'account'}`,
  admin: (what) => `Administer your ${what ?? 'account'}`,
  sign: (what) => (what ? `Sign ${what} on your behalf` : 'Sign on your behalf'),
  send: (what) => (what ? `Send ${what} on your behalf` : 'Send on your behalf'),
};

// Spellings that mean one of the verbs above.
const VERB_ALIASES: Readonly<Record<string, string>> = { readonly: 'read', get: 'read', edit: 'update', remove: 'delete', administer: 'admin' };

const verbOf = (word: string): string => {
  const lower = word.toLowerCase();
  return Object.hasOwn(VERB_ALIASES, lower) ? (VERB_ALIASES[lower] as string) : lower;
};
const isVerb = (word: string): boolean => Object.hasOwn(VERBS, verbOf(word));

/** Drops the scheme and host of URL-shaped scopes (`https://api.example.com/invoices.read`), which say nothing to a user. */
function withoutOrigin(scope: string): string {
  const match = /^[a-z][a-z0-9+.-]*:\/\/[^/]*(.*)$/i.exec(scope);
  return match ? (match[1] ?? '') : scope;
}

/**
 * A scope in plain words, e.g. `invoices:read` → "Read your invoices", `documents.write` →
 * "Create and change your documents", anything unrecognised → "Access your <words>". Never empty.
 * Returns plain text: the caller escapes it.
 */
export function describeScope(scope: string): string {
  if (Object.hasOwn(KNOWN_SCOPES, scope)) return KNOWN_SCOPES[scope] as string;
  const parts = withoutOrigin(scope)
    .split(/[:./_\-\s]+/)
    .filter((part) => part !== '');
  // Resource-first names (`invoices:read`) are the common shape; verb-first (`read:invoices`) next.
  const last = parts.length - 1;
  const verbIndex = isVerb(parts[last] ?? '') ? last : parts.findIndex(isVerb);
  if (verbIndex === -1) return `Access your ${parts.length > 0 ? parts.join(' ') : 'account'}`;
  const verb = verbOf(parts[verbIndex] as string);
  const rest = parts.filter((_, index) => index !== verbIndex);
  // `read_only` splits into "read" and "only"; the second word is not a thing the user owns.
  if (verb === 'read' && rest[verbIndex]?.toLowerCase() === 'only') rest.splice(verbIndex, 1);
  const render = VERBS[verb] as (what: string | undefined) => string;
  return render(rest.length > 0 ? rest.join(' ') : undefined);
}
