import type { MessageKey } from '../i18n/catalogue.ts';
import { pageBody, strong } from './authorization-pages.ts';
import { escapeHtml, renderPage } from './layout.ts';
import type { PageContext } from './page-context.ts';
import { PASSKEY_SCRIPT } from './passkey-script.ts';

/** What a page needs to run one WebAuthn ceremony. */
export interface PasskeyFragmentInput {
  /** The ceremony's options: `{ mode, publicKey }`, with `conditional` for the login page's autofill. */
  options: object;
  action: string;
  csrfToken: string;
  /** The held request, when the ceremony is part of a sign-in. */
  requestId?: string;
  purpose: 'sign_in' | 'second_factor' | 'register';
  /** The button's text. */
  label: Extract<MessageKey, `passkey.${string}`>;
  /** The language of the button and of the message the script shows when the ceremony fails. */
  page: PageContext;
}

/**
 * The passkey form, its options and the script that runs them. The options are JSON in a data
 * block (never executed); `<` is escaped so no value can close the block. The script's only text,
 * shown when the authenticator fails or the user cancels, comes in the form's `data-failed` so the
 * script (allowed by its hash) is the same for every language.
 */
export function passkeyFragment(p: PasskeyFragmentInput): string {
  const json = JSON.stringify(p.options).replace(/</g, '\\u003c');
  return [
    `<script type="application/json" id="passkey-options">${json}</script>`,
    `<form method="post" id="passkey-form" action="${escapeHtml(p.action)}" data-failed="${p.page.messages.html('passkey.failed')}">`,
    `<input type="hidden" name="csrf_token" value="${escapeHtml(p.csrfToken)}">`,
    p.requestId === undefined ? '' : `<input type="hidden" name="request" value="${escapeHtml(p.requestId)}">`,
    `<input type="hidden" name="purpose" value="${p.purpose}">`,
    '<input type="hidden" name="response" value="">',
    '<div class="actions">',
    `<button type="button" id="passkey-button" class="button secondary">${p.page.messages.html(p.label)}</button>`,
    '</div>',
    '<p class="note" id="passkey-status" role="status"></p>',
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
  message?: MessageKey;
  page: PageContext;
}): string {
  const m = p.page.messages;
  const items = p.passkeys.map((k) => {
    const name = escapeHtml(k.name);
    const used = k.lastUsedAt === null ? m.html('passkey.neverUsed') : day(k.lastUsedAt);
    return [
      '<li>',
      `<span class="scope-text">${name}${k.backedUp ? ` (${m.html('passkey.synced')})` : ''}</span>`,
      ` <span class="note">${m.html('passkey.dates', { created: day(k.createdAt), used })}</span>`,
      `<form method="post" action="${escapeHtml(p.removeAction)}">`,
      `<input type="hidden" name="csrf_token" value="${escapeHtml(p.csrfToken)}">`,
      `<input type="hidden" name="credential_id" value="${escapeHtml(k.credentialId)}">`,
      `<button type="submit" class="button secondary" aria-label="${m.html('passkey.removeNamed', { name })}">${m.html('passkey.remove')}</button>`,
      '</form>',
      '</li>',
    ].join('');
  });
  const content = [
    `<h1>${m.html('passkey.accountTitle')}</h1>`,
    `<p class="lead">${m.html('passkey.accountLead')}</p>`,
    `<p>${m.html('consent.signedInAs', { user: strong(p.username) })}</p>`,
    p.message ? `<div class="alert" role="alert">${m.html(p.message)}</div>` : '',
    items.length === 0 ? `<p id="passkey-list">${m.html('passkey.none')}</p>` : `<ul class="scopes" id="passkey-list">${items.join('')}</ul>`,
    p.register ?? '',
  ]
    .filter((l) => l !== '')
    .join('\n');
  return renderPage({ title: p.page.messages.text('passkey.accountTitle'), body: pageBody(content, p.page, p.environmentName), page: p.page });
}

/** The account page of a browser without a suitable session. */
export function renderPasskeyAccountRefusal(p: { environmentName: string; message: MessageKey; page: PageContext }): string {
  const m = p.page.messages;
  const content = [`<h1>${m.html('passkey.accountTitle')}</h1>`, `<p class="alert">${m.html(p.message)}</p>`].join('\n');
  return renderPage({ title: p.page.messages.text('passkey.accountTitle'), body: pageBody(content, p.page, p.environmentName), page: p.page });
}
