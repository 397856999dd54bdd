import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { AdminService } from '../../src/admin/admin-service.ts';
import { UserService } from '../../src/admin/users.ts';
import { systemClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import { de } from '../../src/i18n/de.ts';
import { en } from '../../src/i18n/en.ts';
import { DEVICE_CODE_GRANT } from '../../src/oauth/device/device-authorization.ts';
import { s256Challenge } from '../../src/oauth/pkce.ts';
import { type Server as App, createServer as createGatehouse } from '../../src/server/server.ts';
import { openStore } from '../../src/store/open.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { testConfig } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/net.ts';
import { brandAcme, checkEveryMode, type Look, openPage, pressByKeyboard, tabOrder } from './a11y-support.ts';

/*
 * Every sign-in page (login, login with an error, consent, the three device pages, the two logout
 * pages, an error page) in Debian's Chromium, checked by axe-core at WCAG 2.2 AA on a phone and a
 * desktop, light and dark, and walked with the keyboard alone (Tab reaches each control, Enter
 * submits). Every page is walked twice: in English with the default look, and in a branded
 * environment whose default language is German (its product name, colours and logo). That
 * environment is also checked in French (ui_locales) and Arabic (an operator's texts: right to
 * left). Screenshots: test-artifacts/a11y/.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SHOTS = join(ROOT, 'test-artifacts', 'a11y');
const USERNAME = 'alice';
const PASSWORD = 'correct horse battery staple';
describe('accessibility of the sign-in pages in Chromium (axe-core, WCAG 2.2 AA)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-a11y-e2e-'));
  const rp: Server = createServer((_q, r) => r.writeHead(200, { 'content-type': 'text/plain' }).end('done'));
  let rpUrl = '';
  let store: Store | undefined;
  let app: App | undefined;
  let browser: Browser | undefined;
  let publicUrl = '';
  const clients: Record<string, string> = {};
  const deviceClients: Record<string, string> = {};
  const results: string[] = [];

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await new Promise<void>((resolve) => rp.listen(0, '127.0.0.1', resolve));
    rpUrl = `http://127.0.0.1:${(rp.address() as AddressInfo).port}`;
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    const config = testConfig({ publicUrl, host: '127.0.0.1', port, passwordHashCost: 10, dataDir });
    store = openStore(join(dataDir, 'gatehouse.db'));
    await store.migrate();
    app = await createGatehouse(config, { store, clock: systemClock });
    await app.start();
    const admin = new AdminService(config, config.keySecret, store, app.core, systemClock);
    const users = new UserService(config, store, systemClock);
    for (const env of ['DEVELOPMENT', 'BRANDED']) {
      await admin.createEnvironment(env);
      const created = await admin.createClient({
        env,
        name: 'Invoice App',
        grantTypes: ['authorization_code'],
        scopes: ['openid', 'profile', 'invoices:read'],
        redirectUris: [`${rpUrl}/callback`],
      });
      clients[env] = created.client_id;
      await users.create({ env, username: USERNAME, password: PASSWORD });
    }
    for (const env of ['DEVELOPMENT', 'BRANDED']) {
      const device = await admin.createClient({
        env,
        name: 'Living Room TV',
        kind: 'public',
        grantTypes: [DEVICE_CODE_GRANT],
        scopes: ['openid', 'profile'],
        redirectUris: [],
      });
      deviceClients[env] = device.client_id;
    }
    await brandAcme(store, 'BRANDED', {
      ar: {
        'login.title': 'تسجيل الدخول',
        'login.lead': 'يطلب {client} الوصول إلى حسابك.',
        'login.username': 'اسم المستخدم',
        'login.password': 'كلمة المرور',
        'login.submit': 'دخول',
      },
    });
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
      scope: 'openid profile invoices:read',
      state: randomBytes(8).toString('hex'),
      code_challenge: s256Challenge(randomBytes(32).toString('base64url')),
      code_challenge_method: 'S256',
      ...extra,
    })}`;

  /** Every page of one environment, in its language: axe in every mode, the keyboard alone. */
  async function walkEveryPage(look: Look): Promise<void> {
    const { env, prefix, texts } = look;
    const { context, page, problems } = await openPage(browser, look.locale);
    const issuer = `${publicUrl}/envs/${env}`;
    try {
      await page.goto(authorizeUrl(env));
      await page.waitForURL(/\/login\?/);
      await checkEveryMode(page, `${prefix}login`, SHOTS, results);
      const order = await tabOrder(page, 'username');
      // The passkey button (passkeys are on for every environment) comes after the password form.
      assert.deepEqual(
        order,
        ['username', 'password', `button:=${texts['login.submit']}`, 'passkey-button', ...(look.support ? [`a:=${texts['page.support']}`] : [])],
        `tab order ${order.join(' → ')}`,
      );
      // Keyboard only: the username has focus on arrival; a wrong password, then Enter.
      await page.goto(page.url());
      await page.keyboard.type(USERNAME);
      await page.keyboard.press('Tab');
      await page.keyboard.type('wrong password');
      await page.keyboard.press('Enter');
      await page.waitForSelector('#login-error');
      await checkEveryMode(page, `${prefix}login-error`, SHOTS, results);
      // The password field has focus after a failure (autofocus, applied as the page loads); Enter submits.
      await page.waitForFunction("document.activeElement?.id === 'password'");
      await page.keyboard.type(PASSWORD);
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/consent\?/);
      await checkEveryMode(page, `${prefix}consent`, SHOTS, results);
      const consentOrder = await tabOrder(page);
      assert.ok(consentOrder.includes('button:decision=allow') && consentOrder.includes('button:decision=deny'), consentOrder.join(' → '));
      await pressByKeyboard(page, 'button[value="allow"]');
      await page.waitForURL((url) => url.href.startsWith(`${rpUrl}/callback`));

      const started = await fetch(`${issuer}/device_authorization`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: deviceClients[env] as string, scope: 'openid profile' }),
      });
      const { user_code: userCode } = (await started.json()) as { user_code: string };
      await page.goto(`${issuer}/device`);
      await checkEveryMode(page, `${prefix}device-entry`, SHOTS, results);
      await page.keyboard.type(userCode);
      await page.keyboard.press('Enter');
      await page.waitForSelector('button[value="allow"]');
      await checkEveryMode(page, `${prefix}device-decision`, SHOTS, results);
      await pressByKeyboard(page, 'button[value="allow"]');
      await page.waitForSelector('h1');
      assert.equal(await page.locator('h1').textContent(), texts['device.connectedTitle']);
      await checkEveryMode(page, `${prefix}device-done`, SHOTS, results);

      await page.goto(`${issuer}/logout`);
      await checkEveryMode(page, `${prefix}logout-confirm`, SHOTS, results);
      await pressByKeyboard(page, 'button[name="confirm"]');
      await page.waitForSelector(`text=${texts['logout.doneHeading']}`);
      await checkEveryMode(page, `${prefix}logout-done`, SHOTS, results);

      await page.goto(`${issuer}/authorize?client_id=unknown&response_type=code`);
      await checkEveryMode(page, `${prefix}error`, SHOTS, results);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  }

  it('login, consent, device, logout and error pages: no violation, keyboard only', () =>
    walkEveryPage({ env: 'DEVELOPMENT', locale: 'en-US', prefix: '', texts: en, support: false }));

  it('every page again in a branded environment whose default language is German', () =>
    walkEveryPage({ env: 'BRANDED', locale: 'sv-SE', prefix: 'branded-de-all-', texts: de, support: true }));

  it('a branded environment in German (its default), French (ui_locales) and Arabic (right to left)', async () => {
    const { context, page, problems } = await openPage(browser, 'sv-SE');
    try {
      // The walk above may have left a consent for this client: asking again shows the page.
      await page.goto(authorizeUrl('BRANDED', { prompt: 'consent' }));
      await page.waitForURL(/\/login\?/);
      assert.equal(await page.getAttribute('html', 'lang'), 'de');
      assert.equal(await page.title(), 'Anmelden · Acme Cloud');
      assert.ok(
        await page.evaluate<boolean>(
          `(() => { const img = document.querySelector('img[alt="Logo von Acme Cloud"]'); return img.complete && img.naturalWidth > 0; })()`,
        ),
        'logo loads',
      );
      await checkEveryMode(page, 'branded-de-login', SHOTS, results);
      await page.keyboard.type(USERNAME);
      await page.keyboard.press('Tab');
      await page.keyboard.type(PASSWORD);
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/consent\?/);
      assert.equal(await page.locator('button[value="allow"]').textContent(), 'Erlauben');
      await checkEveryMode(page, 'branded-de-consent', SHOTS, results);

      // The language switch: the client asks for French.
      await page.goto(authorizeUrl('BRANDED', { ui_locales: 'fr', prompt: 'login' }));
      await page.waitForURL(/\/login\?/);
      assert.equal(await page.getAttribute('html', 'lang'), 'fr');
      await checkEveryMode(page, 'branded-fr-login', SHOTS, results);

      // Arabic, from the operator's texts: right to left, the layout mirrored.
      await page.goto(authorizeUrl('BRANDED', { ui_locales: 'ar', prompt: 'login' }));
      await page.waitForURL(/\/login\?/);
      assert.equal(await page.getAttribute('html', 'dir'), 'rtl');
      assert.equal(await page.locator('h1').textContent(), 'تسجيل الدخول');
      await checkEveryMode(page, 'branded-ar-login', SHOTS, results);
      await page.setViewportSize({ width: 390, height: 844 });
      // The label's text sits at the right edge of its field, as right-to-left text does.
      const [textLeft, textRight, fieldLeft, fieldRight] = await page.evaluate<number[]>(`(() => {
        const range = document.createRange();
        range.selectNodeContents(document.querySelector('label[for="username"]'));
        const text = range.getBoundingClientRect();
        const field = document.querySelector('#username').getBoundingClientRect();
        return [text.left, text.right, field.left, field.right];
      })()`);
      assert.ok(Math.abs((textRight as number) - (fieldRight as number)) < 2, 'the label text ends at the right edge of the field');
      assert.ok((textLeft as number) > (fieldLeft as number) + 40, 'the label text does not start at the left');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
