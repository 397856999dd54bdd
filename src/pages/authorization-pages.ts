import type { MessageKey, MessageParams } from '../i18n/catalogue.ts';
import { escapeHtml, renderPage } from './layout.ts';
import type { PageContext } from './page-context.ts';
import { describeScope } from './scopes.ts';

/*
 * The pages of the authorization code flow. Each function returns a whole HTML document; the
 * route sends it with pageSecurityHeaders(). Every value that comes from a request, a client
 * registration or a user record passes through escapeHtml exactly once, here; every text comes
 * from the page's message catalogue.
 */

// The gate mark beside the product name. Inline SVG with presentation attributes only: the
// Content-Security-Policy blocks style attributes, and inline <svg> needs no img-src.
const MARK = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="currentColor" d="M3 21V7l9-5 9 5v14h-6v-7a3 3 0 0 0-6 0v7z"/></svg>';

function brandLine(page: PageContext): string {
  const { brand, messages } = page;
  const product = escapeHtml(brand.productName);
  if (brand.logoUrl === undefined) return `<div class="brand">${MARK}<span>${product}</span></div>`;
  const alt = messages.html('page.logoAlt', { product });
  return `<div class="brand"><img src="${escapeHtml(brand.logoUrl)}" alt="${alt}"><span>${product}</span></div>`;
}

/** A page's card with the brand, and its footer naming the environment and the help link. */
export function pageBody(content: string, page: PageContext, environmentName?: string): string {
  const product = escapeHtml(page.brand.productName);
  const named = environmentName === undefined ? product : `${product} · ${escapeHtml(environmentName)}`;
  const support = page.brand.supportUrl === undefined ? '' : ` · <a href="${escapeHtml(page.brand.supportUrl)}">${page.messages.html('page.support')}</a>`;
  return `\n<main class="card">\n${brandLine(page)}\n${content}\n</main>\n<footer class="footer">${named}${support}</footer>\n`;
}

/** The hidden fields that tie a form post to the browser session and to the pending request. */
export function hiddenFields(csrfToken: string, requestId: string): string {
  return [
    `<input type="hidden" name="csrf_token" value="${escapeHtml(csrfToken)}">`,
    `<input type="hidden" name="request" value="${escapeHtml(requestId)}">`,
  ].join('\n');
}

/** `text` escaped inside <strong>, for a placeholder of `Messages.html`. */
export const strong = (text: string): string => `<strong>${escapeHtml(text)}</strong>`;

/** A message chosen by the route (an error, say), with its placeholders as plain text. */
export interface PageMessage {
  key: MessageKey;
  params?: MessageParams;
}

export interface LoginPageInput {
  page: PageContext;
  environmentName: string;
  clientName: string;
  /** Absolute or relative URL the form posts to. */
  action: string;
  csrfToken: string;
  requestId: string;
  /** Prefills the username field: after a failed attempt, or from OpenID Connect `login_hint`. */
  username?: string;
  /** A message for the user, shown in an alert (e.g. `login.errorInvalid`). */
  error?: PageMessage;
}

/**
 * The sign-in page. Posts `username`, `password`, `csrf_token` and `request` to `action` as
 * application/x-www-form-urlencoded.
 */
export function renderLoginPage(p: LoginPageInput): string {
  const m = p.page.messages;
  const prefilled = p.username !== undefined && p.username !== '';
  // After a failed attempt the username is usually right: put the cursor where the fix goes.
  const usernameFocus = prefilled ? '' : ' autofocus';
  const passwordFocus = prefilled ? ' autofocus' : '';
  const invalid = p.error ? ' aria-invalid="true" aria-describedby="login-error"' : '';
  const content = [
    `<h1>${m.html('login.title')}</h1>`,
    `<p class="lead">${m.html('login.lead', { client: strong(p.clientName) })}</p>`,
    p.error ? `<div class="alert" id="login-error" role="alert">${m.html(p.error.key, escapedParams(p.error.params))}</div>` : '',
    `<form method="post" action="${escapeHtml(p.action)}">`,
    hiddenFields(p.csrfToken, p.requestId),
    '<div class="field">',
    `<label for="username">${m.html('login.username')}</label>`,
    `<input type="text" id="username" name="username" value="${escapeHtml(p.username ?? '')}" autocomplete="username" ` +
      `autocapitalize="none" autocorrect="off" spellcheck="false" dir="auto" required${usernameFocus}${invalid}>`,
    '</div>',
    '<div class="field">',
    `<label for="password">${m.html('login.password')}</label>`,
    `<input type="password" id="password" name="password" autocomplete="current-password" required${passwordFocus}${invalid}>`,
    '</div>',
    '<div class="actions">',
    `<button type="submit" class="button primary">${m.html('login.submit')}</button>`,
    '</div>',
    '</form>',
  ]
    .filter((line) => line !== '')
    .join('\n');
  return renderPage({ title: m.text('login.title'), body: pageBody(content, p.page, p.environmentName), page: p.page });
}

