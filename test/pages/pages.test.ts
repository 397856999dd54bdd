import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type ConsentPageInput, type LoginPageInput, renderConsentPage, renderErrorPage, renderLoginPage } from '../../src/pages/authorization-pages.ts';
import { escapeHtml, PAGE_STYLESHEET, pageSecurityHeaders, renderPage } from '../../src/pages/layout.ts';
import { pageContextFor } from '../../src/pages/page-context.ts';
import { describeScope } from '../../src/pages/scopes.ts';

const EN = pageContextFor('en');

const HOSTILE = `<script>alert(1)</script>"'&`;
const HOSTILE_ESCAPED = '&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;';

const login = (overrides: Partial<LoginPageInput> = {}): string =>
  renderLoginPage({
    page: EN,
    environmentName: 'production',
    clientName: 'Invoice App',
    action: 'https://auth.example.com/envs/production/login',
    csrfToken: 'csrf-123',
    requestId: 'req-456',
    ...overrides,
  });

const consent = (overrides: Partial<ConsentPageInput> = {}): string =>
  renderConsentPage({
    page: EN,
    environmentName: 'production',
    clientName: 'Invoice App',
    action: 'https://auth.example.com/envs/production/consent',
    csrfToken: 'csrf-123',
    requestId: 'req-456',
    scopes: ['openid', 'invoices:read', 'documents.write'],
    username: 'alice',
    redirectOrigin: 'https://app.example.com',
    ...overrides,
  });

const errorPage = (overrides: { detail?: string } = {}): string => renderErrorPage({ page: EN, message: { key: 'error.badRequest' }, ...overrides });

/** Every page in every state, for the checks that hold on all of them. */
const allPages = (): [string, string][] => [
  ['login', login()],
  ['login with error', login({ username: 'alice', error: { key: 'login.errorInvalid' } })],
  ['consent', consent()],
  ['consent without scopes', consent({ scopes: [] })],
  ['error', errorPage()],
];

/** The opening tag of the element with the given `name` attribute. */
const tagNamed = (html: string, name: string): string => {
  const tag = new RegExp(`<(?:input|button)[^>]*\\bname="${name}"[^>]*>`).exec(html)?.[0];
  assert.ok(tag, `no element named ${name}`);
  return tag;
};

