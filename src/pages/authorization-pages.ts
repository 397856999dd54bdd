import { escapeHtml, renderPage } from './layout.ts';
import { describeScope } from './scopes.ts';

/*
 * The pages of the authorization code flow. Each function returns a whole HTML document; the
 * route sends it with pageSecurityHeaders(). Every value that comes from a request, a client
 * registration or a user record passes through escapeHtml exactly once, here.
 */

// The gate mark beside the product name. Inline SVG with presentation attributes only: the
// Content-Security-Policy blocks style attributes, and inline <svg> needs no img-src.
const BRAND =
  '<div class="brand"><svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">' +
  '<path fill="currentColor" d="M3 21V7l9-5 9 5v14h-6v-7a3 3 0 0 0-6 0v7z"/></svg><span>Gatehouse</span></div>';

/** A page's card with the brand, and its footer naming the environment. */
export function pageBody(content: string, environmentName?: string): string {
  const footer = environmentName === undefined ? 'Gatehouse' : `Gatehouse · ${escapeHtml(environmentName)}`;
  return `\n<main class="card">\n${BRAND}\n${content}\n</main>\n<footer class="footer">${footer}</footer>\n`;
}

/** The hidden fields that tie a form post to the browser session and to the pending request. */
export function hiddenFields(csrfToken: string, requestId: string): string {
  return [
    `<input type="hidden" name="csrf_token" value="${escapeHtml(csrfToken)}">`,
    `<input type="hidden" name="request" value="${escapeHtml(requestId)}">`,
  ].join('\n');
}

export interface LoginPageInput {
  environmentName: string;
  clientName: string;
  /** Absolute or relative URL the form posts to. */
  action: string;
  csrfToken: string;
  requestId: string;
  /** Prefills the username field: after a failed attempt, or from OpenID Connect `login_hint`. */
  username?: string;
  /** A message for the user, shown in an alert (e.g. "Incorrect username or password."). */
  error?: string;
  /** The page's `lang` (see `pageLanguage`); English when absent. */
  lang?: string;
}

/**
 * The sign-in page. Posts `username`, `password`, `csrf_token` and `request` to `action` as
 * application/x-www-form-urlencoded.
 */
export function renderLoginPage(p: LoginPageInput): string {
  const hasError = p.error !== undefined && p.error !== '';
  const prefilled = p.username !== undefined && p.username !== '';
  // After a failed attempt the username is usually right: put the cursor where the fix goes.
  const usernameFocus = prefilled ? '' : ' autofocus';
  const passwordFocus = prefilled ? ' autofocus' : '';
  const invalid = hasError ? ' aria-invalid="true" aria-describedby="login-error"' : '';
  const content = [
    '<h1>Sign in</h1>',
    `<p class="lead"><strong>${escapeHtml(p.clientName)}</strong> wants to access your account.</p>`,
    hasError ? `<div class="alert" id="login-error" role="alert">${escapeHtml(p.error as string)}</div>` : '',
    `<form method="post" action="${escapeHtml(p.action)}">`,
    hiddenFields(p.csrfToken, p.requestId),
    '<div class="field">',
    '<label for="username">Username</label>',
    `<input type="text" id="username" name="username" value="${escapeHtml(p.username ?? '')}" autocomplete="username" ` +
      `autocapitalize="none" autocorrect="off" spellcheck="false" required${usernameFocus}${invalid}>`,
    '</div>',
    '<div class="field">',
    '<label for="password">Password</label>',
    `<input type="password" id="password" name="password" autocomplete="current-password" required${passwordFocus}${invalid}>`,
    '</div>',
    '<div class="actions">',
    '<button type="submit" class="button primary">Sign in</button>',
    '</div>',
    '</form>',
  ]
    .filter((line) => line !== '')
    .join('\n');
  return renderPage({ title: 'Sign in', body: pageBody(content, p.environmentName), ...(p.lang === undefined ? {} : { lang: p.lang }) });
}

export interface ConsentPageInput {
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
  /** The page's `lang` (see `pageLanguage`); English when absent. */
  lang?: string;
  /** Client ID Metadata Documents: the host of the client's metadata URL (the client named itself; nobody registered it). */
  clientHost?: string;
}

export function scopeList(scopes: readonly string[], registered: Readonly<Record<string, string>> = {}): string {
  if (scopes.length === 0) return '<ul class="scopes">\n<li><span class="scope-text">Basic access to your account</span></li>\n</ul>';
  const describe = (scope: string) => (Object.hasOwn(registered, scope) ? (registered[scope] as string) : describeScope(scope));
  const items = scopes.map((scope) => `<li><span class="scope-text">${escapeHtml(describe(scope))}</span> <code>${escapeHtml(scope)}</code></li>`);
  return `<ul class="scopes">\n${items.join('\n')}\n</ul>`;
}

/**
 * The consent page. Posts `csrf_token`, `request` and `decision` (`allow` or `deny`, from the
 * button pressed) to `action` as application/x-www-form-urlencoded.
 */
export function renderConsentPage(p: ConsentPageInput): string {
  const client = escapeHtml(p.clientName);
  const content = [
    `<h1>Allow ${client} to access your account?</h1>`,
    `<p class="lead">Signed in as <strong>${escapeHtml(p.username)}</strong></p>`,
    // --- Client ID Metadata Documents: the client's host, prominently (begin) ---
    p.clientHost === undefined
      ? ''
      : `<p class="alert" id="client-host">This application is not registered here. It is described by <strong>${escapeHtml(p.clientHost)}</strong>; allow it only if you trust that site.</p>`,
    // --- Client ID Metadata Documents (end) ---
    `<p>${client} is asking to:</p>`,
    scopeList(p.scopes, p.scopeDescriptions),
    `<p class="note">Whichever you choose, you will be sent back to <strong>${escapeHtml(p.redirectOrigin)}</strong>.</p>`,
    `<form method="post" action="${escapeHtml(p.action)}">`,
    hiddenFields(p.csrfToken, p.requestId),
    '<div class="actions">',
    '<button type="submit" class="button primary" name="decision" value="allow">Allow</button>',
    '<button type="submit" class="button secondary" name="decision" value="deny">Deny</button>',
    '</div>',
    '</form>',
  ]
    .filter((line) => line !== '')
    .join('\n');
  return renderPage({ title: `Allow ${p.clientName}?`, body: pageBody(content, p.environmentName), ...(p.lang === undefined ? {} : { lang: p.lang }) });
}

/**
 * A dead-end page for failures that must not go back to the client (unknown client, bad
 * redirect_uri, expired request). It has no redirect and no link: the client may be the problem.
 */
export function renderErrorPage(p: { title: string; message: string }): string {
  const content = [
    `<h1>${escapeHtml(p.title)}</h1>`,
    `<p class="alert">${escapeHtml(p.message)}</p>`,
    '<p class="lead">You can close this window and return to the application.</p>',
  ].join('\n');
  return renderPage({ title: p.title, body: pageBody(content) });
}
