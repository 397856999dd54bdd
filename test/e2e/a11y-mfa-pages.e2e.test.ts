import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TOTP } from 'otpauth';
import type { Browser, Page } from 'playwright-core';
import { AdminService } from '../../src/admin/admin-service.ts';
import { UserService } from '../../src/admin/users.ts';
import { systemClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import { de } from '../../src/i18n/de.ts';
import { en } from '../../src/i18n/en.ts';
import { s256Challenge } from '../../src/oauth/pkce.ts';
import { type Server as App, createServer as createGatehouse } from '../../src/server/server.ts';
import { openStore } from '../../src/store/open.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { testConfig } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/net.ts';
import { brandAcme, checkEveryMode, type Look, openPage, pressByKeyboard, tabOrder } from './a11y-support.ts';

/*
 * The second-factor pages (TOTP enrolment, with and without an error, the recovery codes, the
 * code page with its passkey button) and the passkey account page (refused, empty, with a
 * passkey) in Debian's Chromium: axe-core at WCAG 2.2 AA on a phone and a desktop, light and
 * dark, and operated with the keyboard alone (a DevTools virtual authenticator answers the passkey
 * ceremony the keyboard starts). Every page is walked twice, as the other sign-in pages are: in
 * English with the default look (its code page also in German, by ui_locales), and in a branded
 * environment whose default language is German (product name, colours, logo, support link).
 * Screenshots: test-artifacts/a11y/mfa-*.png and branded-de-mfa-*.png.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SHOTS = join(ROOT, 'test-artifacts', 'a11y');
const USERNAME = 'erin';
const PASSWORD = 'correct horse battery staple';
const CATALOGUES = { en, de } as const;

describe('accessibility of the second-factor and passkey pages in Chromium (axe-core, WCAG 2.2 AA)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-a11y-mfa-'));
  const rp: Server = createServer((_q, r) => r.writeHead(200, { 'content-type': 'text/plain' }).end('done'));
  let rpUrl = '';
  let store: Store | undefined;
  let app: App | undefined;
  let browser: Browser | undefined;
  let publicUrl = '';
  const clients: Record<string, string> = {};
  const results: string[] = [];

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await new Promise<void>((resolve) => rp.listen(0, '127.0.0.1', resolve));
    rpUrl = `http://127.0.0.1:${(rp.address() as AddressInfo).port}`;
    // WebAuthn needs a domain as relying-party id: the pages are served as http://localhost (a secure context).
    const port = await freePort();
    publicUrl = `http://localhost:${port}`;
    const config = testConfig({ publicUrl, host: '127.0.0.1', port, passwordHashCost: 10, dataDir });
    store = openStore(join(dataDir, 'gatehouse.db'));
    await store.migrate();
    app = await createGatehouse(config, { store, clock: systemClock });
    await app.start();
    const admin = new AdminService(config, config.keySecret, store, app.core, systemClock);
    const users = new UserService(config, store, systemClock);
    for (const envName of ['DEVELOPMENT', 'BRANDED']) {
      await admin.createEnvironment(envName);
      const created = await admin.createClient({
        env: envName,
        name: 'Ledger',
        grantTypes: ['authorization_code'],
        scopes: ['openid'],
        redirectUris: [`${rpUrl}/callback`],
      });
      clients[envName] = created.client_id;
      await users.create({ env: envName, username: USERNAME, password: PASSWORD });
      const env = await store.environments.findByName(envName);
      assert.ok(env);
      await store.secondFactors.savePolicy(
        env.id,
        { secondFactor: 'required', requiredClients: [], requiredScopes: [], webauthnRpId: null, webauthnOrigins: [] },
        Date.now(),
      );
    }
    await brandAcme(store, 'BRANDED');
    browser = await launchChromium();
  });

  after(async () => {
    try {
      await browser?.close().catch(() => undefined);
      rp.closeAllConnections();
      await new Promise<void>((resolve) => rp.close(() => resolve()));
      await app?.stop();
      await store?.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      process.stdout.write(`# axe-core (${results.length} runs):\n${results.map((r) => `#   ${r}`).join('\n')}\n`);
    }
  });

  const authorizeUrl = (env: string, extra: Record<string, string> = {}) =>
    `${publicUrl}/envs/${env}/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: clients[env] as string,
      redirect_uri: `${rpUrl}/callback`,
      scope: 'openid',
      state: randomBytes(8).toString('hex'),
      code_challenge: s256Challenge(randomBytes(32).toString('base64url')),
      code_challenge_method: 'S256',
      ...extra,
    })}`;

  /** The login page by keyboard: the username has focus on arrival. */
  async function typeCredentials(page: Page): Promise<void> {
    await page.waitForSelector('#username:focus');
    await page.keyboard.type(USERNAME);
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
  }

  /** Every second-factor and passkey page of one environment, in its language. */
  async function walkMfaPages(look: Look & { codePageLanguages: readonly (keyof typeof CATALOGUES)[] }): Promise<void> {
    const { env, prefix, texts } = look;
    const issuer = `${publicUrl}/envs/${env}`;
    const support = look.support ? [`a:=${texts['page.support']}`] : [];
    const { context, page, problems } = await openPage(browser, look.locale);
    try {
      await page.goto(`${issuer}/account`);
      // A page speaks the browser's English (en-US) as it is asked; the branded one its default, German.
      assert.match((await page.getAttribute('html', 'lang')) ?? '', look.texts === en ? /^en/ : /^de$/);
      await checkEveryMode(page, `${prefix}account-refused`, SHOTS, results);

      await page.goto(authorizeUrl(env));
      await typeCredentials(page);
      await page.waitForSelector('#totp-secret');
      await checkEveryMode(page, `${prefix}enrol`, SHOTS, results);
      assert.deepEqual(await tabOrder(page, 'code'), ['code', `button:=${texts['mfa.enrol']}`, ...support]);
      const secret = (await page.getAttribute('#totp-secret', 'data-secret')) ?? '';
      await page.focus('#code');
      await page.keyboard.type('000000');
      await page.keyboard.press('Enter');
      await page.waitForSelector('#mfa-error');
      assert.equal((await page.textContent('#mfa-error'))?.trim(), texts['mfa.errorWrong']);
      await checkEveryMode(page, `${prefix}enrol-error`, SHOTS, results);
      // The code field has focus again after a wrong code: type the right one, Enter.
      assert.equal(await page.evaluate<string>('document.activeElement?.id ?? ""'), 'code');
      await page.keyboard.type(new TOTP({ secret }).generate());
      await page.keyboard.press('Enter');
      await page.waitForSelector('#recovery-codes');
      await checkEveryMode(page, `${prefix}recovery-codes`, SHOTS, results);
      await pressByKeyboard(page, 'button[type="submit"]');
      await page.waitForURL(/\/consent\?/);

      await page.goto(`${issuer}/account`);
      await page.waitForSelector('#passkey-button');
      assert.equal((await page.textContent('#passkey-button'))?.trim(), texts['passkey.add']);
      await checkEveryMode(page, `${prefix}account-empty`, SHOTS, results);
      const cdp = await context.newCDPSession(page);
      await cdp.send('WebAuthn.enable');
      const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
      });
      await pressByKeyboard(page, '#passkey-button');
      await page.waitForSelector('ul#passkey-list li');
      await checkEveryMode(page, `${prefix}account-passkey`, SHOTS, results);
      const accountOrder = await tabOrder(page);
      assert.ok(
        accountOrder.some((c) => c.startsWith(`button:=${texts['passkey.remove']}`)) && accountOrder.includes('passkey-button'),
        accountOrder.join(' → '),
      );
      // Without the authenticator the login page's passkey autofill waits, and the code page is shown.
      await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });

      for (const lang of look.codePageLanguages) {
        const catalogue = CATALOGUES[lang];
        await page.goto(authorizeUrl(env, { prompt: 'login', ...(lang === look.codePageLanguages[0] ? {} : { ui_locales: lang }) }));
        await typeCredentials(page);
        await page.waitForSelector('#code');
        assert.match((await page.getAttribute('html', 'lang')) ?? '', new RegExp(`^${lang}(-|$)`));
        assert.equal((await page.textContent('h1'))?.trim(), catalogue['mfa.verifyTitle']);
        await checkEveryMode(page, `${prefix}verify-${lang}`, SHOTS, results);
        assert.deepEqual(await tabOrder(page, 'code'), [
          'code',
          `button:=${catalogue['mfa.verify']}`,
          'passkey-button',
          ...(look.support ? [`a:=${catalogue['page.support']}`] : []),
        ]);
      }
      await page.focus('#code');
      await page.keyboard.type(new TOTP({ secret }).generate({ timestamp: Date.now() + 30_000 }));
      await page.keyboard.press('Enter');
      await page.waitForURL((url) => url.href.startsWith(`${rpUrl}/callback`) || url.pathname.endsWith('/consent'));
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  }

  it('enrolment, recovery codes, the passkey account page and the code page: no violation, keyboard only', () =>
    walkMfaPages({ env: 'DEVELOPMENT', locale: 'en-US', prefix: 'mfa-', texts: en, support: false, codePageLanguages: ['en', 'de'] }));

  it('every second-factor and passkey page again in a branded environment whose default language is German', () =>
    walkMfaPages({ env: 'BRANDED', locale: 'sv-SE', prefix: 'branded-de-mfa-', texts: de, support: true, codePageLanguages: ['de'] }));
});
