import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bootstrapAdmin } from '../../src/admin-api/bootstrap.ts';
import { CONSOLE_CLIENT_NAME } from '../../src/console/bootstrap.ts';
import { systemClock } from '../../src/domain/clock.ts';
import { createAdminServices } from '../../src/server/admin.ts';
import { type CodeFlowFixture, ENV, pkce, REDIRECT_URI, setUpCodeFlow, TestBrowser } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { suiteStore, type TestApp, testConfig } from '../helpers/fixtures.ts';

const ADMIN_PORT = 9310;
const CONSOLE_CALLBACK = `http://127.0.0.1:${ADMIN_PORT}/console/callback`;

/**
 * The console's own sign-in is first-party: the console's own client (the one the node found or
 * created when it mounted the console) sending the user back to the console's callback on the
 * admin listener gets its code without a consent page. Any other client still asks: another
 * confidential client of the management environment on the same callback (even one named like
 * the console's), a public one, or a client of another environment.
 */
for (const database of await testDatabases()) {
  describe(`the console's sign-in asks no consent on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let fixture: CodeFlowFixture;
    let consoleClient: string;
    let sameName: string;
    let otherConfidential: string;
    let publicConsole: string;

    before(async () => {
      const overrides = { passwordHashCost: 10, adminPort: ADMIN_PORT, adminHost: '127.0.0.1', adminEnvironment: ENV };
      // As a deployment starts: the management environment exists, so the node mounts the console
      // and creates its client.
      await bootstrapAdmin(createAdminServices(testConfig(overrides), suite.store, systemClock), ENV);
      t = await suite.build(overrides);
      fixture = await setUpCodeFlow(t);
      const found = (await t.admin.listClients(ENV)).filter((c) => c.name === CONSOLE_CLIENT_NAME);
      assert.equal(found.length, 1, 'the node created the console client');
      consoleClient = found[0]?.client_id ?? '';
      const console = { env: ENV, grantTypes: ['authorization_code'], scopes: ['admin:read'], redirectUris: [CONSOLE_CALLBACK] };
      sameName = (await t.admin.createClient({ ...console, name: CONSOLE_CLIENT_NAME })).client_id;
      otherConfidential = (await t.admin.createClient({ ...console, name: 'ops dashboard' })).client_id;
      publicConsole = (await t.admin.createClient({ ...console, name: 'look-alike', kind: 'public' })).client_id;
    });

    const authorize = (browser: TestBrowser, clientId: string, redirectUri: string, env = ENV) =>
      browser.authorize(
        { response_type: 'code', client_id: clientId, redirect_uri: redirectUri, code_challenge: pkce().challenge, code_challenge_method: 'S256', state: 's' },
        `/envs/${env}/authorize`,
      );

    it('sends the code straight to the console callback after sign-in', async () => {
      const browser = new TestBrowser(t);
      const done = await browser.login(await authorize(browser, consoleClient, CONSOLE_CALLBACK), fixture.username);
      assert.equal(done.statusCode, 303, done.body);
      const location = new URL(String(done.headers.location));
      assert.equal(`${location.origin}${location.pathname}`, CONSOLE_CALLBACK);
      assert.ok(location.searchParams.get('code'));
    });

    it('still asks for another confidential client of the management environment on the same callback', async () => {
      for (const [clientId, why] of [
        [otherConfidential, 'a confidential client of the management environment is not the console'],
        [sameName, 'the console’s name does not make a client the console'],
      ] as const) {
        const browser = new TestBrowser(t);
        const signedIn = await browser.login(await authorize(browser, clientId, CONSOLE_CALLBACK), fixture.username);
        assert.match(String(signedIn.headers.location), /\/consent\?request=/, why);
      }
    });

    it('still asks for any other client, a public client on the same callback, and another environment', async () => {
      const browser = new TestBrowser(t);
      await browser.login(await authorize(browser, consoleClient, CONSOLE_CALLBACK), fixture.username);
      const thirdParty = await authorize(browser, fixture.clientId, REDIRECT_URI);
      assert.match(String(thirdParty.headers.location), /\/consent\?request=/);
      const lookAlike = await authorize(browser, publicConsole, CONSOLE_CALLBACK);
      assert.match(String(lookAlike.headers.location), /\/consent\?request=/);
      const otherFixture = await setUpCodeFlow(t, { env: 'OTHER' });
      const elsewhere = await t.admin.createClient({
        env: 'OTHER',
        name: 'Gatehouse console',
        grantTypes: ['authorization_code'],
        redirectUris: [CONSOLE_CALLBACK],
      });
      const other = new TestBrowser(t);
      const signedIn = await other.login(await authorize(other, elsewhere.client_id, CONSOLE_CALLBACK, 'OTHER'), otherFixture.username);
      assert.match(String(signedIn.headers.location), /\/consent\?request=/, 'only the management environment holds the console');
    });
  });
}
