import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { AdminError, type ClientView } from '../../src/admin/admin-service.ts';
import { parseDeclaration } from '../../src/admin/declarative.ts';
import { applyDeclaration, planDeclaration } from '../../src/admin/declarative-plan.ts';
import { localDeclarativeTarget } from '../../src/admin/declarative-target.ts';
import { AuditRecorder, NO_AUDIT_LINES } from '../../src/audit/recorder.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import { changedProfile, type ProfileChanges, ProfileError } from '../../src/domain/user-profile.ts';
import { type AdminServices, createAdminServices } from '../../src/server/admin.ts';
import { testDatabases } from '../helpers/databases.ts';
import { testConfig } from '../helpers/fixtures.ts';

const ENV = 'OIDC';
const PASSWORD = 'correct horse battery staple';

const refused =
  (pattern: RegExp, kind: AdminError['kind'] = 'invalid_argument') =>
  (error: unknown) => {
    assert.ok(error instanceof AdminError, String(error));
    assert.equal(error.kind, kind);
    assert.match(error.message, pattern);
    return true;
  };

const ADA = {
  email: 'ada@example.test',
  emailVerified: true,
  name: 'Ada Lovelace',
  givenName: 'Ada',
  familyName: 'Lovelace',
  preferredUsername: 'countess',
  picture: 'https://img.example.test/ada.png',
  locale: 'en-gb',
  zoneinfo: 'Europe/London',
  phoneNumber: '+442071234567',
  phoneNumberVerified: true,
  address: { street_address: '12 St James Square\nSt James', locality: 'London', postal_code: 'SW1Y 4JH', country: 'GB' },
};

describe('profile attribute rules', () => {
  it('accept or refuse any input with a ProfileError, never another exception, and keep what they accept valid (property)', () => {
    const value = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.dictionary(fc.string({ maxLength: 12 }), fc.string()),
    );
    const changes = fc.record(
      {
        email: value,
        emailVerified: value,
        name: value,
        picture: value,
        locale: value,
        zoneinfo: value,
        phoneNumber: value,
        phoneNumberVerified: value,
        address: value,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(changes, (c) => {
        let profile: ReturnType<typeof changedProfile>;
        try {
          profile = changedProfile(undefined, c as ProfileChanges);
        } catch (error) {
          assert.ok(error instanceof ProfileError, String(error));
          return;
        }
        // What was accepted is accepted again unchanged: the stored form is already valid and normalised.
        assert.deepEqual(changedProfile(undefined, profile ?? {}), profile);
      }),
      { numRuns: 500 },
    );
  });

  it('keep the zero-width joiners of names and refuse bidi overrides', () => {
    assert.equal(changedProfile(undefined, { name: 'مهر\u200Cناز' })?.name, 'مهر\u200Cناز');
    assert.throws(() => changedProfile(undefined, { name: 'abc\u202Edef' }), /name must not contain control characters/);
  });
});

