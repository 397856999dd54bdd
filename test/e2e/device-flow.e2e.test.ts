import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import type { Browser } from 'playwright-core';
import { AdminService } from '../../src/admin/admin-service.ts';
import { UserService } from '../../src/admin/users.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import { DEVICE_CODE_GRANT } from '../../src/oauth/device/device-authorization.ts';
import { type Server as App, createServer as createGatehouse } from '../../src/server/server.ts';
import { openStore } from '../../src/store/open.ts';
import { launchChromium, WAIT_MS } from '../helpers/chromium.ts';
import { testDatabases } from '../helpers/databases.ts';
import { testConfig } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/net.ts';

/*
 * The device authorization grant end to end: oauth4webapi plays the device (device authorization
 * request, polling), Debian's Chromium plays the user on the verification page (code pre-filled
 * from verification_uri_complete, sign-in, decision). The server's clock is a manual one, so
 * slow_down and expired_token are shown without waiting. On PostgreSQL, two nodes over one
 * database race to redeem one approved code. Screenshots go to test-artifacts/screenshots/.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCREENSHOTS = join(ROOT, 'test-artifacts', 'screenshots');
const ENV = 'DEVELOPMENT';
const USERNAME = 'tv-owner';
const PASSWORD = 'correct horse battery staple';
const insecure = { [oauth.allowInsecureRequests]: true } as const;

interface Node {
  app: App;
  as: oauth.AuthorizationServer;
}

/** A Gatehouse node on 127.0.0.1 over `store`, with `publicUrl` as its issuer base. */
async function startNode(store: Store, clock: ManualClock, publicUrl: string, port: number): Promise<App> {
  const app = await createGatehouse(testConfig({ publicUrl, host: '127.0.0.1', port, passwordHashCost: 10 }), { store, clock });
  await app.start();
  return app;
}

/** The environment's metadata as oauth4webapi reads it (OpenID Connect Discovery). */
async function discover(publicUrl: string): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(`${publicUrl}/envs/${ENV}`);
  return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }));
}

