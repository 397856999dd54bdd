import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { type ImportReport, runImport } from '../../src/import/engine.ts';
import { readJsonLines } from '../../src/import/jsonl.ts';
import { ImportRecordError, parseRecord } from '../../src/import/records.ts';
import { createAdminServices } from '../../src/server/admin.ts';
import { testDatabases } from '../helpers/databases.ts';
import { suiteStore, type TestApp } from '../helpers/fixtures.ts';

const LIFETIMES = { refreshTokenIdleTtl: 14 * 86_400, refreshTokenAbsoluteTtl: 90 * 86_400 };
const HASH = bcrypt.hashSync('devise password 1', 4);

const user = (sourceId: string, username: string, attributes: object = {}) => ({
  kind: 'user',
  source_id: sourceId,
  username,
  enabled: true,
  password: { format: 'bcrypt', value: HASH },
  ...attributes,
});

const refusal = (value: unknown): string => {
  try {
    parseRecord(value);
  } catch (error) {
    assert.ok(error instanceof ImportRecordError);
    return error.message;
  }
  assert.fail('accepted');
};

describe('OpenID Connect fields of import records', () => {
  it('reads user attributes and client metadata, keeping only those present', () => {
    const attributes = {
      email: 'ada@example.test',
      email_verified: true,
      given_name: 'Ada',
      family_name: null,
      phone_number_verified: false,
      address: { locality: 'London', country: 'GB' },
    };
    assert.deepEqual(parseRecord(user('1', 'ada', attributes)), user('1', 'ada', attributes));
    assert.deepEqual(parseRecord(user('1', 'ada')), user('1', 'ada'), 'none added when none given');
    const client = {
      kind: 'client',
      client_id: 'rp',
      name: 'RP',
      confidential: false,
      secret: null,
      redirect_uris: ['https://rp.example.test/cb'],
      scopes: [],
      grant_types: ['authorization_code'],
      post_logout_redirect_uris: ['https://rp.example.test/bye'],
      backchannel_logout_uri: 'https://rp.example.test/bc',
      backchannel_logout_session_required: true,
      logout_revokes_tokens: true,
      id_token_signed_response_alg: 'EdDSA',
      subject_type: 'pairwise',
      sector_identifier_uri: 'https://rp.example.test/sector.json',
      dpop_bound_access_tokens: true,
      require_pushed_authorization_requests: true,
    };
    assert.deepEqual(parseRecord(client), client);
  });

  it('names the field at fault', () => {
    assert.equal(refusal(user('1', 'a', { email: 42 })), '"email" must be a string');
    assert.equal(refusal(user('1', 'a', { email_verified: 'yes' })), '"email_verified" must be true or false');
    assert.equal(refusal(user('1', 'a', { address: 'London' })), '"address" must be an object');
    assert.equal(
      refusal(user('1', 'a', { address: { city: 'London' } })),
      '"address.city" is not an address member (known: formatted, street_address, locality, region, postal_code, country)',
    );
    const client = { kind: 'client', client_id: 'c', name: '', confidential: false, secret: null, redirect_uris: [], scopes: [], grant_types: [] };
    assert.equal(refusal({ ...client, subject_type: 'private' }), '"subject_type" must be one of public, pairwise');
    assert.equal(refusal({ ...client, id_token_signed_response_alg: 'HS256' }), '"id_token_signed_response_alg" must be one of RS256, ES256, EdDSA');
    assert.equal(refusal({ ...client, logout_revokes_tokens: 1 }), '"logout_revokes_tokens" must be true or false');
    assert.equal(refusal({ ...client, dpop_bound_access_tokens: 'yes' }), '"dpop_bound_access_tokens" must be true or false');
    assert.equal(refusal({ ...client, require_pushed_authorization_requests: 1 }), '"require_pushed_authorization_requests" must be true or false');
    assert.equal(refusal({ ...client, post_logout_redirect_uris: [''] }), '"post_logout_redirect_uris" must be an array of non-empty strings');
  });
});

