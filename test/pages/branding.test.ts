import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import { AdminError } from '../../src/admin/admin-error.ts';
import { AdminAudit } from '../../src/admin/audit-trail.ts';
import { BrandingService } from '../../src/admin/branding.ts';
import { checkContrast, checkLogo } from '../../src/admin/branding-checks.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import { contrastRatio } from '../../src/domain/contrast.ts';
import type { Environment } from '../../src/domain/model.ts';
import type { Store } from '../../src/domain/storage.ts';
import { brandingLogoRoutes } from '../../src/http/routes/branding-logo-routes.ts';
import { PageContexts } from '../../src/http/routes/page-context.ts';
import { renderLoginPage } from '../../src/pages/authorization-pages.ts';
import { pageSecurityHeaders, styleHashSource } from '../../src/pages/layout.ts';
import { testDatabases } from '../helpers/databases.ts';
import { createEnvironment } from '../helpers/logout.ts';

const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
const SVG = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><rect width="8" height="8" fill="#123456"/></svg>');
const refused = (message: RegExp) => (error: unknown) => error instanceof AdminError && error.kind === 'invalid_argument' && message.test(error.message);

describe('brand checks', () => {
  it('computes WCAG contrast ratios', () => {
    assert.equal(contrastRatio('#000000', '#ffffff'), 21);
    assert.equal(contrastRatio('#777777', '#777777'), 1);
    assert.ok(Math.abs(contrastRatio('#767676', '#ffffff') - 4.54) < 0.01);
  });

  it('refuses a colour pair below AA, naming the pair and its ratio', () => {
    assert.throws(
      () => checkContrast({ accent: '#ffdd00', accentText: '#ffffff' }),
      refused(/accent_text #ffffff on accent #ffdd00 has contrast 1\.\d\d:1, WCAG AA needs 4\.5:1/),
    );
    assert.throws(
      () => checkContrast({ darkAccent: '#222222' }),
      refused(/dark_accent #222222 on the dark page card #181c25 has contrast 1\.\d+:1, WCAG AA needs 3:1/),
    );
    checkContrast({ accent: '#0b6e4f', accentText: '#ffffff', darkAccent: '#5fd3a8', darkAccentText: '#0b1f17' });
  });

  it('takes PNG, WebP and script-free SVG checked from their bytes, at most 100 KB', () => {
    assert.equal(checkLogo(PNG, 'image/png'), 'image/png');
    assert.equal(checkLogo(SVG, 'image/svg+xml'), 'image/svg+xml');
    assert.throws(() => checkLogo(PNG, 'image/svg+xml'), refused(/is image\/png, but was sent as image\/svg\+xml/));
    assert.throws(() => checkLogo(new TextEncoder().encode('GIF89a'), 'image/png'), refused(/PNG, WebP or SVG/));
    assert.throws(() => checkLogo(new Uint8Array(100 * 1024 + 1).fill(0x89), 'image/png'), refused(/at most|100 KB/));
    for (const hostile of [
      '<svg><script>alert(1)</script></svg>',
      '<svg onload="alert(1)"></svg>',
      '<svg><a href="javascript:x"/></svg>',
      '<svg><image href="https://evil.example/x.png"/></svg>',
    ]) {
      assert.throws(() => checkLogo(new TextEncoder().encode(hostile), 'image/svg+xml'), refused(/only a plain drawing/), hostile);
    }
  });
});

for (const database of await testDatabases()) {
  describe(`branding of the pages (${database.name})`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let env: Environment;
    const recorded: { type: string; details: unknown }[] = [];

    before(async () => {
      ({ store, cleanup } = await database.open());
      env = await createEnvironment(store, 'ES256', T0);
    });
    after(() => cleanup());

    const service = () => {
      const audit = { record: async (event: { type: string; details?: unknown }) => void recorded.push({ type: event.type, details: event.details }) };
      return new BrandingService(store, new ManualClock(T0), new AdminAudit(audit));
    };

    it('stores a brand, audits the fields that changed (never their values) and shows it on the pages', async () => {
      const view = await service().replace(env.name, {
        productName: 'Acme Cloud',
        colours: { accent: '#0B6E4F' },
        supportUrl: 'https://help.acme.example/',
        defaultLanguage: 'de',
        texts: { de: { 'login.title': 'Willkommen bei Acme' }, ar: { 'login.submit': 'دخول' } },
      });
      assert.equal(view.product_name, 'Acme Cloud');
      assert.equal(view.colours.accent, '#0b6e4f');
      const event = recorded.at(-1);
      assert.equal(event?.type, 'environment.branding_changed');
      assert.deepEqual(event?.details, { fields: ['product_name', 'support_url', 'default_language', 'colours.accent', 'texts.de', 'texts.ar'] });
      assert.doesNotMatch(JSON.stringify(recorded), /Acme|Willkommen|#0b6e4f/);

      const fakeRequest = { headers: { 'accept-language': 'sv' } } as never;
      const page = await new PageContexts(store.pageSettings).of(fakeRequest, env, 'https://auth.example/envs/x');
      assert.equal(page.messages.lang, 'de');
      const html = renderLoginPage({ page, environmentName: env.name, clientName: 'App', action: '/login', csrfToken: 'c', requestId: 'r' });
      assert.match(html, /<h1>Willkommen bei Acme<\/h1>/);
      assert.match(html, /<title>Willkommen bei Acme · Acme Cloud<\/title>/);
      assert.match(html, /<a href="https:\/\/help\.acme\.example\/">Hilfe und Support<\/a>/);
      // The brand's stylesheet is allowed by its hash, and nothing else is added to the policy.
      const brandStyle = page.brand.stylesheet as string;
      assert.ok(html.includes(`<style>${brandStyle}</style>`));
      assert.match(pageSecurityHeaders(brandStyle)['Content-Security-Policy'] as string, new RegExp(styleHashSource(brandStyle).replace(/[+/]/g, '\\$&')));
      assert.doesNotMatch(pageSecurityHeaders(brandStyle)['Content-Security-Policy'] as string, /https?:/);
    });

    it('refuses unknown message keys, unknown placeholders and low contrast, changing nothing', async () => {
      await assert.rejects(service().replace(env.name, { texts: { de: { 'login.nope': 'x' } } }), refused(/not a message of the pages/));
      await assert.rejects(
        service().replace(env.name, { texts: { de: { 'login.lead': '{user} hier' } } }),
        refused(/uses \{user\}; this text may use only \{client\}/),
      );
      await assert.rejects(service().replace(env.name, { colours: { accent: '#eeeeee' } }), refused(/WCAG 2\.2 AA/));
      assert.equal((await service().show(env.name)).product_name, 'Acme Cloud');
    });

    it('serves the logo with its checked type, nosniff and a sandboxing policy', async () => {
      await service().putLogo(env.name, SVG, 'image/svg+xml');
      assert.deepEqual(recorded.at(-1)?.details, { fields: ['logo'] });
      const app = Fastify();
      const resolver = { resolve: async () => ({ env }) } as never;
      await app.register(brandingLogoRoutes, { environments: resolver, logos: store.pageSettings });
      const response = await app.inject({ method: 'GET', url: `/envs/${env.name}/branding/logo` });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['content-type'], 'image/svg+xml');
      assert.equal(response.headers['x-content-type-options'], 'nosniff');
      assert.match(String(response.headers['content-security-policy']), /default-src 'none'.*sandbox/);
      assert.equal(response.body, new TextDecoder().decode(SVG));
      await service().deleteLogo(env.name);
      assert.equal((await app.inject({ method: 'GET', url: `/envs/${env.name}/branding/logo` })).statusCode, 404);
      await app.close();
    });
  });
}
