import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as oidc from 'openid-client';
import { TOTP } from 'otpauth';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { AdminService } from '../../src/admin/admin-service.ts';
import { UserService } from '../../src/admin/users.ts';
import { systemClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import { ACR_MFA } from '../../src/oauth/openid/acr.ts';
import { type Server as App, createServer as createGatehouse } from '../../src/server/server.ts';
import { launchChromium, WAIT_MS } from '../helpers/chromium.ts';
import { testDatabases } from '../helpers/databases.ts';
import { testConfig } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/net.ts';

/*
 * Second factors and passkeys in Chromium: a user enrols TOTP on the page (the secret read from
 * it, codes computed with otpauth), passes the required second factor, adds a passkey with a
 * DevTools virtual authenticator, uses it as the second factor, then signs in with the passkey
 * alone (through autofill, and through the button); a second user, who never enrols TOTP,
 * adds a passkey after a password sign-in and signs in with it alone. openid-client, an
 * independent relying party, redeems each code and checks the ID Token; `amr` and `acr` say how
 * the user signed in. Screenshots go to test-artifacts/screenshots/mfa-*.png.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCREENSHOTS = join(ROOT, 'test-artifacts', 'screenshots');
const ENV = 'DEVELOPMENT';
const USERNAME = 'erin';
const PASSWORD = 'correct horse battery staple';
/** The environment (default policy) and user of the passkey-only sign-in. */
const PASSKEY_ENV = 'PASSKEYS';
const PASSKEY_USER = 'frank';
/** A platform authenticator with discoverable credentials and user verification (a DevTools virtual one). */
const AUTHENTICATOR = { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true } as const;

/** The credentials of a virtual authenticator, private keys included. */
const exportPasskeys = async (cdp: CDPSession, authenticatorId: string) => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;

/** The client's redirect_uri: hands each request to /callback to the waiting test. */
class CallbackServer {
  private waiters: ((url: URL) => void)[] = [];
  private readonly server: Server;
  url = '';
  constructor() {
    this.server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', this.url);
      response.writeHead(url.pathname === '/callback' ? 200 : 404, { 'content-type': 'text/plain' }).end('done');
      if (url.pathname === '/callback') for (const waiter of this.waiters.splice(0)) waiter(url);
    });
  }
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  next(): Promise<URL> {
    return new Promise<URL>((resolve, reject) => {
      this.waiters.push(resolve);
      setTimeout(() => reject(new Error('no request reached the callback')), WAIT_MS).unref();
    });
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

for (const database of await testDatabases()) {
  describe(`TOTP and passkeys in Chromium with openid-client (${database.name})`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-mfa-e2e-'));
    const callback = new CallbackServer();
    let store: Store;
    let cleanup: () => Promise<void>;
    let app: App;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    let rp: oidc.Configuration;
    let issuer: string;
    let passkeyRp: oidc.Configuration;
    let passkeyIssuer: string;
    const problems: string[] = [];

    before(async () => {
      mkdirSync(SCREENSHOTS, { recursive: true });
      await callback.start();
      // WebAuthn needs a domain as relying-party id: the pages are served as http://localhost (a secure context).
      const port = await freePort();
      const publicUrl = `http://localhost:${port}`;
      const config = testConfig({ publicUrl, host: '127.0.0.1', port, passwordHashCost: 10, dataDir });
      ({ store, cleanup } = await database.open());
      app = await createGatehouse(config, { store, clock: systemClock });
      await app.start();
      const admin = new AdminService(config, config.keySecret, store, app.core, systemClock);
      await admin.createEnvironment(ENV);
      /** The relying party's client in `env`, a confidential OpenID Connect code-flow client. */
      const ledger = (env: string) =>
        admin.createClient({ env, name: 'Ledger', grantTypes: ['authorization_code'], scopes: ['openid'], redirectUris: [`${callback.url}/callback`] });
      const created = await ledger(ENV);
      await new UserService(config, store, systemClock).create({ env: ENV, username: USERNAME, password: PASSWORD });
      const env = await store.environments.findByName(ENV);
      assert.ok(env);
      await store.secondFactors.savePolicy(
        env.id,
        { secondFactor: 'required', requiredClients: [], requiredScopes: [], webauthnRpId: null, webauthnOrigins: [] },
        Date.now(),
      );
      // A second user, in an environment with the default policy (a second factor only for those
      // who enrolled one), who never enrols TOTP and signs in with a passkey.
      await admin.createEnvironment(PASSKEY_ENV);
      const passkeyApp = await ledger(PASSKEY_ENV);
      await new UserService(config, store, systemClock).create({ env: PASSKEY_ENV, username: PASSKEY_USER, password: PASSWORD });
      passkeyIssuer = `${publicUrl}/envs/${PASSKEY_ENV}`;
      passkeyRp = await oidc.discovery(new URL(passkeyIssuer), passkeyApp.client_id, passkeyApp.client_secret as string, undefined, {
        execute: [oidc.allowInsecureRequests],
      });
      issuer = `${publicUrl}/envs/${ENV}`;
      rp = await oidc.discovery(new URL(issuer), created.client_id, created.client_secret as string, undefined, { execute: [oidc.allowInsecureRequests] });
      browser = await launchChromium();
      context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light', locale: 'en-US' });
      context.setDefaultTimeout(WAIT_MS);
      page = await context.newPage();
      page.on('console', (m) => {
        if (!m.text().startsWith('Failed to load resource:')) problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    });

    after(async () => {
      await browser?.close().catch(() => undefined);
      await callback.stop();
      await app?.stop();
      await cleanup?.();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `mfa-${database.name}-${name}.png`), fullPage: true });

    /** Starts a sign-in at the client; `finish` waits for the callback and redeems the code with openid-client. */
    async function signIn(extra: Record<string, string> = {}, relyingParty = rp) {
      const verifier = oidc.randomPKCECodeVerifier();
      const nonce = oidc.randomNonce();
      const state = oidc.randomState();
      const url = oidc.buildAuthorizationUrl(relyingParty, {
        redirect_uri: `${callback.url}/callback`,
        scope: 'openid',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        nonce,
        state,
        ...extra,
      });
      const arrived = callback.next();
      await page.goto(url.href);
      return {
        finish: async () => {
          const callbackUrl = await arrived;
          // The browser has landed on the callback: the next navigation cannot interrupt this one.
          await page.waitForURL((url) => url.pathname === '/callback');
          const tokens = await oidc.authorizationCodeGrant(relyingParty, callbackUrl, {
            pkceCodeVerifier: verifier,
            expectedNonce: nonce,
            expectedState: state,
          });
          return tokens.claims();
        },
      };
    }

    let secret = '';
    let cdp: CDPSession;
    let authenticatorId = '';
    /** The passkey the third test registers, with its private key, to put in a new authenticator. */
    let passkey: Awaited<ReturnType<typeof exportPasskeys>>[number] | undefined;

    /**
     * Takes the passkey out of the browser: without an authenticator the login page's autofill
     * request (conditional mediation) waits, so a later page can be driven by its button.
     */
    async function unplugAuthenticator(): Promise<void> {
      // No page is left waiting on a passkey request that the authenticator could answer later.
      await page.goto('about:blank');
      if (authenticatorId === '') return;
      const credentials = await exportPasskeys(cdp, authenticatorId);
      assert.equal(credentials.length, 1);
      passkey = credentials[0];
      await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
      authenticatorId = '';
    }

    async function storedPasskey() {
      const env = await store.environments.findByName(ENV);
      const user = env && (await store.users.findByUsername(env.id, USERNAME));
      const [stored] = await store.passkeys.listByUser(env?.id ?? '', user?.userId ?? '');
      assert.ok(stored);
      return stored;
    }

    /** Puts an authenticator holding the passkey back, as a user plugging in their security key. */
    async function plugAuthenticator(): Promise<void> {
      assert.ok(passkey, 'a passkey was registered');
      assert.equal(authenticatorId, '', 'the authenticator was unplugged first');
      ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: AUTHENTICATOR }));
      await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: passkey });
    }

    it('enrols TOTP at the first sign-in and passes the required second factor', async () => {
      const flow = await signIn();
      await page.fill('#username', USERNAME);
      await page.fill('#password', PASSWORD);
      await shot('login');
      await page.click('button[type=submit]');
      await page.waitForSelector('#totp-secret');
      await shot('totp-enrolment');
      secret = (await page.getAttribute('#totp-secret', 'data-secret')) ?? '';
      assert.match(secret, /^[A-Z2-7]{32}$/);
      await page.fill('#code', new TOTP({ secret }).generate());
      await page.click('button[type=submit]');
      await page.waitForSelector('#recovery-codes');
      assert.equal(await page.locator('#recovery-codes li').count(), 10);
      await shot('recovery-codes');
      await page.click('button[type=submit]');
      await page.waitForSelector('button[value=allow]');
      await shot('consent');
      await page.click('button[value=allow]');
      const claims = await flow.finish();
      assert.deepEqual(claims?.amr, ['pwd', 'otp', 'mfa']);
      assert.equal(claims?.acr, ACR_MFA);
    });

    it('signs in again with the password and a code', async () => {
      const flow = await signIn({ prompt: 'login' });
      assert.equal(await page.getAttribute('#username', 'autocomplete'), 'username webauthn');
      assert.ok(await page.isVisible('#passkey-button'), 'the login page offers a passkey');
      await page.fill('#username', USERNAME);
      await page.fill('#password', PASSWORD);
      await page.click('button[type=submit]');
      await page.waitForSelector('#code');
      await shot('totp-code');
      // The code of the step after the enrolment's (RFC 6238 §5.2: each code once; one step of drift allowed).
      await page.fill('#code', new TOTP({ secret }).generate({ timestamp: Date.now() + 30_000 }));
      await page.click('button[type=submit]');
      const claims = await flow.finish();
      assert.deepEqual(claims?.amr, ['pwd', 'otp', 'mfa']);
    });

    it('adds a passkey on the account page with a virtual authenticator', async () => {
      cdp = await context.newCDPSession(page);
      await cdp.send('WebAuthn.enable');
      ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: AUTHENTICATOR }));
      await page.goto(`${issuer}/account`);
      await page.waitForSelector('#passkey-button');
      await shot('account-empty');
      await page.click('#passkey-button');
      await page.waitForSelector('ul#passkey-list li');
      await shot('account-passkey');
      await storedPasskey();
    });

    it('passes the second factor with a passkey after the password', async () => {
      await unplugAuthenticator();
      const flow = await signIn({ prompt: 'login' });
      await page.fill('#username', USERNAME);
      await page.fill('#password', PASSWORD);
      await page.click('button[type=submit]');
      await page.waitForSelector('#code');
      assert.equal((await page.textContent('#passkey-button'))?.trim(), 'Use a passkey');
      await shot('second-factor-passkey');
      await plugAuthenticator();
      await page.click('#passkey-button');
      const claims = await flow.finish();
      assert.deepEqual(claims?.amr, ['pwd', 'hwk', 'mfa']);
      assert.equal(claims?.acr, ACR_MFA);
      assert.deepEqual(problems, []);
    });

    it('signs in with the passkey alone through autofill, even while the password is locked out', async () => {
      await unplugAuthenticator();
      // Someone guesses the password until the username is throttled (GATEHOUSE_LOGIN_USERNAME_LIMIT, 5 by default).
      await signIn({ prompt: 'login' });
      for (let i = 0; i < 6; i++) {
        await page.fill('#username', USERNAME);
        await page.fill('#password', 'wrong password');
        await page.click('button[type=submit]');
        await page.waitForSelector('#login-error');
      }
      assert.match((await page.textContent('#login-error')) ?? '', /Too many sign-in attempts/);
      await shot('login-throttled');
      await page.goto('about:blank');
      await plugAuthenticator();
      await context.clearCookies();
      // The login page asks for a passkey through the username field's autofill (conditional
      // mediation); Chromium's virtual authenticator answers it with the one discoverable passkey.
      const flow = await signIn();
      const claims = await flow.finish();
      assert.deepEqual(claims?.amr, ['hwk', 'user', 'mfa']);
      assert.equal(claims?.acr, ACR_MFA);
      assert.deepEqual(problems, [], 'no CSP violation or script error on the pages');
    });

    it('signs in with the "Sign in with a passkey" button', async () => {
      await unplugAuthenticator();
      await context.clearCookies();
      const flow = await signIn();
      await page.waitForSelector('#passkey-button');
      assert.equal((await page.textContent('#passkey-button'))?.trim(), 'Sign in with a passkey');
      // The autofill request is pending and finds nothing; the button starts a request of its own.
      const before = await storedPasskey();
      await plugAuthenticator();
      await page.click('#passkey-button');
      const claims = await flow.finish();
      assert.deepEqual(claims?.amr, ['hwk', 'user', 'mfa']);
      assert.equal(claims?.acr, ACR_MFA);
      // The authenticator's signature counter moved on, and the stored one with it (WebAuthn §6.1.1).
      assert.ok((await storedPasskey()).counter > before.counter);
      assert.deepEqual(problems, []);
    });

    it('another user, who never enrols TOTP, registers a passkey after a password sign-in and then signs in with it alone', async () => {
      await unplugAuthenticator();
      await context.clearCookies();
      const first = await signIn({}, passkeyRp);
      await page.fill('#username', PASSKEY_USER);
      await page.fill('#password', PASSWORD);
      await page.click('button[type=submit]');
      await page.waitForSelector('button[value=allow]');
      await page.click('button[value=allow]');
      const password = await first.finish();
      assert.deepEqual(password?.amr, ['pwd']);
      // The account page, in the session the password opened: a first factor may be added with it.
      ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: AUTHENTICATOR }));
      await page.goto(`${passkeyIssuer}/account`);
      await page.click('#passkey-button');
      await page.waitForSelector('ul#passkey-list li');
      await shot('second-user-passkey');
      await context.clearCookies();
      const flow = await signIn({}, passkeyRp);
      const claims = await flow.finish();
      assert.deepEqual(claims?.amr, ['hwk', 'user', 'mfa']);
      assert.equal(claims?.acr, ACR_MFA);
      assert.equal(claims?.sub, password?.sub);
      assert.deepEqual(problems, []);
    });
  });
}
