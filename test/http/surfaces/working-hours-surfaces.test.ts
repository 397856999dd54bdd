import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { testDatabases } from '../../helpers/databases.ts';
import { suiteStore, type TestApp } from '../../helpers/fixtures.ts';
import { createEnvironments, inlineSurfaces, postJson } from '../../helpers/surfaces.ts';

const HOURS = {
  timeZone: 'Europe/Paris',
  weekly: { mon: ['09:00-17:00'], tue: ['09:00-17:00'], wed: ['09:00-17:00'], thu: ['09:00-17:00'], fri: ['09:00-17:00'] },
  closed: ['2026-12-25'],
};

// Every profile at once, each with the same schedule; the standard surface too.
const SURFACES = [
  { profile: 'standard', workingHours: HOURS },
  { profile: 'ignisign', workingHours: HOURS },
  { profile: 'frontier', environment: 'PRODUCTION', workingHours: HOURS },
  { profile: 'rightsignature', environment: 'PRODUCTION', workingHours: HOURS },
  { profile: 'abbeycross', environment: 'PRODUCTION', workingHours: HOURS },
];

/** One request per surface route kind, with the check of its own dialect's 503 envelope. */
const PROBES: { name: string; send(t: TestApp): Promise<LightMyRequestResponse>; envelope(body: Record<string, unknown>): void }[] = [
  {
    name: 'standard token',
    send: (t) => postJson(t, '/envs/PRODUCTION/token', { grant_type: 'client_credentials' }),
    envelope: (b) => assert.equal(b.error, 'temporarily_unavailable'),
  },
  {
    name: 'standard introspection',
    send: (t) => postJson(t, '/envs/PRODUCTION/introspect', { token: 'x' }),
    envelope: (b) => assert.equal(b.error, 'temporarily_unavailable'),
  },
  {
    name: 'Ignisign proofs-token',
    send: (t) => postJson(t, '/v4/envs/DEVELOPMENT/oauth2/proofs-token', {}),
    envelope: (b) => {
      assert.equal(b.code, 'OUTSIDE_WORKING_HOURS');
      assert.equal(b.status, 503);
    },
  },
  {
    name: 'Frontier token',
    send: (t) => postJson(t, '/v1beta1/auth/token', {}),
    envelope: (b) => {
      assert.equal(b.code, 14);
      assert.deepEqual(
        (b.details as { '@type': string }[]).map((d) => d['@type']),
        ['type.googleapis.com/google.rpc.ErrorInfo', 'type.googleapis.com/google.rpc.RetryInfo'],
      );
    },
  },
  {
    name: 'RightSignature token',
    send: (t) => postJson(t, '/oauth/token', {}),
    envelope: (b) => assert.equal(b.error, 'temporarily_unavailable'),
  },
  {
    name: 'RightSignature revoke',
    send: (t) => postJson(t, '/oauth/revoke', {}),
    envelope: (b) => assert.equal(b.error, 'temporarily_unavailable'),
  },
  {
    name: 'RightSignature token info',
    send: (t) => t.app.server.inject({ url: '/oauth/token/info?access_token=x' }),
    envelope: (b) => assert.equal(b.error, 'temporarily_unavailable'),
  },
  {
    name: 'AbbeyCross token',
    send: (t) => postJson(t, '/v1/oauth/token', {}),
    envelope: (b) => {
      assert.equal(b.code, 'OUTSIDE_WORKING_HOURS');
      assert.equal(typeof b.errorId, 'string');
    },
  },
];

for (const database of await testDatabases()) {
  describe(`working hours on every surface on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;

    before(async () => {
      t = await suite.build(inlineSurfaces(SURFACES));
      await createEnvironments(t);
    });

    const expectClosed = async (retryAfter: number) => {
      for (const probe of PROBES) {
        const res = await probe.send(t);
        assert.equal(res.statusCode, 503, `${probe.name}: ${res.body}`);
        assert.equal(res.headers['retry-after'], String(retryAfter), probe.name);
        assert.equal(res.headers['cache-control'], 'no-store', probe.name);
        probe.envelope(res.json());
      }
      for (const path of ['/envs/DEVELOPMENT/authorize', '/v4/envs/DEVELOPMENT/oauth2/authorize']) {
        const page = await t.app.server.inject({ url: `${path}?response_type=code` });
        assert.equal(page.statusCode, 503, path);
        assert.equal(page.headers['retry-after'], String(retryAfter));
        assert.match(String(page.headers['content-type']), /^text\/html/);
      }
    };

    it('answers normally inside the hours', async () => {
      t.clock.set(Date.UTC(2026, 5, 3, 10, 0)); // Wednesday 12:00 in Paris (CEST)
      for (const probe of PROBES) {
        const res = await probe.send(t);
        assert.notEqual(res.statusCode, 503, `${probe.name}: ${res.body}`);
        assert.equal(res.headers['retry-after'], undefined);
      }
    });

    it('answers 503 in each dialect with Retry-After = seconds until the next opening', async () => {
      t.clock.set(Date.UTC(2026, 5, 3, 15, 0)); // Wednesday 17:00 CEST: just closed, opens Thursday 09:00 CEST
      await expectClosed(16 * 3600);
      t.clock.set(Date.UTC(2026, 5, 3, 6, 59, 59, 500)); // Wednesday 08:59:59.5: half a second, rounded up
      await expectClosed(1);
    });

    it('counts the extra hour of the autumn DST change (Friday 17:00 CEST → Monday 09:00 CET)', async () => {
      t.clock.set(Date.UTC(2026, 9, 23, 15, 0));
      await expectClosed(65 * 3600);
    });

    it('counts the lost hour of the spring DST change (Saturday 12:00 CET → Monday 09:00 CEST)', async () => {
      t.clock.set(Date.UTC(2027, 2, 27, 11, 0));
      await expectClosed(44 * 3600);
    });

    it('skips closed dates (Christmas on a Friday → Monday)', async () => {
      t.clock.set(Date.UTC(2026, 11, 25, 10, 0)); // Friday 2026-12-25 11:00 CET
      await expectClosed(Date.UTC(2026, 11, 28, 8, 0) / 1000 - Date.UTC(2026, 11, 25, 10, 0) / 1000);
    });

    it('keeps metadata, JWKS and the OpenAPI document available outside the hours', async () => {
      t.clock.set(Date.UTC(2026, 5, 6, 12, 0)); // Saturday
      for (const url of ['/.well-known/oauth-authorization-server/envs/PRODUCTION', '/envs/PRODUCTION/jwks.json', '/envs/PRODUCTION/openapi.json']) {
        assert.equal((await t.app.server.inject({ url })).statusCode, 200, url);
      }
    });
  });
}
