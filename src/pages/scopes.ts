import { type MessageKey, type Messages, messagesFor } from '../i18n/catalogue.ts';

/**
 * Scopes in plain words for the consent page. The raw scope name is shown beside the description,
 * so a description only has to be a fair reading of the name, not an authoritative one.
 */

// The OpenID Connect scopes (Core §5.4 and §11): what the app learns about the user, and
// whether it keeps access while the user is away.
const KNOWN_SCOPES: Readonly<Record<string, MessageKey>> = {
  openid: 'scope.openid',
  profile: 'scope.profile',
  email: 'scope.email',
  address: 'scope.address',
  phone: 'scope.phone',
  offline_access: 'scope.offline_access',
};

/** Each verb's sentence about a thing (`{what}`, the remaining words of the scope) and without one. */
const VERBS: Readonly<Record<string, readonly [MessageKey, MessageKey]>> = {
  read: ['scope.read', 'scope.readAny'],
  view: ['scope.view', 'scope.viewAny'],
  list: ['scope.list', 'scope.listAny'],
  write: ['scope.write', 'scope.writeAny'],
  create: ['scope.create', 'scope.createAny'],
  update: ['scope.update', 'scope.updateAny'],
  delete: ['scope.delete', 'scope.deleteAny'],
  manage: ['scope.manage', 'scope.manageAny'],
  admin: ['scope.admin', 'scope.adminAny'],
  sign: ['scope.sign', 'scope.signAny'],
  send: ['scope.send', 'scope.sendAny'],
};

// Spellings that mean one of the verbs above.
const VERB_ALIASES: Readonly<Record<string, string>> = { readonly: 'read', get: 'read', edit: 'update', remove: 'delete', administer: 'admin' };

const verbOf = (word: string): string => {
  const lower = word.toLowerCase();
  return Object.hasOwn(VERB_ALIASES, lower) ? (VERB_ALIASES[lower] as string) : lower;
};
const ENGLISH = messagesFor('en');
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
export function describeScope(scope: string, messages: Messages = ENGLISH): string {
  if (Object.hasOwn(KNOWN_SCOPES, scope)) return messages.text(KNOWN_SCOPES[scope] as MessageKey);
  const parts = withoutOrigin(scope)
    .split(/[:./_\-\s]+/)
    .filter((part) => part !== '');
  // Resource-first names (`invoices:read`) are the common shape; verb-first (`read:invoices`) next.
  const last = parts.length - 1;
  const verbIndex = isVerb(parts[last] ?? '') ? last : parts.findIndex(isVerb);
  if (verbIndex === -1) return parts.length > 0 ? messages.text('scope.access', { what: parts.join(' ') }) : messages.text('scope.accessAny');
  const verb = verbOf(parts[verbIndex] as string);
  const rest = parts.filter((_, index) => index !== verbIndex);
  // `read_only` splits into "read" and "only"; the second word is not a thing the user owns.
  if (verb === 'read' && rest[verbIndex]?.toLowerCase() === 'only') rest.splice(verbIndex, 1);
  const [withThing, withoutThing] = VERBS[verb] as readonly [MessageKey, MessageKey];
  return rest.length > 0 ? messages.text(withThing, { what: rest.join(' ') }) : messages.text(withoutThing);
}
