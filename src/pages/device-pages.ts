import { decisionButtons, escapedParams, hiddenFields, type PageMessage, pageBody, scopeList, strong } from './authorization-pages.ts';
import { escapeHtml, renderPage } from './layout.ts';
import type { PageContext } from './page-context.ts';

/*
 * The pages of the device verification flow (RFC 8628 §3.3): enter the code, decide, return to
 * the device. Every value that comes from a request, a client registration or a user record
 * passes through escapeHtml exactly once, here.
 */

/** RFC 8628 §5.4: remote phishing sends a victim someone else's code; the page says whose code belongs here. */
const phishingWarning = (page: PageContext): string => `<p class="alert" role="note">${page.messages.html('device.phishing')}</p>`;

export interface DeviceEntryPageInput {
  page: PageContext;
  environmentName: string;
  action: string;
  csrfToken: string;
  /** Pre-fills the field (from `verification_uri_complete`, or the code just refused). */
  userCode?: string;
  error?: PageMessage;
}

/** The code entry page. Posts `csrf_token` and `user_code` to `action`, form-encoded. */
export function renderDeviceEntryPage(p: DeviceEntryPageInput): string {
  const m = p.page.messages;
  const invalid = p.error ? ' aria-invalid="true" aria-describedby="device-error"' : '';
  const content = [
    `<h1>${m.html('device.title')}</h1>`,
    `<p class="lead">${m.html('device.lead')}</p>`,
    phishingWarning(p.page),
    p.error ? `<div class="alert" id="device-error" role="alert">${m.html(p.error.key, escapedParams(p.error.params))}</div>` : '',
    `<form method="post" action="${escapeHtml(p.action)}">`,
    `<input type="hidden" name="csrf_token" value="${escapeHtml(p.csrfToken)}">`,
    '<div class="field">',
    `<label for="user_code">${m.html('device.code')}</label>`,
    `<input type="text" id="user_code" name="user_code" value="${escapeHtml(p.userCode ?? '')}" placeholder="XXXX-XXXX" dir="ltr" ` +
      `autocomplete="one-time-code" autocapitalize="characters" autocorrect="off" spellcheck="false" required autofocus${invalid}>`,
    '</div>',
    '<div class="actions">',
    `<button type="submit" class="button primary">${m.html('device.continue')}</button>`,
    '</div>',
    '</form>',
  ]
    .filter((line) => line !== '')
    .join('\n');
  return renderPage({ title: m.text('device.title'), body: pageBody(content, p.page, p.environmentName), page: p.page });
}

export interface DeviceDecisionPageInput {
  page: PageContext;
  environmentName: string;
  clientName: string;
  action: string;
  csrfToken: string;
  requestId: string;
  /** The code as entered in this browser, XXXX-XXXX; absent when this browser no longer knows it. */
  userCode?: string;
  scopes: string[];
  scopeDescriptions?: Readonly<Record<string, string>>;
  /** RFC 8707 identifiers of the APIs the device asks for. */
  apis: readonly string[];
  username: string;
}

/**
 * The decision page: which client, which scopes and APIs, which code. Posts `csrf_token`,
 * `request` and `decision` (`allow` or `deny`) to `action`, form-encoded.
 */
export function renderDeviceDecisionPage(p: DeviceDecisionPageInput): string {
  const m = p.page.messages;
  const client = escapeHtml(p.clientName);
  const apiList = p.apis.map((api) => `<code>${escapeHtml(api)}</code>`).join(', ');
  const code =
    p.userCode === undefined ? m.html('device.checkCode') : m.html('device.codeIs', { code: `<strong class="ltr">${escapeHtml(p.userCode)}</strong>` });
  const content = [
    `<h1>${m.html('device.heading', { client })}</h1>`,
    `<p class="lead">${m.html('consent.signedInAs', { user: strong(p.username) })}</p>`,
    `<p class="lead">${code}</p>`,
    phishingWarning(p.page),
    `<p>${m.html('consent.asking', { client })}</p>`,
    scopeList(p.page, p.scopes, p.scopeDescriptions),
    p.apis.length === 0 ? '' : `<p>${m.html('device.apis', { apis: apiList })}</p>`,
    `<form method="post" action="${escapeHtml(p.action)}">`,
    hiddenFields(p.csrfToken, p.requestId),
    decisionButtons(p.page),
    '</form>',
  ]
    .filter((line) => line !== '')
    .join('\n');
  return renderPage({ title: m.text('consent.title', { client: p.clientName }), body: pageBody(content, p.page, p.environmentName), page: p.page });
}

/** The page after the decision: nothing more happens in this browser. */
export function renderDeviceDonePage(p: { page: PageContext; environmentName: string; approved: boolean }): string {
  const m = p.page.messages;
  const [title, lead] = p.approved ? (['device.connectedTitle', 'device.connected'] as const) : (['device.deniedTitle', 'device.denied'] as const);
  const content = `<h1>${m.html(title)}</h1>\n<p class="lead">${m.html(lead)}</p>`;
  return renderPage({ title: m.text(title), body: pageBody(content, p.page, p.environmentName), page: p.page });
}
