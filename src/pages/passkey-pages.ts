import { pageBody } from './authorization-pages.ts';
import { escapeHtml, renderPage } from './layout.ts';
import type { PageContext } from './page-context.ts';
import { PASSKEY_SCRIPT } from './passkey-script.ts';

/** Every user-facing string of the passkey parts of the pages, in one place for the message catalogues. */
export const PASSKEY_MESSAGES = {
  signInButton: 'Sign in with a passkey',
  secondFactorButton: 'Use a passkey',
  accountTitle: 'Your passkeys',
  accountLead: 'A passkey signs you in with your device’s screen lock, without a password.',
  none: 'You have no passkeys yet.',
  addButton: 'Add a passkey',
  removeButton: 'Remove',
  created: 'Added',
  lastUsed: 'Last used',
  never: 'never',
  synced: 'synced',
  refused: 'The passkey was not accepted. Try again.',
  signInFirst: 'Sign in from your application first, then come back to this page.',
  stepUpFirst: 'Confirm your second factor first: sign in again from your application.',
} as const;

/** What a page needs to run one WebAuthn ceremony. */
export interface PasskeyFragmentInput {
  /** The ceremony's options: `{ mode, publicKey }`, with `conditional` for the login page's autofill. */
  options: object;
  action: string;
  csrfToken: string;
  /** The held request, when the ceremony is part of a sign-in. */
  requestId?: string;
  purpose: 'sign_in' | 'second_factor' | 'register';
  buttonLabel: string;
}

/**
 * The passkey form, its options and the script that runs them. The options are JSON in a data
 * block (never executed); `<` is escaped so no value can close the block.
 */
export function passkeyFragment(p: PasskeyFragmentInput): string {
  const json = JSON.stringify(p.options).replace(/</g, '\\u003c');
  return [
    `<script type="application/json" id="passkey-options">${json}</script>`,
    `<form method="post" id="passkey-form" action="${escapeHtml(p.action)}">`,
    `<input type="hidden" name="csrf_token" value="${escapeHtml(p.csrfToken)}">`,
    p.requestId === undefined ? '' : `<input type="hidden" name="request" value="${escapeHtml(p.requestId)}">`,
    `<input type="hidden" name="purpose" value="${p.purpose}">`,
    '<input type="hidden" name="response" value="">',
    '<div class="actions">',
    `<button type="button" id="passkey-button" class="button secondary">${escapeHtml(p.buttonLabel)}</button>`,
    '</div>',
    '</form>',
    `<script>${PASSKEY_SCRIPT}</script>`,
  ]
    .filter((l) => l !== '')
    .join('\n');
}

export interface PasskeyListItem {
  credentialId: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
  backedUp: boolean;
}

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** The account page: the user's passkeys, each with a remove button, and the ceremony that adds one. */
export function renderPasskeyAccountPage(p: {
  environmentName: string;
  username: string;
  passkeys: readonly PasskeyListItem[];
  removeAction: string;
  csrfToken: string;
  register?: string;
  message?: string;
  page: PageContext;
}): string {
  const items = p.passkeys.map((k) =>
    [
      '<li>',
      `<span class="scope-text">${escapeHtml(k.name)}${k.backedUp ? ` (${PASSKEY_MESSAGES.synced})` : ''}</span>`,
      ` <code>${PASSKEY_MESSAGES.created} ${day(k.createdAt)} · ${PASSKEY_MESSAGES.lastUsed} ${k.lastUsedAt === null ? PASSKEY_MESSAGES.never : day(k.lastUsedAt)}</code>`,
      `<form method="post" action="${escapeHtml(p.removeAction)}">`,
      `<input type="hidden" name="csrf_token" value="${escapeHtml(p.csrfToken)}">`,
      `<input type="hidden" name="credential_id" value="${escapeHtml(k.credentialId)}">`,
      `<button type="submit" class="button secondary" aria-label="${PASSKEY_MESSAGES.removeButton} ${escapeHtml(k.name)}">${PASSKEY_MESSAGES.removeButton}</button>`,
      '</form>',
      '</li>',
    ].join(''),
  );
  const content = [
    `<h1>${PASSKEY_MESSAGES.accountTitle}</h1>`,
    `<p class="lead">${PASSKEY_MESSAGES.accountLead} <strong>${escapeHtml(p.username)}</strong></p>`,
    p.message ? `<div class="alert" role="alert">${escapeHtml(p.message)}</div>` : '',
    items.length === 0 ? `<p id="passkey-list">${PASSKEY_MESSAGES.none}</p>` : `<ul class="scopes" id="passkey-list">${items.join('')}</ul>`,
    p.register ?? '',
  ]
    .filter((l) => l !== '')
    .join('\n');
  return renderPage({ title: PASSKEY_MESSAGES.accountTitle, body: pageBody(content, p.page, p.environmentName), page: p.page });
}

/** The account page of a browser without a suitable session. */
export function renderPasskeyAccountRefusal(p: { environmentName: string; message: string; page: PageContext }): string {
  const content = [`<h1>${PASSKEY_MESSAGES.accountTitle}</h1>`, `<p class="alert">${escapeHtml(p.message)}</p>`].join('\n');
  return renderPage({ title: PASSKEY_MESSAGES.accountTitle, body: pageBody(content, p.page, p.environmentName), page: p.page });
}
