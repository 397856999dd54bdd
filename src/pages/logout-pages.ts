import { pageBody, strong } from './authorization-pages.ts';
import { escapeHtml, renderPage } from './layout.ts';
import type { PageContext } from './page-context.ts';

/*
 * The pages of the end-session endpoint (RP-Initiated Logout 1.0). Each function returns a whole
 * HTML document; the route sends it with pageSecurityHeaders(). Every value that comes from a
 * request, a client registration or a user record passes through escapeHtml exactly once, here.
 */

export interface LogoutConfirmPageInput {
  page: PageContext;
  environmentName: string;
  /** Absolute or relative URL the form posts to. */
  action: string;
  csrfToken: string;
  /** The checked parameters of the logout request, carried through the form (client_id, post_logout_redirect_uri, state). */
  fields: Readonly<Record<string, string>>;
  /** The application that sent the user here, when the request named one. */
  clientName?: string | undefined;
  /** The signed-in user, so someone on a shared computer sees whose session ends. */
  username?: string | undefined;
}

/**
 * Asks before signing out (RP-Initiated Logout §2: a request that does not prove it comes from
 * the user's application must not end the session by itself). Posts `confirm`, `csrf_token` and
 * the request's fields to `action` as application/x-www-form-urlencoded.
 */
export function renderLogoutConfirmPage(p: LogoutConfirmPageInput): string {
  const m = p.page.messages;
  const hidden = [
    `<input type="hidden" name="csrf_token" value="${escapeHtml(p.csrfToken)}">`,
    ...Object.entries(p.fields).map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`),
  ];
  const content = [
    `<h1>${m.html('logout.title', { environment: escapeHtml(p.environmentName) })}</h1>`,
    p.username === undefined ? '' : `<p class="lead">${m.html('consent.signedInAs', { user: strong(p.username) })}</p>`,
    `<p>${p.clientName === undefined ? m.html('logout.asked') : m.html('logout.askedBy', { client: strong(p.clientName) })}</p>`,
    `<form method="post" action="${escapeHtml(p.action)}">`,
    ...hidden,
    '<div class="actions">',
    `<button type="submit" class="button primary" name="confirm" value="yes">${m.html('logout.submit')}</button>`,
    '</div>',
    '</form>',
  ]
    .filter((line) => line !== '')
    .join('\n');
  return renderPage({ title: m.text('logout.title', { environment: p.environmentName }), body: pageBody(content, p.page, p.environmentName), page: p.page });
}

/** The end of a logout that has no registered address to return to. */
export function renderSignedOutPage(p: { page: PageContext; environmentName: string }): string {
  const m = p.page.messages;
  const content = [
    `<h1>${m.html('logout.doneHeading')}</h1>`,
    `<p class="lead">${m.html('logout.done', { environment: strong(p.environmentName) })}</p>`,
    `<p class="note">${m.html('logout.closeWindow')}</p>`,
  ].join('\n');
  return renderPage({ title: m.text('logout.doneTitle'), body: pageBody(content, p.page, p.environmentName), page: p.page });
}