for (const database of await testDatabases()) {
  describe(`device flow with oauth4webapi and Chromium on ${database.name}`, () => {
    const clock = new ManualClock(Date.now());
    let opened: Awaited<ReturnType<typeof database.open>> | undefined;
    let second: Store | undefined;
    let nodes: Node[] = [];
    let browser: Browser | undefined;
    let client: oauth.Client;
    const none = oauth.None();

    before(async () => {
      mkdirSync(SCREENSHOTS, { recursive: true });
      opened = await database.open();
      const port = await freePort();
      const publicUrl = `http://127.0.0.1:${port}`;
      const app = await startNode(opened.store, clock, publicUrl, port);
      const admin = new AdminService(testConfig({ publicUrl, passwordHashCost: 10 }), testConfig().keySecret, opened.store, app.core, clock);
      await admin.createEnvironment(ENV);
      const created = await admin.createClient({
        env: ENV,
        name: 'Living Room TV',
        kind: 'public',
        grantTypes: [DEVICE_CODE_GRANT, 'refresh_token'],
        scopes: ['openid', 'profile'],
        redirectUris: [],
      });
      client = { client_id: created.client_id };
      await new UserService(testConfig({ passwordHashCost: 10 }), opened.store, clock).create({ env: ENV, username: USERNAME, password: PASSWORD });
      const as = await discover(publicUrl);
      assert.equal(as.device_authorization_endpoint, `${publicUrl}/envs/${ENV}/device_authorization`);
      nodes.push({ app, as });
      if (database.name === 'postgres') {
        // A second node: its own store (connection pool) over the same schema, its own listener,
        // the same issuer; the device polls its token endpoint at this node's own address.
        second = openStore(opened.url, { postgresSchema: opened.schema as string, poolSize: 5 });
        const otherPort = await freePort();
        const other = await startNode(second, clock, publicUrl, otherPort);
        nodes.push({ app: other, as: { ...as, token_endpoint: `http://127.0.0.1:${otherPort}/envs/${ENV}/token` } });
      }
      browser = await launchChromium();
    });

    after(async () => {
      await browser?.close();
      for (const node of nodes) await node.app.stop();
      nodes = [];
      await second?.close();
      await opened?.cleanup();
    });

    const node = () => nodes[0] as Node;
    const startDevice = async () => {
      const response = await oauth.deviceAuthorizationRequest(node().as, client, none, { scope: 'openid profile' }, insecure);
      return oauth.processDeviceAuthorizationResponse(node().as, client, response);
    };
    const pollOnce = async (deviceCode: string, on = node()) =>
      oauth.processDeviceCodeResponse(on.as, client, await oauth.deviceCodeGrantRequest(on.as, client, none, deviceCode, insecure));
    const pollError = async (deviceCode: string): Promise<string> => {
      try {
        await pollOnce(deviceCode);
      } catch (error) {
        assert.ok(error instanceof oauth.ResponseBodyError, String(error));
        return error.error;
      }
      assert.fail('the poll succeeded');
    };

    /** The user's side in Chromium: the link pre-fills the code; sign in; approve. */
    async function approveInChromium(verificationUriComplete: string, userCode: string, shots: string): Promise<void> {
      const context = await (browser as Browser).newContext({ viewport: { width: 1280, height: 800 } });
      try {
        const page = await context.newPage();
        page.setDefaultTimeout(WAIT_MS);
        await page.goto(verificationUriComplete);
        assert.equal(await page.inputValue('#user_code'), userCode);
        assert.match((await page.textContent('body')) ?? '', /Only use a code shown on a device you own/);
        await page.screenshot({ path: join(SCREENSHOTS, `${shots}-1-code.png`), fullPage: true });
        await page.click('button[type=submit]');
        await page.waitForURL(/\/login\?request=/);
        await page.fill('#username', USERNAME);
        await page.fill('#password', PASSWORD);
        await page.screenshot({ path: join(SCREENSHOTS, `${shots}-2-login.png`), fullPage: true });
        await page.click('button[type=submit]');
        await page.waitForURL(/\/device\?request=/);
        const decision = (await page.textContent('main')) ?? '';
        assert.match(decision, /Allow Living Room TV on your device\?/);
        assert.ok(decision.includes(userCode), 'the decision page shows the code');
        await page.screenshot({ path: join(SCREENSHOTS, `${shots}-3-decision.png`), fullPage: true });
        await page.click('button[value=allow]');
        await page.waitForSelector('text=Device connected');
        await page.screenshot({ path: join(SCREENSHOTS, `${shots}-4-done.png`), fullPage: true });
      } finally {
        await context.close();
      }
    }

    it('gets tokens after the user approves in Chromium, with slow_down on a too-fast poll', async () => {
      const device = await startDevice();
      assert.equal(device.interval, 5);
      assert.equal(await pollError(device.device_code), 'authorization_pending');
      assert.equal(await pollError(device.device_code), 'slow_down');
      await approveInChromium(device.verification_uri_complete as string, device.user_code, `device-${database.name}`);
      // The interval grew to 10 s: wait it out on the server's clock.
      clock.advance(10_000);
      const tokens = await pollOnce(device.device_code);
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      assert.ok(tokens.refresh_token);
      const claims = oauth.getValidatedIdTokenClaims(tokens);
      assert.equal(claims?.aud, client.client_id);
      assert.equal(typeof decodeJwt(tokens.id_token as string).auth_time, 'number');
    });

    it('answers expired_token once expires_in has passed', async () => {
      const device = await startDevice();
      clock.advance(device.expires_in * 1000);
      assert.equal(await pollError(device.device_code), 'expired_token');
    });

    if (database.name !== 'postgres') return;
    it('gives one approved device code to exactly one of two nodes racing to redeem it', async () => {
      const device = await startDevice();
      await approveInChromium(device.verification_uri_complete as string, device.user_code, 'device-two-nodes');
      clock.advance(10_000);
      const outcomes = await Promise.allSettled([
        ...Array.from({ length: 4 }, () => pollOnce(device.device_code, nodes[0])),
        ...Array.from({ length: 4 }, () => pollOnce(device.device_code, nodes[1])),
      ]);
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
      for (const o of outcomes) if (o.status === 'rejected') assert.equal((o.reason as oauth.ResponseBodyError).error, 'invalid_grant');
    });
  });
}
