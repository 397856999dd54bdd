import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions } from 'fastify';
import { UserService } from '../../src/admin/users.ts';
import { testDatabases } from '../helpers/databases.ts';
import { suiteStore, type TestApp } from '../helpers/fixtures.ts';
import { type AdminDoc, type AdminFixture, Contract, setUpAdmin } from './helpers.ts';

const ENV = '/admin/v1/environments/DEVELOPMENT';

for (const database of await testDatabases()) {
  describe(`sign-in policy and users' factors through the admin API on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let f: AdminFixture;
    let contract: Contract;
    let token: string;
    let envId: string;
    let userId: string;

    const call = async (method: string, url: string, body?: unknown) => {
      // An update names the version it changes (If-Match), read just before.
      const ifMatch = method === 'PATCH' ? String((await f.admin.inject({ url, headers: { authorization: `Bearer ${token}` } })).headers.etag) : undefined;
      const request: InjectOptions = {
        method: method as InjectOptions['method'],
        url,
        headers: { authorization: `Bearer ${token}`, ...(ifMatch ? { 'if-match': ifMatch } : {}) },
        ...(body === undefined ? {} : { payload: body as object }),
      };
      const res = await f.admin.inject(request);
      contract.conforms(res);
      return res;
    };

    before(async () => {
      t = await suite.build({ adminPort: 0, passwordHashCost: 10 });
      await t.admin.createEnvironment('DEVELOPMENT');
      f = await setUpAdmin(t);
      token = await f.token(f.clientId, f.clientSecret);
      contract = new Contract((await f.admin.inject({ url: '/admin/v1/openapi.json' })).json() as AdminDoc);
      const user = await new UserService(t.config, t.store, t.clock).create({ env: 'DEVELOPMENT', username: 'pat', password: 'correct horse battery staple' });
      userId = user.user_id;
      envId = (await t.store.environments.findByName('DEVELOPMENT'))?.id ?? '';
    });

    it('reads the default policy and changes it, with an audit event; bad values are refused', async () => {
      const read = await call('GET', `${ENV}/sign-in-policy`);
      assert.equal(read.statusCode, 200, read.body);
      assert.equal(read.json().second_factor, 'optional');
      const changed = await call('PATCH', `${ENV}/sign-in-policy`, {
        second_factor: 'required',
        required_scopes: ['payments'],
        webauthn_rp_id: 'example.test',
      });
      assert.equal(changed.statusCode, 200, changed.body);
      assert.deepEqual(changed.json(), {
        environment: 'DEVELOPMENT',
        second_factor: 'required',
        required_clients: [],
        required_scopes: ['payments'],
        webauthn_rp_id: 'example.test',
        webauthn_origins: [],
      });
      assert.equal((await t.store.secondFactors.findPolicy(envId))?.secondFactor, 'required');
      const [event] = await t.store.audit.list({ envName: 'DEVELOPMENT', type: 'environment.sign_in_policy_changed', limit: 1 });
      assert.equal(event?.details.second_factor, 'required');
      assert.equal((await call('PATCH', `${ENV}/sign-in-policy`, { second_factor: 'always' })).statusCode, 400);
      assert.equal((await call('PATCH', `${ENV}/sign-in-policy`, { webauthn_origins: ['http://evil.example'] })).statusCode, 422);
    });

    it("shows a user's factors, revokes a passkey and resets every factor, each audited", async () => {
      const now = t.clock.now();
      await t.store.passkeys.add({
        envId,
        credentialId: 'cred-A',
        userId,
        publicKey: 'pk',
        counter: 0,
        transports: [],
        backupEligible: false,
        backedUp: false,
        name: 'Key',
        createdAt: now,
        lastUsedAt: null,
      });
      await t.store.passkeys.add({
        envId,
        credentialId: 'cred-B',
        userId,
        publicKey: 'pk',
        counter: 0,
        transports: [],
        backupEligible: true,
        backedUp: true,
        name: 'Phone',
        createdAt: now,
        lastUsedAt: null,
      });
      await t.store.secondFactors.replaceRecoveryCodes(envId, userId, ['h1', 'h2'], now);
      const shown = await call('GET', `${ENV}/users/pat/factors`);
      assert.equal(shown.statusCode, 200, shown.body);
      assert.equal(shown.json().passkeys.length, 2);
      assert.equal(shown.json().unused_recovery_codes, 2);
      assert.doesNotMatch(shown.body, /"pk"/, 'no key material is shown');
      assert.equal((await call('DELETE', `${ENV}/users/pat/passkeys/cred-A`)).statusCode, 200);
      assert.equal((await call('DELETE', `${ENV}/users/pat/passkeys/cred-A`)).statusCode, 404);
      const reset = await call('POST', `${ENV}/users/pat/factors/reset`);
      assert.equal(reset.statusCode, 200, reset.body);
      assert.deepEqual(reset.json(), { totp: false, recovery_codes: 2, passkeys: 1 });
      const [event] = await t.store.audit.list({ envName: 'DEVELOPMENT', type: 'user.factors_reset', limit: 1 });
      assert.deepEqual(event?.subject, { kind: 'user', id: userId });
      const revocations = await t.store.audit.list({ envName: 'DEVELOPMENT', type: 'user.passkey_revoked', limit: 5 });
      assert.deepEqual(revocations.map((e) => e.outcome).sort(), ['failure', 'success'], 'the refused second revocation is recorded too');
      assert.equal((await call('GET', `${ENV}/users/nobody/factors`)).statusCode, 404);
    });
  });
}
