import { hiddenFields, pageBody } from './authorization-pages.ts';
import { escapeHtml, renderPage } from './layout.ts';
import type { PageContext } from './page-context.ts';

/** Every user-facing string of the second-factor pages, in one place for the message catalogues. */
export const MFA_MESSAGES = {
  verifyTitle: 'Two-step verification',
  verifyLead: 'Enter the 6-digit code from your authenticator app.',
  codeLabel: 'Verification code',
  recoveryHint: 'Lost your device? Enter one of your recovery codes instead.',
  verifyButton: 'Verify',
  enrolTitle: 'Set up two-step verification',
  enrolLead: 'Scan this QR code with an authenticator app, then enter the 6-digit code it shows.',
  secretLabel: 'Or enter this key by hand:',
  qrLabel: 'QR code for your authenticator app',
  enrolButton: 'Turn on',
  recoveryTitle: 'Save your recovery codes',
  recoveryLead: 'Each code signs you in once if you lose your authenticator. They are shown only now: store them somewhere safe.',
  continueButton: 'Continue',
  passkeyButton: 'Use a passkey',
  wrongCode: 'That code is not right. Check your device and try again.',
  missingCode: 'Enter the code.',
  throttled: (minutes: number) => `Too many attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
} as const;

interface MfaFormInput {
  environmentName: string;
  action: string;
  csrfToken: string;
  requestId: string;
  error?: string;
  /** The language, texts and brand of the page. */
  page: PageContext;
}

const alert = (error: string | undefined): string => (error ? `<div class="alert" id="mfa-error" role="alert">${escapeHtml(error)}</div>` : '');

function codeField(error: string | undefined): string {
  const invalid = error ? ' aria-invalid="true" aria-describedby="mfa-error"' : '';
  return [
    '<div class="field">',
    `<label for="code">${MFA_MESSAGES.codeLabel}</label>`,
    `<input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" autocapitalize="none" spellcheck="false" maxlength="16" required autofocus${invalid}>`,
    '</div>',
  ].join('\n');
}

const page = (title: string, content: string, p: Pick<MfaFormInput, 'environmentName' | 'page'>): string =>
  renderPage({ title, body: pageBody(content, p.page, p.environmentName), page: p.page });

/** The second step of a sign-in: a TOTP or recovery code; posts `code`. With `passkey`, a button to use a passkey instead. */
export function renderSecondFactorPage(p: MfaFormInput & { passkey?: string }): string {
  const content = [
    `<h1>${MFA_MESSAGES.verifyTitle}</h1>`,
    `<p class="lead">${MFA_MESSAGES.verifyLead}</p>`,
    alert(p.error),
    `<form method="post" action="${escapeHtml(p.action)}">`,
    hiddenFields(p.csrfToken, p.requestId),
    '<input type="hidden" name="step" value="verify">',
    codeField(p.error),
    `<p class="note">${MFA_MESSAGES.recoveryHint}</p>`,
    '<div class="actions">',
    `<button type="submit" class="button primary">${MFA_MESSAGES.verifyButton}</button>`,
    '</div>',
    '</form>',
    p.passkey ?? '',
  ];
  return page(MFA_MESSAGES.verifyTitle, content.filter((l) => l !== '').join('\n'), p);
}

/** TOTP enrolment: the QR code (server-drawn SVG) and the key as text, confirmed with a code; posts `code` and `step=enrol`. */
export function renderTotpEnrolmentPage(p: MfaFormInput & { secret: string; qrSvg: string }): string {
  // The SVG comes from the QR encoder (paths only, no script, no style attribute); it is labelled for screen readers.
  const qr = p.qrSvg.replace('<svg ', `<svg width="200" height="200" role="img" aria-label="${MFA_MESSAGES.qrLabel}" `);
  const grouped = p.secret.replace(/(.{4})/g, '$1 ').trim();
  const content = [
    `<h1>${MFA_MESSAGES.enrolTitle}</h1>`,
    `<p class="lead">${MFA_MESSAGES.enrolLead}</p>`,
    alert(p.error),
    `<div class="qr">${qr}</div>`,
    `<p>${MFA_MESSAGES.secretLabel} <code id="totp-secret" data-secret="${escapeHtml(p.secret)}">${escapeHtml(grouped)}</code></p>`,
    `<form method="post" action="${escapeHtml(p.action)}">`,
    hiddenFields(p.csrfToken, p.requestId),
    '<input type="hidden" name="step" value="enrol">',
    codeField(p.error),
    '<div class="actions">',
    `<button type="submit" class="button primary">${MFA_MESSAGES.enrolButton}</button>`,
    '</div>',
    '</form>',
  ];
  return page(MFA_MESSAGES.enrolTitle, content.filter((l) => l !== '').join('\n'), p);
}

/** The recovery codes, shown once, and a form that moves the request on. */
export function renderRecoveryCodesPage(p: Omit<MfaFormInput, 'csrfToken' | 'error'> & { codes: readonly string[] }): string {
  const content = [
    `<h1>${MFA_MESSAGES.recoveryTitle}</h1>`,
    `<p class="lead">${MFA_MESSAGES.recoveryLead}</p>`,
    `<ul class="scopes" id="recovery-codes">${p.codes.map((c) => `<li><code>${escapeHtml(c)}</code></li>`).join('')}</ul>`,
    `<form method="get" action="${escapeHtml(p.action)}">`,
    `<input type="hidden" name="request" value="${escapeHtml(p.requestId)}">`,
    '<div class="actions">',
    `<button type="submit" class="button primary">${MFA_MESSAGES.continueButton}</button>`,
    '</div>',
    '</form>',
  ];
  return page(MFA_MESSAGES.recoveryTitle, content.join('\n'), p);
}
