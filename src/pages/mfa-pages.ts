import { escapedParams, hiddenFields, type PageMessage, pageBody } from './authorization-pages.ts';
import { escapeHtml, renderPage } from './layout.ts';
import type { PageContext } from './page-context.ts';

interface MfaFormInput {
  environmentName: string;
  action: string;
  csrfToken: string;
  requestId: string;
  error?: PageMessage;
  /** The language, texts and brand of the page. */
  page: PageContext;
}

const alert = (error: PageMessage | undefined, page: PageContext): string =>
  error ? `<div class="alert" id="mfa-error" role="alert">${page.messages.html(error.key, escapedParams(error.params))}</div>` : '';

function codeField(error: PageMessage | undefined, page: PageContext): string {
  const invalid = error ? ' aria-invalid="true" aria-describedby="mfa-error"' : '';
  return [
    '<div class="field">',
    `<label for="code">${page.messages.html('mfa.code')}</label>`,
    `<input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" autocapitalize="none" spellcheck="false" maxlength="16" required autofocus${invalid}>`,
    '</div>',
  ].join('\n');
}

const page = (title: string, content: string, p: Pick<MfaFormInput, 'environmentName' | 'page'>): string =>
  renderPage({ title, body: pageBody(content, p.page, p.environmentName), page: p.page });

/** The second step of a sign-in: a TOTP or recovery code; posts `code`. With `passkey`, a button to use a passkey instead. */
export function renderSecondFactorPage(p: MfaFormInput & { passkey?: string }): string {
  const content = [
    `<h1>${p.page.messages.html('mfa.verifyTitle')}</h1>`,
    `<p class="lead">${p.page.messages.html('mfa.verifyLead')}</p>`,
    alert(p.error, p.page),
    `<form method="post" action="${escapeHtml(p.action)}">`,
    hiddenFields(p.csrfToken, p.requestId),
    '<input type="hidden" name="step" value="verify">',
    codeField(p.error, p.page),
    `<p class="note">${p.page.messages.html('mfa.recoveryHint')}</p>`,
    '<div class="actions">',
    `<button type="submit" class="button primary">${p.page.messages.html('mfa.verify')}</button>`,
    '</div>',
    '</form>',
    p.passkey ?? '',
  ];
  return page(p.page.messages.text('mfa.verifyTitle'), content.filter((l) => l !== '').join('\n'), p);
}

/** TOTP enrolment: the QR code (server-drawn SVG) and the key as text, confirmed with a code; posts `code` and `step=enrol`. */
export function renderTotpEnrolmentPage(p: MfaFormInput & { secret: string; qrSvg: string }): string {
  // The SVG comes from the QR encoder (paths only, no script, no style attribute); it is labelled for screen readers.
  const qr = p.qrSvg.replace('<svg ', `<svg width="200" height="200" role="img" aria-label="${p.page.messages.html('mfa.qrLabel')}" `);
  const grouped = p.secret.replace(/(.{4})/g, '$1 ').trim();
  const content = [
    `<h1>${p.page.messages.html('mfa.enrolTitle')}</h1>`,
    `<p class="lead">${p.page.messages.html('mfa.enrolLead')}</p>`,
    alert(p.error, p.page),
    `<div class="qr">${qr}</div>`,
    `<p>${p.page.messages.html('mfa.secretLabel')} <code id="totp-secret" dir="ltr" data-secret="${escapeHtml(p.secret)}">${escapeHtml(grouped)}</code></p>`,
    `<form method="post" action="${escapeHtml(p.action)}">`,
    hiddenFields(p.csrfToken, p.requestId),
    '<input type="hidden" name="step" value="enrol">',
    codeField(p.error, p.page),
    '<div class="actions">',
    `<button type="submit" class="button primary">${p.page.messages.html('mfa.enrol')}</button>`,
    '</div>',
    '</form>',
  ];
  return page(p.page.messages.text('mfa.enrolTitle'), content.filter((l) => l !== '').join('\n'), p);
}

/** The recovery codes, shown once, and a form that moves the request on. */
export function renderRecoveryCodesPage(p: Omit<MfaFormInput, 'csrfToken' | 'error'> & { codes: readonly string[] }): string {
  const content = [
    `<h1>${p.page.messages.html('mfa.recoveryTitle')}</h1>`,
    `<p class="lead">${p.page.messages.html('mfa.recoveryLead')}</p>`,
    `<ul class="scopes" id="recovery-codes">${p.codes.map((c) => `<li><code dir="ltr">${escapeHtml(c)}</code></li>`).join('')}</ul>`,
    `<form method="get" action="${escapeHtml(p.action)}">`,
    `<input type="hidden" name="request" value="${escapeHtml(p.requestId)}">`,
    '<div class="actions">',
    `<button type="submit" class="button primary">${p.page.messages.html('mfa.continue')}</button>`,
    '</div>',
    '</form>',
  ];
  return page(p.page.messages.text('mfa.recoveryTitle'), content.join('\n'), p);
}
