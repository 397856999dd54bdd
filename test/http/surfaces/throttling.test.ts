import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDatabases } from '../../helpers/databases.ts';
import { suiteStore, type TestApp } from '../../helpers/fixtures.ts';
import { createEnvironments, jsonAnswer, postJson, surfacesConfig } from '../../helpers/surfaces.ts';

for (const database of await testDatabases()) {
  describe(`throttled client authentication in each dialect on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;

    before(async () => {
      t = await suite.build({ ...surfacesConfig(), authFailureLimit: 2, authFailureWindow: 60 });
      await createEnvironments(t);
    });

    it('answers in the surface’s own envelope with Retry-After once the limit is reached', async () => {
      const cases = [
        {
          url: '/v1/oauth/token',
          body: { clientId: 'gh_a', clientSecret: 'x' },
          status: 429,
          check: (b: Record<string, unknown>) => assert.equal(b.code, 'TOO_MANY_REQUESTS'),
        },
        {
          url: '/v1beta1/auth/token',
          body: { grant_type: 'client_credentials', client_id: 'gh_b', client_secret: 'x' },
          status: 429,
          check: (b: Record<string, unknown>) => assert.equal(b.code, 8),
        },
        {
          url: '/v4/envs/DEVELOPMENT/oauth2/proofs-token',
          body: { grant_type: 'authorization_code', client_id: 'gh_c', client_secret: 'x', code: 'c', code_verifier: 'v', redirect_uri: 'https://a.test/cb' },
          status: 429,
          check: (b: Record<string, unknown>) => assert.equal(b.code, 'TOO_MANY_REQUESTS'),
        },
      ];
      for (const c of cases) {
        // The per-source budget is shared, so each case starts from a fresh window.
        t.clock.advance(61_000);
        for (let i = 0; i < 2; i++) assert.equal((await postJson(t, c.url, c.body)).headers['retry-after'], undefined, `${c.url} attempt ${i + 1}`);
        const res = await postJson(t, c.url, c.body);
        c.check(jsonAnswer(res, c.status));
        assert.match(String(res.headers['retry-after']), /^[1-9]\d*$/, c.url);
      }
    });
  });
}
