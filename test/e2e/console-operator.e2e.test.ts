import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { ADMIN_API_IDENTIFIER } from '../../src/admin-api/auth.ts';
import { bootstrapAdmin } from '../../src/admin-api/bootstrap.ts';
import { AuditRecorder, NO_AUDIT_LINES } from '../../src/audit/recorder.ts';
import { CONSOLE_CLIENT_NAME } from '../../src/console/bootstrap.ts';
import { systemClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import { type AdminServices, createAdminServices } from '../../src/server/admin.ts';
import { type Server as App, createServer as createGatehouse } from '../../src/server/server.ts';
import { openStore } from '../../src/store/open.ts';
import { testConfig } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/net.ts';

/*
 * An operator whose console sign-in carries only admin:read:STAGING and admin:write:STAGING, in
 * Debian's Chromium: signs in through Gatehouse's real login page with no consent page (the
 * console is first-party), sees their name and only STAGING, and walks the APIs, quotas and
 * key-rotation pages, saving a change on each; the audit log names them. Then, allowed every
 * environment, they rotate a client's secret and revoke the old one, and the audit page names
 * them (by name, with the recorded actor) for both. Screenshots go to
 * test-artifacts/screenshots/console-operator/.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = join(ROOT, 'test-artifacts', 'screenshots', 'console-operator');
const MANAGEMENT = 'MANAGEMENT';
const PASSWORD = 'correct horse battery staple';
const WAIT_MS = 15_000;
const SCOPED = ['admin:read:STAGING', 'admin:write:STAGING'];

describe('web console: an operator with one environment, in Chromium', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-console-operator-e2e-'));
  let store: Store | undefined;
  let app: App | undefined;
  let browser: Browser | undefined;
  let publicUrl: string;
  let consoleUrl: string;
  let services: AdminServices;
  let operatorId: string;
  let consoleClientId: string;

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: this test drives Debian's Chromium (apt-get install chromium). It is not skipped on purpose.`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    const port = await freePort();
    const consolePort = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    consoleUrl = `http://127.0.0.1:${consolePort}`;
    // The admin listener's port: the console's callback there is what makes its sign-in first-party.
    const config = testConfig({ publicUrl, host: '127.0.0.1', port, passwordHashCost: 10, dataDir, adminPort: consolePort, adminEnvironment: MANAGEMENT });
    store = openStore(join(dataDir, 'gatehouse.db'));
    await store.migrate();
    const audit = new AuditRecorder(store.audit, systemClock, NO_AUDIT_LINES, { outbox: false });
    services = createAdminServices(config, store, systemClock, undefined, { audit, actor: { kind: 'system', id: 'setup' } });
    // As a deployment starts: the management environment and its admin API, then the data.
    await bootstrapAdmin(services, MANAGEMENT);
    for (const env of ['STAGING', 'PROD']) await services.admin.createEnvironment(env);
    operatorId = (await services.users.create({ env: MANAGEMENT, username: 'dana', password: PASSWORD, profile: { name: 'Dana Ops' } })).user_id;
    await services.admin.createClient({ env: 'STAGING', name: 'Storefront', scopes: ['orders:read'] });
    await services.admin.createClient({ env: 'STAGING', name: 'Billing job', scopes: ['orders:read'] });
    await services.apis.create({
      env: 'STAGING',
      identifier: 'https://orders.example.test/',
      name: 'Orders',
      scopes: [{ name: 'orders:read', description: 'Read orders' }],
    });
    // The admin API defines the per-environment scopes, so tokens for it may carry them.
    const adminApi = await services.apis.show(MANAGEMENT, ADMIN_API_IDENTIFIER);
    const perEnvironment = SCOPED.map((name) => ({ name, description: `${name.split(':')[1]} STAGING` }));
    await services.apis.update(MANAGEMENT, ADMIN_API_IDENTIFIER, { scopes: [...adminApi.scopes, ...perEnvironment] });
    // The node mounts the console on its admin listener, as in production.
    app = await createGatehouse(config, { store, clock: systemClock });
    assert.equal(await app.start(), publicUrl);
    services = createAdminServices(config, store, systemClock, app.core, { audit, actor: { kind: 'system', id: 'setup' } });
    const consoleClient = (await services.admin.listClients(MANAGEMENT)).find((c) => c.name === CONSOLE_CLIENT_NAME);
    assert.ok(consoleClient, 'the node created the console client');
    consoleClientId = consoleClient.client_id;
    // This console hands out STAGING only: its client's default scopes are what its sign-in asks for.
    await services.admin.updateClient(MANAGEMENT, consoleClientId, { scopes: SCOPED, defaultScopes: SCOPED });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: WAIT_MS,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });

  after(async () => {
    try {
      await browser?.close().catch(() => undefined);
      await app?.stop();
      await store?.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

  /**
   * A fresh browser context signed in as dana. The console is first-party: the login page leads
   * straight to the console, no consent page in between, and its top bar names the operator as `who`.
   */
  const signIn = async (who: string) => {
    assert.ok(browser);
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light', locale: 'en-US' });
    context.setDefaultTimeout(WAIT_MS);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${consoleUrl}/console/`);
    await page.waitForURL(new RegExp(`^${publicUrl}/envs/${MANAGEMENT}/login\\?`));
    await page.getByLabel('Username').fill('dana');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${consoleUrl}/console/envs`);
    assert.equal(await page.locator('.who').textContent(), who);
    return { context, page, problems };
  };

  it('signs in without consent, sees only STAGING by name, and changes an API, a quota and the rotation schedule', async () => {
    const { context, page, problems } = await signIn('Dana Ops (dana) (STAGING only)');
    try {
      assert.equal(await page.getByRole('link', { name: 'PROD' }).count(), 0);
      assert.equal(await page.getByRole('link', { name: 'Audit events' }).count(), 0);
      await shot(page, '01-environments-scoped');

      await page.goto(`${consoleUrl}/console/envs/PROD/clients`);
      assert.match((await page.locator('main').textContent()) ?? '', /may not see environment PROD/);
      await shot(page, '02-other-environment-refused');

      await page.goto(`${consoleUrl}/console/envs/STAGING/apis`);
      await shot(page, '03-apis');
      await page.getByRole('link', { name: 'Orders' }).click();
      await page.getByLabel('Scopes').fill('orders:read: Read orders\norders:write: Change orders');
      await page.getByLabel(/Storefront/).check();
      await page.getByRole('button', { name: 'Save API' }).click();
      await page.waitForURL(/\?done=saved$/);
      await shot(page, '04-api-saved');
      const api = await services.apis.show('STAGING', 'https://orders.example.test/');
      assert.deepEqual(
        api.scopes.map((s) => s.name),
        ['orders:read', 'orders:write'],
      );
      assert.equal(api.clients.length, 1);

      await page.getByRole('link', { name: 'Quotas' }).click();
      await page.getByLabel('Default quota (requests per window)').fill('1000');
      await page.getByRole('button', { name: 'Save default quota' }).click();
      await page.waitForURL(/quotas\?done=saved$/);
      await page.getByRole('textbox', { name: 'Quota of Billing job' }).fill('0');
      await page.getByRole('button', { name: 'Save the quota of Billing job' }).click();
      await page.getByRole('alert').waitFor();
      assert.match((await page.getByRole('alert').textContent()) ?? '', /a quota is a whole number of requests per window, 1\.\.100000000/);
      await shot(page, '05-quotas-error');
      await page.getByRole('textbox', { name: 'Quota of Billing job' }).fill('50');
      await page.getByRole('button', { name: 'Save the quota of Billing job' }).click();
      await page.waitForURL(/quotas\?done=saved$/);
      await shot(page, '06-quotas-saved');
      assert.equal((await services.admin.getEnvironment('STAGING')).default_quota, 1000);

      await page.getByRole('link', { name: 'Key rotation' }).click();
      await page.getByLabel('Rotate every (seconds)').fill('2592000');
      await page.getByRole('button', { name: 'Save schedule' }).click();
      await page.waitForURL(/rotation\?done=saved$/);
      assert.match((await page.locator('main').textContent()) ?? '', /every 2592000 s \(30 days\)/);
      await shot(page, '07-rotation-saved');

      const events = await (store as Store).audit.list({ limit: 10, envName: 'STAGING' });
      const operator = { kind: 'admin_client', id: `${consoleClientId}/${operatorId}` };
      for (const type of ['api.updated', 'environment.quota_changed', 'client.quota_changed', 'environment.rotation_schedule_changed']) {
        assert.deepEqual(events.find((e) => e.type === type)?.actor, operator, `${type} names the operator`);
      }
      assert.equal((await services.admin.listClients(MANAGEMENT)).find((c) => c.client_id === consoleClientId)?.name, CONSOLE_CLIENT_NAME);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('rotates then revokes a client secret, and the audit page names the operator who did it', async () => {
    // This console now hands out every environment: the audit log spans them all and needs admin:read.
    await services.admin.updateClient(MANAGEMENT, consoleClientId, { scopes: ['admin:read', 'admin:write'], defaultScopes: ['admin:read', 'admin:write'] });
    const storefront = (await services.admin.listClients('STAGING')).find((c) => c.name === 'Storefront');
    assert.ok(storefront);
    const [original] = await services.admin.listClientSecrets('STAGING', storefront.client_id);
    assert.ok(original?.id);
    const { context, page, problems } = await signIn('Dana Ops (dana)');
    try {
      await page.goto(`${consoleUrl}/console/envs/STAGING/clients`);
      await page.getByRole('link', { name: 'Storefront' }).click();
      await page.getByRole('button', { name: 'Rotate secret' }).click();
      await page.getByRole('heading', { name: 'New secret for Storefront' }).waitFor();
      await page.getByRole('link', { name: 'Done: go to Storefront' }).click();
      assert.equal((await services.admin.listClientSecrets('STAGING', storefront.client_id)).length, 2);
      await page.getByRole('button', { name: `Revoke ${original.id}` }).click();
      await page.waitForURL(/\?done=secret-revoked$/);
      await shot(page, '08-secret-revoked');
      const left = await services.admin.listClientSecrets('STAGING', storefront.client_id);
      assert.deepEqual(
        left.map((secret) => secret.id === original.id),
        [false],
        'only the new secret is left',
      );

      // The stored events keep the recorded actor: the console client and the operator's user id.
      const operator = { kind: 'admin_client', id: `${consoleClientId}/${operatorId}` };
      const events = await (store as Store).audit.list({ limit: 10, envName: 'STAGING' });
      for (const type of ['client.secret_rotated', 'client.secret_revoked']) {
        assert.deepEqual(events.find((e) => e.type === type)?.actor, operator, `${type} is stored with the operator as actor`);
      }

      await page.getByRole('link', { name: 'Audit events' }).click();
      await page.getByLabel('Filter events').fill('client.secret_');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL(/\/console\/audit\?q=client\.secret_$/);
      const revoked = page.locator('tbody tr', { has: page.locator('code', { hasText: 'client.secret_revoked' }) });
      assert.equal(await revoked.count(), 1);
      const actorCell = revoked.locator('td').nth(2);
      assert.equal(await actorCell.locator('.actor-id').textContent(), `admin_client ${consoleClientId}/${operatorId}`);
      assert.match((await actorCell.textContent()) ?? '', /^Dana Ops \(dana\)admin_client /);
      assert.match((await revoked.textContent()) ?? '', new RegExp(`client ${storefront.client_id}`));
      const rotated = page.locator('tbody tr', { has: page.locator('code', { hasText: 'client.secret_rotated' }) });
      assert.match((await rotated.first().locator('td').nth(2).textContent()) ?? '', /^Dana Ops \(dana\)/);
      const overflow = await page.locator('.table-wrap').evaluate((wrap) => wrap.scrollWidth - wrap.clientWidth);
      assert.ok(overflow <= 0, `every column of the audit table fits the page (${overflow}px hidden)`);
      await shot(page, '09-audit-secret-revoked');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