/** Plain-text placeholder values escaped for `Messages.html`. */
export function escapedParams(params: MessageParams | undefined): MessageParams | undefined {
  if (params === undefined) return undefined;
  return Object.fromEntries(Object.entries(params).map(([name, value]) => [name, escapeHtml(String(value))]));
}

export interface ConsentPageInput {
  page: PageContext;
  environmentName: string;
  clientName: string;
  /** Absolute or relative URL the form posts to. */
  action: string;
  csrfToken: string;
  requestId: string;
  /** The scopes the client asked for; an empty list means the client's basic access. */
  scopes: string[];
  /** Descriptions the requested APIs give their scopes (RFC 8707), over the words guessed from a scope's name. */
  scopeDescriptions?: Readonly<Record<string, string>>;
  /** The signed-in user, so someone on a shared computer notices the wrong account. */
  username: string;
  /** Origin of the redirect_uri, so the user sees where the answer goes before giving it. */
  redirectOrigin: string;
  /** Client ID Metadata Documents: the host of the client's metadata URL (the client named itself; nobody registered it). */
  clientHost?: string;
}

export function scopeList(page: PageContext, scopes: readonly string[], registered: Readonly<Record<string, string>> = {}): string {
  const m = page.messages;
  if (scopes.length === 0) return `<ul class="scopes">\n<li><span class="scope-text">${m.html('scope.basic')}</span></li>\n</ul>`;
  const describe = (scope: string) => (Object.hasOwn(registered, scope) ? (registered[scope] as string) : describeScope(scope, m));
  const items = scopes.map((scope) => `<li><span class="scope-text">${escapeHtml(describe(scope))}</span> <code>${escapeHtml(scope)}</code></li>`);
  return `<ul class="scopes">\n${items.join('\n')}\n</ul>`;
}

/** The Allow and Deny buttons of a decision form. */
export function decisionButtons(page: PageContext): string {
  return [
    '<div class="actions">',
    `<button type="submit" class="button primary" name="decision" value="allow">${page.messages.html('consent.allow')}</button>`,
    `<button type="submit" class="button secondary" name="decision" value="deny">${page.messages.html('consent.deny')}</button>`,
    '</div>',
  ].join('\n');
}

/**
 * The consent page. Posts `csrf_token`, `request` and `decision` (`allow` or `deny`, from the
 * button pressed) to `action` as application/x-www-form-urlencoded.
 */
export function renderConsentPage(p: ConsentPageInput): string {
  const m = p.page.messages;
  const client = escapeHtml(p.clientName);
  const content = [
    `<h1>${m.html('consent.heading', { client })}</h1>`,
    `<p class="lead">${m.html('consent.signedInAs', { user: strong(p.username) })}</p>`,
    // Client ID Metadata Documents: the site that describes the client, prominently.
    p.clientHost === undefined ? '' : `<p class="alert" id="client-host">${m.html('consent.clientHost', { host: strong(p.clientHost) })}</p>`,
    `<p>${m.html('consent.asking', { client })}</p>`,
    scopeList(p.page, p.scopes, p.scopeDescriptions),
    `<p class="note">${m.html('consent.returnTo', { origin: `<strong class="ltr">${escapeHtml(p.redirectOrigin)}</strong>` })}</p>`,
    `<form method="post" action="${escapeHtml(p.action)}">`,
    hiddenFields(p.csrfToken, p.requestId),
    decisionButtons(p.page),
    '</form>',
  ]
    .filter((line) => line !== '')
    .join('\n');
  return renderPage({ title: m.text('consent.title', { client: p.clientName }), body: pageBody(content, p.page, p.environmentName), page: p.page });
}

/** What an error page says: a title, a message, and optionally the technical detail (in English). */
export interface ErrorPageInput {
  page: PageContext;
  title?: MessageKey;
  message: PageMessage;
  /** A detail from the protocol layer, which writes English only; marked `lang="en"`. */
  detail?: string;
}

/**
 * A dead-end page for failures that must not go back to the client (unknown client, bad
 * redirect_uri, expired request). It has no redirect and no link: the client may be the problem.
 */
export function renderErrorPage(p: ErrorPageInput): string {
  const m = p.page.messages;
  const title = p.title ?? 'error.title';
  // An English page shows the detail as the message itself; another language adds it, marked as English.
  const english = m.lang.split('-')[0]?.toLowerCase() === 'en';
  const detail = p.detail === undefined || english ? '' : `<span lang="en" dir="ltr">${escapeHtml(p.detail)}</span>`;
  const message = p.detail !== undefined && english ? escapeHtml(p.detail) : m.html(p.message.key, escapedParams(p.message.params));
  const content = [
    `<h1>${m.html(title)}</h1>`,
    `<p class="alert">${message}</p>`,
    detail === '' ? '' : `<p class="note">${m.html('error.details', { details: detail })}</p>`,
    `<p class="lead">${m.html('error.close')}</p>`,
  ]
    .filter((line) => line !== '')
    .join('\n');
  return renderPage({ title: m.text(title), body: pageBody(content, p.page), page: p.page });
}