describe('escapeHtml', () => {
  it('escapes the five characters that matter in content and attributes', () => {
    assert.equal(escapeHtml(HOSTILE), HOSTILE_ESCAPED);
    assert.equal(escapeHtml('plain text · ünïcödé'), 'plain text · ünïcödé');
    assert.equal(escapeHtml('&amp;'), '&amp;amp;');
  });

  it('never leaves a markup character and decodes back to the input', () => {
    const decode = (text: string) =>
      text.replace(/&(lt|gt|quot|#39|amp);/g, (_, name: string) => ({ lt: '<', gt: '>', quot: '"', '#39': "'", amp: '&' })[name] as string);
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const escaped = escapeHtml(text);
        assert.doesNotMatch(escaped, /[<>"']/);
        assert.equal(decode(escaped), text);
      }),
    );
  });
});

describe('page shell and headers', () => {
  it('sends exactly the required headers', () => {
    const hash = createHash('sha256').update(PAGE_STYLESHEET, 'utf8').digest('base64');
    assert.deepEqual(pageSecurityHeaders(), {
      'Content-Type': 'text/html; charset=utf-8',
      'X-Frame-Options': 'DENY',
      'Content-Security-Policy': `default-src 'none'; style-src 'sha256-${hash}'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'`,
      'Referrer-Policy': 'no-referrer',
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-store',
      Pragma: 'no-cache',
    });
    // Chromium applies form-action to the redirect after the consent POST, which would break the flow.
    assert.doesNotMatch(pageSecurityHeaders()['Content-Security-Policy'] as string, /form-action/);
  });

  it('returns a fresh object each time', () => {
    const headers = pageSecurityHeaders();
    headers['X-Frame-Options'] = 'SAMEORIGIN';
    assert.equal(pageSecurityHeaders()['X-Frame-Options'], 'DENY');
  });

  for (const [name, html] of allPages()) {
    it(`${name}: the CSP hash matches the one <style> element in the page`, () => {
      const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)];
      assert.equal(styles.length, 1);
      assert.doesNotMatch(html, /<style[^>]/, 'no <style> with attributes');
      const digest = createHash('sha256')
        .update(styles[0]?.[1] as string, 'utf8')
        .digest('base64');
      const policy = pageSecurityHeaders()['Content-Security-Policy'] as string;
      assert.equal(/style-src 'sha256-([A-Za-z0-9+/=]+)'/.exec(policy)?.[1], digest);
    });

    it(`${name}: is a complete document with no scripts, style attributes or remote assets`, () => {
      assert.match(html, /^<!doctype html>\n<html lang="en" dir="ltr">/);
      assert.match(html, /<meta charset="utf-8">/);
      assert.match(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
      assert.match(html, /<title>[^<]+ · Gatehouse<\/title>/);
      assert.doesNotMatch(html, /<script/i);
      assert.doesNotMatch(html, /\son[a-z]+=/i, 'no event handler attributes');
      // The policy allows only the hashed stylesheet: a style attribute would be blocked.
      assert.doesNotMatch(html, /\sstyle=/i);
      assert.doesNotMatch(html, /(?:src|href|srcset|poster)\s*=\s*["']?(?:https?:)?\/\//i);
      assert.doesNotMatch(html, /url\(|@import|<link[^>]*rel="stylesheet"|<iframe|<img/i);
      assert.doesNotMatch(PAGE_STYLESHEET, /https?:\/\//);
      for (const link of html.match(/<link[^>]*>/g) ?? []) assert.match(link, /href="data:/);
    });
  }

  it('escapes the title and language', () => {
    const html = renderPage({ title: HOSTILE, body: '<p>x</p>', page: pageContextFor('fr"') });
    assert.ok(html.includes(`<title>${HOSTILE_ESCAPED} · Gatehouse</title>`));
    assert.ok(html.includes('<html lang="fr&quot;" dir="ltr">'));
    assert.ok(html.includes('<body><p>x</p></body>'));
  });
});

describe('escaping in the pages', () => {
  it('shows a hostile client name, username, error and action only escaped', () => {
    const pages = [
      login({
        clientName: HOSTILE,
        username: HOSTILE,
        error: { key: 'error.unexpected', params: { reference: HOSTILE } },
        action: HOSTILE,
        csrfToken: HOSTILE,
        requestId: HOSTILE,
        environmentName: HOSTILE,
      }),
      consent({
        clientName: HOSTILE,
        username: HOSTILE,
        action: HOSTILE,
        csrfToken: HOSTILE,
        requestId: HOSTILE,
        environmentName: HOSTILE,
        redirectOrigin: HOSTILE,
        scopes: ['<b>:read', "a'&b"],
      }),
      errorPage({ detail: HOSTILE }),
    ];
    for (const html of pages) {
      assert.ok(!html.includes(HOSTILE));
      assert.ok(!html.includes('<script>'));
      assert.ok(html.includes(HOSTILE_ESCAPED));
    }
    const consentPage = pages[1] as string;
    assert.ok(!consentPage.includes('<b>'));
    assert.ok(consentPage.includes('<code>&lt;b&gt;:read</code>'));
    assert.ok(consentPage.includes('<code>a&#39;&amp;b</code>'));
  });

  // A sentinel that no template or other field contains marks where the value starts, so any raw
  // occurrence would have to begin at an interpolation; an escaped interpolation holds no < or ".
  const nameWith = (sentinel: string, otherSentinel: string) =>
    fc
      .tuple(fc.string({ unit: 'binary' }), fc.constantFrom('<', '"'), fc.string({ unit: 'binary' }))
      .map(([before, marker, after]) => `${sentinel}${before}${marker}${after}`)
      .filter((value) => value.indexOf(sentinel, 1) === -1 && !value.includes(otherSentinel));

  it('never contains a raw client name or username that holds < or "', () => {
    fc.assert(
      fc.property(nameWith('\u2603', '\u2602'), nameWith('\u2602', '\u2603'), (clientName, username) => {
        for (const html of [
          login({ clientName, username, error: { key: 'error.unexpected', params: { reference: username } } }),
          consent({ clientName, username }),
        ]) {
          assert.ok(!html.includes(clientName), 'raw client name');
          assert.ok(!html.includes(username), 'raw username');
        }
      }),
    );
  });

  it('puts any client name into the page exactly as its escaped form', () => {
    const placeholder = '\u0000CLIENT\u0000';
    const loginTemplate = login({ clientName: placeholder });
    const consentTemplate = consent({ clientName: placeholder });
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (clientName) => {
        assert.equal(login({ clientName }), loginTemplate.replaceAll(placeholder, escapeHtml(clientName)));
        assert.equal(consent({ clientName }), consentTemplate.replaceAll(placeholder, escapeHtml(clientName)));
      }),
    );
  });
});

describe('login page', () => {
  it('has a form with the fields the login route reads', () => {
    const html = login();
    assert.match(html, /<h1>Sign in<\/h1>/);
    assert.ok(html.includes('<strong>Invoice App</strong> wants to access your account.'));
    assert.ok(html.includes('<form method="post" action="https://auth.example.com/envs/production/login">'));
    assert.equal(tagNamed(html, 'csrf_token'), '<input type="hidden" name="csrf_token" value="csrf-123">');
    assert.equal(tagNamed(html, 'request'), '<input type="hidden" name="request" value="req-456">');
    const username = tagNamed(html, 'username');
    for (const attribute of ['type="text"', 'autocomplete="username"', 'required', 'autofocus', 'value=""', 'id="username"']) {
      assert.ok(username.includes(attribute), `username field has ${attribute}`);
    }
    const password = tagNamed(html, 'password');
    for (const attribute of ['type="password"', 'autocomplete="current-password"', 'required', 'id="password"']) {
      assert.ok(password.includes(attribute), `password field has ${attribute}`);
    }
    assert.doesNotMatch(password, /value=/, 'a password is never echoed back');
    assert.match(html, /<label for="username">Username<\/label>/);
    assert.match(html, /<label for="password">Password<\/label>/);
    assert.match(html, /<button type="submit" class="button primary">Sign in<\/button>/);
    assert.doesNotMatch(html, /role="alert"/);
    assert.ok(html.includes('<footer class="footer">Gatehouse · production</footer>'));
    assert.equal(html.match(/\bautofocus\b/g)?.length, 1);
  });

  it('shows an error in an alert, keeps the username and moves focus to the password', () => {
    const html = login({ username: 'alice', error: { key: 'login.errorInvalid' } });
    assert.match(html, /<div class="alert" id="login-error" role="alert">Incorrect username or password\.<\/div>/);
    assert.ok(tagNamed(html, 'username').includes('value="alice"'));
    assert.ok(!tagNamed(html, 'username').includes('autofocus'));
    assert.ok(tagNamed(html, 'password').includes('autofocus'));
    assert.ok(tagNamed(html, 'password').includes('aria-invalid="true"'));
  });
});

describe('consent page', () => {
  it('names the client, the user, each scope and where the answer goes', () => {
    const html = consent();
    assert.ok(html.includes('<h1>Allow Invoice App to access your account?</h1>'));
    assert.ok(html.includes('Signed in as <strong>alice</strong>'));
    for (const scope of ['openid', 'invoices:read', 'documents.write']) {
      assert.ok(html.includes(`${describeScope(scope)}</span> <code>${scope}</code>`), scope);
    }
    assert.ok(html.includes('Read your invoices'));
    assert.ok(html.includes('<strong class="ltr">https://app.example.com</strong>'));
    assert.ok(html.includes('<form method="post" action="https://auth.example.com/envs/production/consent">'));
    assert.equal(tagNamed(html, 'csrf_token'), '<input type="hidden" name="csrf_token" value="csrf-123">');
    assert.equal(tagNamed(html, 'request'), '<input type="hidden" name="request" value="req-456">');
    assert.ok(html.includes('<button type="submit" class="button primary" name="decision" value="allow">Allow</button>'));
    assert.ok(html.includes('<button type="submit" class="button secondary" name="decision" value="deny">Deny</button>'));
    assert.ok(html.indexOf('value="allow"') < html.indexOf('value="deny"'), 'Allow comes first');
  });

  it('speaks of basic access when no scope is requested', () => {
    const html = consent({ scopes: [] });
    assert.match(html, /Basic access to your account/);
    assert.doesNotMatch(html, /<code>/);
  });
});

describe('error page', () => {
  it('explains, offers no way back to the client and no redirect', () => {
    const html = renderErrorPage({ page: EN, title: 'error.linkTitle', message: { key: 'error.badRequest' }, detail: 'The redirect_uri is not registered.' });
    assert.ok(html.includes('<h1>This link cannot be used</h1>'));
    assert.ok(html.includes('The redirect_uri is not registered.'));
    assert.match(html, /close this window/);
    assert.doesNotMatch(html, /<a\s|<form|http-equiv|<meta[^>]*refresh/i);
  });
});

describe('describeScope', () => {
  const cases: [string, string][] = [
    ['openid', 'Confirm your identity'],
    ['profile', 'Your name and profile'],
    ['email', 'Your email address'],
    ['address', 'Your postal address'],
    ['phone', 'Your phone number'],
    ['offline_access', 'Stay signed in (offline access): keep access when you are not using the app'],
    ['invoices:read', 'Read your invoices'],
    ['read:invoices', 'Read your invoices'],
    ['documents.write', 'Create and change your documents'],
    ['customer_records:delete', 'Delete your customer records'],
    ['payments/create', 'Create new payments'],
    ['users-list', 'See the list of your users'],
    ['contracts:sign', 'Sign contracts on your behalf'],
    ['emails.send', 'Send emails on your behalf'],
    ['reports:view', 'View your reports'],
    ['billing:manage', 'Manage your billing'],
    ['invoices.read_only', 'Read your invoices'],
    ['INVOICES:READ', 'Read your INVOICES'],
    ['https://api.example.com/invoices.read', 'Read your invoices'],
    ['admin', 'Administer your account'],
    ['read', 'Read your account'],
    ['calendar', 'Access your calendar'],
    ['shipping:labels', 'Access your shipping labels'],
    [':::', 'Access your account'],
    ['', 'Access your account'],
    ['constructor', 'Access your constructor'],
  ];
  for (const [scope, expected] of cases) {
    it(`${JSON.stringify(scope)} → ${expected}`, () => assert.equal(describeScope(scope), expected));
  }

  it('never returns an empty description', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (scope) => assert.ok(describeScope(scope).trim().length > 0)));
  });
});