for (const database of await testDatabases()) {
  describe(`importing OpenID Connect data from JSON Lines on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    const env = `oidc-import-${database.name}`;
    const run = async (records: object[], sourceId = 'oidc-export'): Promise<ImportReport> => {
      const e = await t.store.environments.findByName(env);
      assert.ok(e);
      const input = readJsonLines(Readable.from(`${records.map((r) => JSON.stringify(r)).join('\n')}\n`));
      return runImport(input, { env: e, store: t.store, clock: t.clock, lifetimes: LIFETIMES, sourceId });
    };
    const stored = async (username: string) => {
      const e = await t.store.environments.findByName(env);
      return t.store.users.findByUsername(e?.id ?? '', username);
    };

    before(async () => {
      t = await suite.build();
      await t.admin.createEnvironment(env);
    });

    it('imports user attributes with the admin rules; a bad one skips the user, naming the attribute', async () => {
      const report = await run([
        user('1', 'ada', { email: 'ada@example.test', email_verified: true, locale: 'en-gb', address: { locality: 'London' }, source_version: 'v1' }),
        user('2', 'bob', { zoneinfo: 'Nowhere/Land' }),
        user('3', 'eve', { source_version: 'v1' }),
      ]);
      assert.deepEqual(report.counts.user, { imported: 2, updated: 0, unchanged: 0, skipped: 1 });
      assert.ok(report.skipped.some((s) => s.what === 'user "bob"' && /its profile cannot be imported: zoneinfo is not an IANA time zone/.test(s.reason)));
      assert.deepEqual((await stored('ada'))?.profile, {
        email: 'ada@example.test',
        emailVerified: true,
        name: null,
        givenName: null,
        familyName: null,
        preferredUsername: null,
        picture: null,
        locale: 'en-GB',
        zoneinfo: null,
        phoneNumber: null,
        phoneNumberVerified: false,
        address: { locality: 'London' },
      });
      assert.equal((await stored('eve'))?.profile, undefined);
    });

    it('a record without attributes leaves those set since; one with attributes replaces them', async () => {
      const { users } = createAdminServices(t.config, t.store, t.clock);
      await users.update(env, 'eve', { givenName: 'Eve' });
      const without = await run([user('1', 'ada', { source_version: 'v2' }), user('3', 'eve', { source_version: 'v2' })]);
      assert.deepEqual(without.counts.user, { imported: 0, updated: 2, unchanged: 0, skipped: 0 });
      assert.equal((await stored('ada'))?.profile?.email, 'ada@example.test', 'kept');
      assert.equal((await stored('eve'))?.profile?.givenName, 'Eve', 'set in Gatehouse, kept');
      const replaced = await run([user('1', 'ada', { name: 'Ada Lovelace', source_version: 'v3' })]);
      assert.deepEqual(replaced.counts.user, { imported: 0, updated: 1, unchanged: 0, skipped: 0 });
      const ada = (await stored('ada'))?.profile;
      assert.deepEqual([ada?.name, ada?.email, ada?.address], ['Ada Lovelace', null, null], 'the source carries attributes: they replace the user’s');
    });

    it("imports a client's OpenID Connect metadata", async () => {
      const report = await run([
        {
          kind: 'client',
          client_id: 'rp',
          name: 'RP',
          confidential: false,
          secret: null,
          redirect_uris: ['https://rp.example.test/cb'],
          scopes: ['openid'],
          grant_types: ['authorization_code'],
          post_logout_redirect_uris: ['https://rp.example.test/bye'],
          backchannel_logout_uri: 'https://rp.example.test/bc',
          backchannel_logout_session_required: true,
          id_token_signed_response_alg: 'ES256',
          subject_type: 'pairwise',
          sector_identifier_uri: 'https://rp.example.test/sector.json',
          dpop_bound_access_tokens: true,
          require_pushed_authorization_requests: true,
        },
        {
          kind: 'client',
          client_id: 'plain',
          name: 'P',
          confidential: false,
          secret: null,
          redirect_uris: [],
          scopes: [],
          grant_types: ['authorization_code'],
        },
      ]);
      assert.equal(report.counts.client.imported, 1, JSON.stringify(report.skipped));
      const view = await t.admin.getClient(env, 'rp');
      assert.deepEqual(
        [
          view.post_logout_redirect_uris,
          view.backchannel_logout_uri,
          view.backchannel_logout_session_required,
          view.logout_revokes_tokens,
          view.id_token_signed_response_alg,
          view.subject_type,
          view.sector_identifier_uri,
          view.dpop_bound_access_tokens,
          view.require_pushed_authorization_requests,
        ],
        [['https://rp.example.test/bye'], 'https://rp.example.test/bc', true, false, 'ES256', 'pairwise', 'https://rp.example.test/sector.json', true, true],
      );
    });
  });
}
