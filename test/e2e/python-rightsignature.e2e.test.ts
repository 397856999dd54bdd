import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { PASSWORD, setUpCodeFlow } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { ROOT } from '../helpers/dev-server.ts';
import { suiteStore, type TestApp } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/net.ts';
import { createEnvironments, surfacesConfig } from '../helpers/surfaces.ts';

/*
 * RightSignature's integrations are Doorkeeper clients; requests-oauthlib (Debian's
 * python3-requests-oauthlib) is the usual one in Python. It runs the whole flow against the
 * RightSignature surface of the example configuration over real HTTP.
 */

const run = promisify(execFile);
const SCRIPT = join(ROOT, 'test', 'e2e', 'requests_oauthlib_rightsignature.py');
// Nothing listens here: the script stops at the Location header of the last redirect.
const REDIRECT_URI = 'http://127.0.0.1:9/callback';

for (const database of await testDatabases()) {
  describe(`requests-oauthlib against the RightSignature surface on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let base: string;

    before(async () => {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      t = await suite.build({ ...surfacesConfig(), publicUrl: base, port, host: '127.0.0.1' });
      await createEnvironments(t);
      await t.app.start();
    });
    after(async () => t.app.stop());

    it('authorizes without PKCE, exchanges, reads token info, refreshes and revokes', async () => {
      const fixture = await setUpCodeFlow(t, { env: 'PRODUCTION', scopes: ['read'], allowMissingPkce: true });
      const client = await t.admin.createClient({
        env: 'PRODUCTION',
        name: 'RightSignature integration',
        grantTypes: ['authorization_code', 'refresh_token'],
        scopes: ['read'],
        redirectUris: [REDIRECT_URI],
        allowMissingPkce: true,
      });
      const { stdout } = await run('/usr/bin/python3', [SCRIPT, base, client.client_id, String(client.client_secret), fixture.username, REDIRECT_URI], {
        env: { ...process.env, GATEHOUSE_E2E_PASSWORD: PASSWORD },
        timeout: 30_000,
      });
      const summary = JSON.parse(stdout) as Record<string, unknown>;
      assert.equal(summary.handed_over_to, '/envs/PRODUCTION/authorize/rightsignature');
      assert.equal(summary.state_ok, true);
      assert.equal(summary.iss, `${base}/envs/PRODUCTION`);
      assert.equal(summary.token_type, 'bearer');
      assert.equal(summary.expires_in, 7200);
      assert.deepEqual(summary.scope, ['read']); // requests-oauthlib splits it
      assert.equal(summary.created_at, Math.floor(t.clock.now() / 1000));
      assert.deepEqual(summary.info_application, { uid: client.client_id });
      assert.deepEqual(summary.info_scope, ['read']);
      assert.equal(summary.refreshed_new_refresh_token, true);
      assert.equal(summary.revoke_status, 200);
      assert.deepEqual(summary.revoke_body, {});
      assert.equal(summary.after_revoke_status, 401);
      assert.match(String(summary.after_revoke_challenge), /^Bearer realm="gatehouse", error="invalid_token"/);
    });
  });
}
