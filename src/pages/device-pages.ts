import { hiddenFields, pageBody, scopeList } from './authorization-pages.ts';
import { escapeHtml, renderPage } from './layout.ts';

/*
 * The pages of the device verification flow (RFC 8628 §3.3): enter the code, decide, return to
 * the device. Every value that comes from a request, a client registration or a user record
 * passes through escapeHtml exactly once, here.
 */

/** RFC 8628 §5.4: remote phishing sends a victim someone else's code; the page says whose code belongs here. */
const PHISHING_WARNING =
  '<p class="alert" role="note">Only use a code shown on a device you own and are setting up right now. ' +
  'If someone sent you this code or this link, do not continue: they would get access to your account.</p>';

export interface DeviceEntryPageInput {
  environmentName: string;
  action: string;
  csrfToken: string;
  /** Pre-fills the field (from `verification_uri_complete`, or the code just refused). */
  userCode?: string;
  error?: string;
}

/** The code entry page. Posts `csrf_token` and `user_code` to `action`, form-encoded. */
export function renderDeviceEntryPage(p: DeviceEntryPageInput): string {
  const hasError = p.error !== undefined && p.error !== '';
  const invalid = hasError ? ' aria-invalid="true" aria-describedby="device-error"' : '';
  const content = [
    '<h1>Connect a device</h1>',
    '<p class="lead">Enter the code shown on your device.</p>',
    PHISHING_WARNING,
    hasError ? `<div class="alert" id="device-error" role="alert">${escapeHtml(p.error as string)}</div>` : '',
    `<form method="post" action="${escapeHtml(p.action)}">`,
    `<input type="hidden" name="csrf_token" value="${escapeHtml(p.csrfToken)}">`,
    '<div class="field">',
    '<label for="user_code">Code</label>',
    `<input type="text" id="user_code" name="user_code" value="${escapeHtml(p.userCode ?? '')}" placeholder="XXXX-XXXX" ` +
      `autocomplete="one-time-code" autocapitalize="characters" autocorrect="off" spellcheck="false" required autofocus${invalid}>`,
    '</div>',
    '<div class="actions">',
    '<button type="submit" class="button primary">Continue</button>',
    '</div>',
    '</form>',
  ]
    .filter((line) => line !== '')
    .join('\n');
  return renderPage({ title: 'Connect a device', body: pageBody(content, p.environmentName) });
}

export interface DeviceDecisionPageInput {
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
  const client = escapeHtml(p.clientName);
  const apis = p.apis.length === 0 ? '' : `<p>For: ${p.apis.map((api) => `<code>${escapeHtml(api)}</code>`).join(', ')}</p>`;
  const code =
    p.userCode === undefined
      ? '<p class="lead">Check that your device still shows the code you entered.</p>'
      : `<p class="lead">Code: <strong>${escapeHtml(p.userCode)}</strong>. Check that your device shows the same code.</p>`;
  const content = [
    `<h1>Allow ${client} on your device?</h1>`,
    `<p class="lead">Signed in as <strong>${escapeHtml(p.username)}</strong></p>`,
    code,
    PHISHING_WARNING,
    `<p>${client} is asking to:</p>`,
    scopeList(p.scopes, p.scopeDescriptions),
    apis,
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
  return renderPage({ title: `Allow ${p.clientName}?`, body: pageBody(content, p.environmentName) });
}

/** The page after the decision: nothing more happens in this browser. */
export function renderDeviceDonePage(p: { environmentName: string; approved: boolean }): string {
  const content = p.approved
    ? ['<h1>Device connected</h1>', '<p class="lead">You can close this window and return to your device.</p>']
    : ['<h1>Request denied</h1>', '<p class="lead">The device was not given access. You can close this window and return to your device.</p>'];
  return renderPage({ title: p.approved ? 'Device connected' : 'Request denied', body: pageBody(content.join('\n'), p.environmentName) });
}
