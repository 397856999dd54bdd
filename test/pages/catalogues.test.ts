import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CATALOGUES, messagesFor, placeholdersOf } from '../../src/i18n/catalogue.ts';
import { en } from '../../src/i18n/en.ts';
import { chooseLanguage, PAGE_LANGUAGES, parseAcceptLanguage } from '../../src/i18n/locales.ts';
import { renderLoginPage } from '../../src/pages/authorization-pages.ts';
import { pageContextFor } from '../../src/pages/page-context.ts';

const keys = Object.keys(en).sort();

describe('message catalogues', () => {
  it('ship English, German, French, Spanish, Portuguese and Japanese', () => {
    assert.deepEqual([...PAGE_LANGUAGES].sort(), ['de', 'en', 'es', 'fr', 'ja', 'pt']);
  });

  for (const [lang, catalogue] of Object.entries(CATALOGUES)) {
    it(`${lang}: has exactly the English keys, each non-empty with the same placeholders`, () => {
      assert.deepEqual(Object.keys(catalogue).sort(), keys);
      for (const key of keys) {
        const text = catalogue[key as keyof typeof en];
        assert.ok(text.trim() !== '', `${lang} ${key} is empty`);
        assert.deepEqual(placeholdersOf(text), placeholdersOf(en[key as keyof typeof en]), `${lang} ${key} placeholders`);
        assert.doesNotMatch(text, /[<>]/, `${lang} ${key} holds markup`);
      }
    });
  }

  it('translates for real: no non-English catalogue copies more than a few English texts', () => {
    for (const [lang, catalogue] of Object.entries(CATALOGUES)) {
      if (lang === 'en') continue;
      const same = keys.filter((key) => catalogue[key as keyof typeof en] === en[key as keyof typeof en]);
      assert.ok(same.length <= 3, `${lang}: ${same.join(', ')}`);
    }
  });
});

describe('choosing the language', () => {
  it('prefers ui_locales (OIDC Core §3.1.2.1), then Accept-Language, then the environment default, then English', () => {
    assert.equal(chooseLanguage({ uiLocales: ['ja'], acceptLanguage: 'de', defaultLanguage: 'fr' }), 'ja');
    assert.equal(chooseLanguage({ uiLocales: ['sv'], acceptLanguage: 'de-AT, en;q=0.5', defaultLanguage: 'fr' }), 'de-AT');
    assert.equal(chooseLanguage({ acceptLanguage: 'sv, nb;q=0.8', defaultLanguage: 'fr' }), 'fr');
    assert.equal(chooseLanguage({ acceptLanguage: 'sv' }), 'en');
    assert.equal(chooseLanguage({ defaultLanguage: 'xx' }), 'en');
  });

  it('reads Accept-Language q-values (RFC 9110 §12.5.4) and drops q=0, * and junk', () => {
    assert.deepEqual(parseAcceptLanguage('fr;q=0.5, de;q=0.9, es, ja;q=0, *;q=0.1, <x>'), ['es', 'de', 'fr']);
    assert.deepEqual(parseAcceptLanguage('pt-BR;q=1.0,en;q=0.8'), ['pt-BR', 'en']);
    assert.deepEqual(parseAcceptLanguage(undefined), []);
    assert.equal(chooseLanguage({ acceptLanguage: 'sv;q=1, pt;q=0.3, ja;q=0.7' }), 'ja');
  });

  it('speaks a language the environment added through its own texts', () => {
    assert.equal(chooseLanguage({ acceptLanguage: 'ar' }), 'en');
    assert.equal(chooseLanguage({ acceptLanguage: 'ar', extraLanguages: ['ar'] }), 'ar');
  });
});

describe('messages with overrides', () => {
  it('fills placeholders and escapes only the text in html()', () => {
    const m = messagesFor('en');
    assert.equal(m.text('consent.title', { client: '<b>' }), 'Allow <b>?');
    assert.equal(m.html('consent.title', { client: '<i>x</i>' }), 'Allow <i>x</i>?');
  });

  it("uses the operator's text for a key, then the shipped language, then English", () => {
    const texts = { de: { 'login.title': 'Willkommen bei Acme' }, ar: { 'login.title': 'تسجيل الدخول', 'login.submit': 'دخول' } };
    assert.equal(messagesFor('de', texts).text('login.title'), 'Willkommen bei Acme');
    assert.equal(messagesFor('de-CH', texts).text('login.submit'), 'Anmelden');
    const ar = messagesFor('ar', texts);
    assert.equal(ar.dir, 'rtl');
    assert.equal(ar.text('login.submit'), 'دخول');
    assert.equal(ar.text('login.password'), 'Password');
  });

  it('renders an Arabic page right to left with lang and dir on <html>', () => {
    const page = pageContextFor('ar', { ar: { 'login.title': 'تسجيل الدخول' } });
    const html = renderLoginPage({ page, environmentName: 'prod', clientName: 'App', action: '/login', csrfToken: 'c', requestId: 'r' });
    assert.match(html, /<html lang="ar" dir="rtl">/);
    assert.match(html, /<h1>تسجيل الدخول<\/h1>/);
  });

  it('renders a German page in German', () => {
    const html = renderLoginPage({ page: pageContextFor('de'), environmentName: 'prod', clientName: 'App', action: '/login', csrfToken: 'c', requestId: 'r' });
    assert.match(html, /<html lang="de" dir="ltr">/);
    assert.match(html, /<label for="password">Passwort<\/label>/);
    assert.match(html, /<title>Anmelden · Gatehouse<\/title>/);
  });
});
