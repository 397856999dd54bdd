import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { en } from '../../src/i18n/en.ts';
import { renderRecoveryCodesPage, renderSecondFactorPage, renderTotpEnrolmentPage } from '../../src/pages/mfa-pages.ts';
import { pageContextFor } from '../../src/pages/page-context.ts';
import { passkeyFragment, renderPasskeyAccountPage, renderPasskeyAccountRefusal } from '../../src/pages/passkey-pages.ts';

const form = { environmentName: 'production', action: '/envs/production/mfa', csrfToken: 'csrf', requestId: 'req' };
const QR = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 21 21"><path d="M0 0h1v1H0z"/></svg>';

const pages = (lang: string, texts = {}) => {
  const page = pageContextFor(lang, texts);
  const fragment = passkeyFragment({
    options: { mode: 'get', publicKey: {} },
    action: '/p',
    csrfToken: 'c',
    purpose: 'second_factor',
    label: 'passkey.secondFactor',
    page,
  });
  return {
    verify: renderSecondFactorPage({ ...form, page, passkey: fragment, error: { key: 'mfa.errorThrottled', params: { minutes: 5 } } }),
    enrol: renderTotpEnrolmentPage({ ...form, page, secret: 'JBSWY3DPEHPK3PXP', qrSvg: QR }),
    recovery: renderRecoveryCodesPage({ environmentName: 'production', action: '/mfa', requestId: 'req', codes: ['abcde-fghij'], page }),
    account: renderPasskeyAccountPage({
      environmentName: 'production',
      username: 'ada',
      passkeys: [{ credentialId: 'id1', name: 'Laptop <1>', createdAt: Date.UTC(2026, 0, 2), lastUsedAt: null, backedUp: true }],
      removeAction: '/remove',
      csrfToken: 'c',
      message: 'passkey.refused',
      page,
    }),
    refusal: renderPasskeyAccountRefusal({ environmentName: 'production', message: 'passkey.signInFirst', page }),
  };
};

describe('second-factor and passkey pages speak the page language', () => {
  it('German: every page, with the lang attribute, placeholders and the script message', () => {
    const de = pages('de');
    assert.match(de.verify, /<html lang="de" dir="ltr"/);
    assert.match(de.verify, /<h1>Bestätigung in zwei Schritten<\/h1>/);
    assert.match(de.verify, /Versuchen Sie es in 5 Minuten erneut/);
    assert.match(de.verify, />Passkey verwenden<\/button>/);
    assert.match(de.verify, /data-failed="Der Passkey konnte nicht verwendet werden/);
    assert.match(de.enrol, /aria-label="QR-Code für Ihre Authenticator-App"/);
    assert.match(de.enrol, />Aktivieren<\/button>/);
    assert.match(de.recovery, /<title>Speichern Sie Ihre Wiederherstellungscodes/);
    assert.match(de.account, /Hinzugefügt 2026-01-02 · zuletzt verwendet nie/);
    assert.match(de.account, /aria-label="Laptop &lt;1&gt; entfernen"/);
    assert.match(de.account, /\(synchronisiert\)/);
    assert.match(de.refusal, /Melden Sie sich zuerst/);
  });

  it('shows no English text of these pages in another language', () => {
    const english = Object.entries(en)
      .filter(([key]) => key.startsWith('mfa.') || key.startsWith('passkey.'))
      .map(([, text]) => text)
      .filter((text) => text.length > 8);
    for (const lang of ['de', 'fr', 'es', 'pt', 'ja']) {
      const html = Object.values(pages(lang)).join('\n');
      for (const text of english) assert.ok(!html.includes(text), `${lang} shows "${text}"`);
    }
  });

  it('takes the environment override and writes right to left for Arabic', () => {
    const ar = pages('ar', { ar: { 'mfa.verifyTitle': 'التحقق بخطوتين', 'passkey.accountTitle': 'مفاتيح المرور' } });
    assert.match(ar.verify, /<html lang="ar" dir="rtl"/);
    assert.match(ar.verify, /<h1>التحقق بخطوتين<\/h1>/);
    assert.match(ar.account, /<h1>مفاتيح المرور<\/h1>/);
    assert.match(ar.enrol, /<code id="totp-secret" dir="ltr"/, 'the key reads left to right');
  });
});
