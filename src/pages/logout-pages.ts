import { pageBody } from './authorization-pages.ts';
import { escapeHtml, renderPage } from './layout.ts';

/*
 * The pages of the end-session endpoint (RP-Initiated Logout 1.0). Each function returns a whole
 * HTML document; the route sends it with pageSecurityHeaders(). Every value that comes from a
 * request, a client registration or a user record passes through escapeHtml exactly once, here.
 */

export interface LogoutConfirmPageInput {
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
  const environment = escapeHtml(p.environmentName);
  const hidden = [
    `<input type="hidden" name="csrf_token" value="${escapeHtml(p.csrfToken)}">`,
    ...Object.entries(p.fields).map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`),
  ];
  const content = [
    `<h1>Sign out of ${environment}?</h1>`,
    p.username === undefined ? '' : `<p class="lead">Signed in as <strong>${escapeHtml(p.username)}</strong></p>`,
    p.clientName === undefined
      ? '<p>A page asked to sign you out. If you did not mean to sign out, close this window.</p>'
      : `<p><strong>${escapeHtml(p.clientName)}</strong> asks to sign you out. If you did not mean to sign out, close this window.</p>`,
    `<form method="post" action="${escapeHtml(p.action)}">`,
    ...hidden,
    '<div class="actions">',
    '<button type="submit" class="button primary" name="confirm" value="yes">Sign out</button>',
    '</div>',
    '</form>',
  ]
    .filter((line) => line !== '')
    .join('\n');
  return renderPage({ title: `Sign out of ${p.environmentName}?`, body: pageBody(content, p.environmentName) });
}

/** The end of a logout that has no registered address to return to. */
export function renderSignedOutPage(p: { environmentName: string }): string {
  const content = [
    '<h1>You are signed out</h1>',
    `<p class="lead">You are no longer signed in to <strong>${escapeHtml(p.environmentName)}</strong> in this browser.</p>`,
    '<p class="note">You can close this window.</p>',
  ].join('\n');
  return renderPage({ title: 'Signed out', body: pageBody(content, p.environmentName) });
}