for (const database of await testDatabases()) {
  describe(`OpenID Connect data in the admin services on ${database.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let s: AdminServices;
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    let counter = 0;
    const username = () => `user-${++counter}`;

    before(async () => {
      ({ store, cleanup } = await database.open());
      const audit = new AuditRecorder(store.audit, clock, NO_AUDIT_LINES, { outbox: false });
      s = createAdminServices(testConfig({ passwordHashCost: 10 }), store, clock, undefined, { audit, actor: { kind: 'cli', id: 'operator' } });
      await s.admin.createEnvironment(ENV);
    });
    after(async () => cleanup());

    it("sets a user's profile at creation, reads it back under its claim names, and audits the names only", async () => {
      const name = username();
      const created = await s.users.create({ env: ENV, username: name, password: PASSWORD, profile: ADA });
      const expected = {
        email: 'ada@example.test',
        email_verified: true,
        name: 'Ada Lovelace',
        given_name: 'Ada',
        family_name: 'Lovelace',
        preferred_username: 'countess',
        picture: 'https://img.example.test/ada.png',
        locale: 'en-GB',
        zoneinfo: 'Europe/London',
        phone_number: '+442071234567',
        phone_number_verified: true,
        address: ADA.address,
      };
      const { user_id: _id, username: _u, environment: _e, enabled: _en, created_at: _c, updated_at: _up, ...profile } = created;
      assert.deepEqual(profile, expected, 'the locale in its canonical case');
      assert.deepEqual(await s.users.get(ENV, name), created);
      const [event] = await store.audit.list({ envName: ENV, type: 'user.created', limit: 1 });
      assert.deepEqual(event?.details, { username: name, profile: Object.keys(expected) });
      assert.ok(!JSON.stringify(event).includes('Lovelace'), 'no attribute value in the event');
    });

    it('a user without attributes reads back with every attribute empty', async () => {
      const created = await s.users.create({ env: ENV, username: username(), password: PASSWORD });
      assert.deepEqual([created.email, created.email_verified, created.name, created.address, created.phone_number_verified], [null, false, null, null, false]);
      assert.equal((await store.users.findByUsername((await store.environments.findByName(ENV))?.id ?? '', created.username))?.profile, undefined);
    });

    it('changes and clears attributes, keeps the others, and unverifies a new email or phone number', async () => {
      const name = username();
      await s.users.create({ env: ENV, username: name, password: PASSWORD, profile: ADA });
      clock.advance(1000);
      const changed = await s.users.update(ENV, name, { email: 'ada@lovelace.test', name: null, givenName: '' });
      assert.deepEqual(
        [changed.email, changed.email_verified, changed.name, changed.given_name, changed.family_name, changed.phone_number_verified],
        ['ada@lovelace.test', false, null, null, 'Lovelace', true],
      );
      const verified = await s.users.update(ENV, name, { phoneNumber: '+14155550123', emailVerified: true });
      assert.deepEqual([verified.phone_number, verified.phone_number_verified, verified.email_verified], ['+14155550123', false, true]);
      const [event] = await store.audit.list({ envName: ENV, type: 'user.profile_changed', limit: 1 });
      assert.deepEqual(
        event?.details,
        { username: name, changed: ['email_verified', 'phone_number', 'phone_number_verified'] },
        'what changed, the reset included',
      );
      const cleared = await s.users.update(ENV, name, {
        email: null,
        emailVerified: false,
        familyName: null,
        preferredUsername: null,
        picture: null,
        locale: null,
        zoneinfo: null,
        phoneNumber: null,
        address: null,
      });
      assert.deepEqual([cleared.email, cleared.family_name, cleared.address, cleared.phone_number_verified], [null, null, null, false]);
      const env = await store.environments.findByName(ENV);
      assert.equal((await store.users.findByUsername(env?.id ?? '', name))?.profile, undefined, 'nothing left: no profile stored');
    });

    it('refuses every bad attribute with a message naming it, and changes nothing', async () => {
      const name = username();
      const before = await s.users.create({ env: ENV, username: name, password: PASSWORD, profile: { email: 'kept@example.test' } });
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ email: 'not an address' }, /email is not a valid address/],
        [{ email: 'a@b@example.test' }, /email is not a valid address/],
        [{ email: `${'x'.repeat(65)}@example.test` }, /email is not a valid address/],
        [{ email: null, emailVerified: true }, /email_verified needs an email/],
        [{ phoneNumberVerified: true }, /phone_number_verified needs a phone_number/],
        [{ picture: 'http://img.example.test/a.png' }, /picture must be an https URL \(http only on loopback\)/],
        [{ picture: 'https://user:pw@img.example.test/a.png' }, /picture must not carry credentials/],
        [{ picture: 'img.png' }, /picture must be an absolute https URL/],
        [{ locale: 'en_US' }, /locale is a BCP 47 tag with hyphens, e.g. en-US/],
        [{ locale: 'not a locale' }, /locale is not a BCP 47 language tag/],
        [{ zoneinfo: 'Mars/Olympus_Mons' }, /zoneinfo is not an IANA time zone/],
        [{ zoneinfo: '+01:00' }, /zoneinfo is not an IANA time zone/],
        [{ phoneNumber: '0207 123 4567' }, /phone_number must be in E.164 form/],
        [{ phoneNumber: '+0123' }, /phone_number must be in E.164 form/],
        [{ name: 'x'.repeat(201) }, /name must be at most 200 characters/],
        [{ givenName: 'Ada\u0000' }, /given_name must not contain control characters/],
        [{ address: { city: 'London' } }, /address has no member city/],
        [{ address: { locality: 'Lon\ndon' } }, /address.locality must not contain control characters/],
        [{ address: { formatted: 'x'.repeat(501) } }, /address.formatted must be at most 500 characters/],
        [{ emailVerified: 'yes' }, /email_verified must be true or false/],
      ];
      for (const [changes, pattern] of cases) {
        await assert.rejects(s.users.update(ENV, name, changes), refused(pattern), JSON.stringify(changes));
        await assert.rejects(s.users.create({ env: ENV, username: username(), password: PASSWORD, profile: changes }), refused(pattern));
      }
      assert.deepEqual(await s.users.get(ENV, name), before);
      // What the rules accept at their edges.
      const edges = await s.users.update(ENV, name, {
        zoneinfo: 'UTC',
        locale: 'zh-Hant-TW',
        picture: 'http://127.0.0.1:8080/a.png',
        phoneNumber: '+14155550123;ext=42',
        address: { formatted: 'line 1\nline 2' },
      });
      assert.deepEqual(
        [edges.zoneinfo, edges.locale, edges.phone_number, edges.address],
        ['UTC', 'zh-Hant-TW', '+14155550123;ext=42', { formatted: 'line 1\nline 2' }],
      );
    });

    it('writes a profile change only over the version read, and disables in the same write', async () => {
      const name = username();
      const created = await s.users.create({ env: ENV, username: name, password: PASSWORD });
      const stale = (current: { updated_at: string }) => {
        if (current.updated_at !== created.updated_at) throw new AdminError('conflict', 'stale');
      };
      clock.advance(1000);
      await s.users.update(ENV, name, { name: 'First' }, stale);
      await assert.rejects(s.users.update(ENV, name, { name: 'Second' }, stale), refused(/stale/, 'conflict'));
      const disabled = await s.users.update(ENV, name, { name: 'Third', enabled: false });
      assert.deepEqual([disabled.name, disabled.enabled], ['Third', false]);
      assert.deepEqual([(await s.users.get(ENV, name)).enabled, (await s.users.get(ENV, name)).name], [false, 'Third']);
      await assert.rejects(s.users.update(ENV, 'nobody', { name: 'x' }), refused(/no user nobody/, 'not_found'));
    });

    it("sets a client's OpenID Connect metadata, reads it back, changes and clears it", async () => {
      const created = await s.admin.createClient({
        env: ENV,
        name: 'rp',
        grantTypes: ['authorization_code'],
        redirectUris: ['https://rp.example.test/cb'],
        postLogoutRedirectUris: ['https://rp.example.test/bye', 'com.example.app:/logout'],
        backchannelLogoutUri: 'https://rp.example.test/backchannel?tenant=1',
        backchannelLogoutSessionRequired: true,
        logoutRevokesTokens: true,
        idTokenSignedResponseAlg: 'ES256',
        subjectType: 'pairwise',
        sectorIdentifierUri: 'https://rp.example.test/sector.json',
      });
      const oidc = (c: ClientView) => [
        c.post_logout_redirect_uris,
        c.backchannel_logout_uri,
        c.backchannel_logout_session_required,
        c.logout_revokes_tokens,
        c.id_token_signed_response_alg,
        c.subject_type,
        c.sector_identifier_uri,
      ];
      const set = [
        ['https://rp.example.test/bye', 'com.example.app:/logout'],
        'https://rp.example.test/backchannel?tenant=1',
        true,
        true,
        'ES256',
        'pairwise',
        'https://rp.example.test/sector.json',
      ];
      assert.deepEqual(oidc(created), set);
      assert.deepEqual(oidc(await s.admin.getClient(ENV, created.client_id)), set);
      const [event] = await store.audit.list({ envName: ENV, type: 'client.created', limit: 1 });
      assert.equal(event?.details.backchannel_logout_uri, 'https://rp.example.test/backchannel?tenant=1');
      const changed = await s.admin.updateClient(ENV, created.client_id, { idTokenSignedResponseAlg: 'RS256', logoutRevokesTokens: false });
      assert.deepEqual([changed.id_token_signed_response_alg, changed.logout_revokes_tokens, changed.subject_type], ['RS256', false, 'pairwise']);
      // This server's access-token keys are ES256: no key could sign an EdDSA ID Token.
      await assert.rejects(
        s.admin.updateClient(ENV, created.client_id, { idTokenSignedResponseAlg: 'EdDSA' }),
        /id_token_signed_response_alg EdDSA has no key here: this server signs with RS256 and ES256/,
      );
      const cleared = await s.admin.updateClient(ENV, created.client_id, {
        postLogoutRedirectUris: [],
        backchannelLogoutUri: null,
        backchannelLogoutSessionRequired: false,
        idTokenSignedResponseAlg: null,
        subjectType: null,
        sectorIdentifierUri: '',
      });
      assert.deepEqual(oidc(cleared), [[], null, false, false, null, null, null]);
      const env = await store.environments.findByName(ENV);
      const stored = await store.clients.find(env?.id ?? '', created.client_id);
      assert.deepEqual(
        Object.keys(stored ?? {}).filter((k) => ['postLogoutRedirectUris', 'backchannelLogoutUri', 'idTokenSignedResponseAlg', 'subjectType'].includes(k)),
        [],
        'defaults are stored as defaults',
      );
      const plain = await s.admin.createClient({ env: ENV, name: 'plain' });
      assert.deepEqual(oidc(plain), [[], null, false, false, null, null, null]);
    });

    it('refuses bad OpenID Connect metadata with a clear message', async () => {
      const base = { env: ENV, name: 'bad', grantTypes: ['authorization_code'], redirectUris: ['https://rp.example.test/cb'] };
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ postLogoutRedirectUris: ['https://rp.example.test/bye#x'] }, /post-logout redirect URI must not have a fragment/],
        [{ postLogoutRedirectUris: ['http://rp.example.test/bye'] }, /post-logout redirect URI must use https \(http only on loopback\)/],
        [{ postLogoutRedirectUris: ['javascript:alert(1)'] }, /post-logout redirect URI scheme javascript: is not allowed/],
        [{ postLogoutRedirectUris: ['/bye'] }, /post-logout redirect URI is not an absolute URI/],
        [{ postLogoutRedirectUris: ['https://rp.example.test/bye?state=1'] }, /post-logout redirect URI must not have a state parameter/],
        [{ backchannelLogoutUri: 'http://rp.example.test/bc' }, /backchannel_logout_uri must use https \(http only on loopback\)/],
        [{ backchannelLogoutUri: 'https://rp.example.test/bc#f' }, /backchannel_logout_uri must not have a fragment/],
        [{ backchannelLogoutUri: 'rp.example.test/bc' }, /backchannel_logout_uri is not an absolute URI/],
        [{ sectorIdentifierUri: 'http://rp.example.test/sector.json' }, /sector_identifier_uri must use https/],
        [{ idTokenSignedResponseAlg: 'HS256' }, /id_token_signed_response_alg must be one of RS256, ES256, EdDSA/],
        [{ subjectType: 'private' }, /subject_type must be one of public, pairwise/],
        [
          { subjectType: 'pairwise', redirectUris: ['https://a.example.test/cb', 'https://b.example.test/cb'] },
          /a pairwise client whose redirect URIs use several hosts \(a\.example\.test, b\.example\.test\) needs a sector_identifier_uri/,
        ],
      ];
      const { client_id: id } = await s.admin.createClient(base);
      for (const [changes, pattern] of cases) {
        await assert.rejects(s.admin.createClient({ ...base, ...changes }), refused(pattern), JSON.stringify(changes));
        await assert.rejects(s.admin.updateClient(ENV, id, changes), refused(pattern), JSON.stringify(changes));
      }
      const loopback = await s.admin.updateClient(ENV, id, {
        postLogoutRedirectUris: ['http://127.0.0.1:8080/bye'],
        backchannelLogoutUri: 'http://localhost:9000/bc',
        subjectType: 'pairwise',
        redirectUris: ['https://a.example.test/cb', 'https://b.example.test/cb'],
        sectorIdentifierUri: 'https://a.example.test/sector.json',
      });
      assert.equal(loopback.backchannel_logout_uri, 'http://localhost:9000/bc');
    });

    it("sets an environment's subject type and refresh-token policy, audited, conditional on what was read", async () => {
      const env = 'OIDC_SETTINGS';
      await s.admin.createEnvironment(env);
      const read = await s.admin.getEnvironment(env);
      assert.deepEqual([read.subject_type, read.refresh_token_policy], ['public', 'client'], 'the defaults');
      const changed = await s.admin.updateEnvironment(env, { subjectType: 'pairwise', refreshTokenPolicy: 'offline_access' });
      assert.deepEqual([changed.subject_type, changed.refresh_token_policy, changed.default_quota], ['pairwise', 'offline_access', null]);
      assert.deepEqual(await s.admin.getEnvironment(env), changed);
      const [event] = await store.audit.list({ envName: env, type: 'environment.oidc_settings_changed', limit: 1 });
      assert.deepEqual(event?.details, { subject_type: 'pairwise', refresh_token_policy: 'offline_access' });
      const both = await s.admin.updateEnvironment(env, { refreshTokenPolicy: 'client', defaultQuota: 50 });
      assert.deepEqual([both.subject_type, both.refresh_token_policy, both.default_quota], ['pairwise', 'client', 50]);
      const stale = (current: { refresh_token_policy: string }) => {
        if (current.refresh_token_policy !== 'offline_access') throw new AdminError('conflict', 'stale');
      };
      await assert.rejects(s.admin.updateEnvironment(env, { subjectType: 'public' }, stale), refused(/stale/, 'conflict'));
      await assert.rejects(s.admin.updateEnvironment(env, { subjectType: 'secret' as 'public' }), refused(/subject_type must be one of public, pairwise/));
      await assert.rejects(
        s.admin.updateEnvironment(env, { refreshTokenPolicy: 'always' as 'client' }),
        refused(/refresh_token_policy must be one of client, offline_access/),
      );
      await assert.rejects(s.admin.updateEnvironment('NOPE', { subjectType: 'public' }), refused(/no environment named NOPE/, 'not_found'));
      assert.deepEqual(await s.admin.getEnvironment(env), both, 'nothing changed by the refusals');
    });

    it('refuses pairwise as the default while a client has redirect URIs on several hosts and no sector', async () => {
      const env = 'OIDC_PAIRWISE';
      await s.admin.createEnvironment(env);
      const { client_id: id } = await s.admin.createClient({
        env,
        name: 'two hosts',
        grantTypes: ['authorization_code'],
        redirectUris: ['https://a.example.test/cb', 'https://b.example.test/cb'],
      });
      await assert.rejects(
        s.admin.updateEnvironment(env, { subjectType: 'pairwise' }),
        refused(new RegExp(`clients ${id} have redirect URIs on several hosts`)),
      );
      await s.admin.updateClient(env, id, { subjectType: 'public' });
      assert.equal((await s.admin.updateEnvironment(env, { subjectType: 'pairwise' })).subject_type, 'pairwise');
      // A change that touches neither redirect URIs nor subject settings is not refused for them.
      assert.equal((await s.admin.updateClient(env, id, { name: 'renamed' })).name, 'renamed');
    });

    it('apply sets environment settings, client metadata and existing users’ attributes; applying again changes nothing', async () => {
      const env = 'OIDC_APPLY';
      const target = localDeclarativeTarget(s);
      const file = (overrides: Record<string, unknown> = {}) =>
        parseDeclaration({
          version: 1,
          environments: [
            {
              name: env,
              subject_type: 'pairwise',
              refresh_token_policy: 'offline_access',
              clients: [
                {
                  name: 'rp',
                  grant_types: ['authorization_code'],
                  redirect_uris: ['https://rp.example.test/cb'],
                  post_logout_redirect_uris: ['https://rp.example.test/bye'],
                  backchannel_logout_uri: 'https://rp.example.test/bc',
                  logout_revokes_tokens: true,
                  id_token_signed_response_alg: 'ES256',
                  ...overrides,
                },
              ],
              users: [{ username: 'grace', email: 'grace@example.test', email_verified: true, locale: 'en-us', address: { country: 'US' } }],
            },
          ],
        });
      await assert.rejects(applyDeclaration(target, file()), refused(/user grace does not exist in OIDC_APPLY: create it first/, 'not_found'));
      await s.admin.createEnvironment(env);
      await s.users.create({ env, username: 'grace', password: PASSWORD, profile: { name: 'Grace Hopper' } });
      const plan = await planDeclaration(target, file());
      assert.deepEqual(
        plan.map((c) => [c.action, c.kind, c.changes.map((f) => f.field)]),
        [
          ['update', 'environment', ['subject_type', 'refresh_token_policy']],
          ['create', 'client', []],
          ['update', 'user', ['email', 'email_verified', 'name', 'locale', 'address']],
        ],
      );
      await applyDeclaration(target, file());
      const rp = (await s.admin.listClients(env)).find((c) => c.name === 'rp');
      assert.deepEqual(
        [rp?.post_logout_redirect_uris, rp?.backchannel_logout_uri, rp?.logout_revokes_tokens, rp?.id_token_signed_response_alg],
        [['https://rp.example.test/bye'], 'https://rp.example.test/bc', true, 'ES256'],
      );
      const grace = await s.users.get(env, 'grace');
      assert.deepEqual(
        [grace.email, grace.email_verified, grace.name, grace.locale, grace.address],
        ['grace@example.test', true, null, 'en-US', { country: 'US' }],
      );
      assert.deepEqual(
        [(await s.admin.getEnvironment(env)).subject_type, (await s.admin.getEnvironment(env)).refresh_token_policy],
        ['pairwise', 'offline_access'],
      );
      assert.ok(
        (await planDeclaration(target, file())).every((c) => c.action === 'unchanged'),
        'idempotent',
      );
      const changed = await planDeclaration(target, file({ id_token_signed_response_alg: null, backchannel_logout_uri: null }));
      assert.deepEqual(
        changed.filter((c) => c.action === 'update').map((c) => c.changes.map((f) => [f.field, f.to])),
        [
          [
            ['backchannel_logout_uri', null],
            ['id_token_signed_response_alg', null],
          ],
        ],
      );
      await applyDeclaration(target, file({ id_token_signed_response_alg: null, backchannel_logout_uri: null }));
      const after = (await s.admin.listClients(env)).find((c) => c.name === 'rp');
      assert.deepEqual([after?.backchannel_logout_uri, after?.id_token_signed_response_alg], [null, null]);
    });

    it('reads declared attributes and metadata with the same rules, naming the place', () => {
      const refuse = (environment: Record<string, unknown>, pattern: RegExp) =>
        assert.throws(() => parseDeclaration({ version: 1, environments: [{ name: 'A', ...environment }] }), pattern);
      refuse({ subject_type: 'private' }, /environments\[0\]\.subject_type: must be one of public, pairwise/);
      refuse({ refresh_token_policy: 'never' }, /environments\[0\]\.refresh_token_policy: must be one of client, offline_access/);
      refuse(
        { clients: [{ name: 'x', id_token_signed_response_alg: 'HS256' }] },
        /clients\[0\]\.id_token_signed_response_alg: must be one of RS256, ES256, EdDSA/,
      );
      refuse({ clients: [{ name: 'x', logout_revokes_tokens: 'yes' }] }, /clients\[0\]\.logout_revokes_tokens: must be true or false/);
      refuse({ users: [{ username: 'u', email: 'nope' }] }, /environments\[0\]\.users\[0\]: email is not a valid address/);
      refuse({ users: [{ username: 'u', password: 'x' }] }, /users\[0\]\.password: unknown field/);
      refuse({ users: [{ username: 'u' }, { username: 'u' }] }, /user u is declared twice/);
    });
  });
}
