import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tracedTokenHandler } from '../../src/http/token-tracing.ts';
import { recordSpan, tracingEnabled, withSpan } from '../../src/observability/tracing.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, suiteStore } from '../helpers/fixtures.ts';

// No SDK is registered in this file (its own process under node --test): Gatehouse's default.
const [database] = await testDatabases();
assert.ok(database);

describe('without a tracing SDK', () => {
  const suite = suiteStore(database, { before, after });

  it('reports tracing off, leaves the token handler unwrapped and runs the wrapped work as it is', async () => {
    assert.equal(tracingEnabled(), false);
    const handler = async () => 1;
    assert.equal(tracedTokenHandler('standard', handler), handler);
    assert.equal(await withSpan('x', {}, async () => 42), 42);
    const failure = new Error('boom');
    await assert.rejects(
      withSpan('x', {}, async () => {
        throw failure;
      }),
      (error) => error === failure,
    );
    recordSpan('db.query', { 'db.system': 'sqlite' }, 0, 1, new Error('ignored'));
  });

  it('issues tokens', async () => {
    const t = await suite.build();
    await t.admin.createEnvironment('untraced');
    const client = await t.admin.createClient({ env: 'untraced', name: 'svc', scopes: ['read'] });
    const res = await t.app.server.inject({
      method: 'POST',
      url: '/envs/untraced/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.client_id, client.client_secret ?? '') },
      payload: form({ grant_type: 'client_credentials' }),
    });
    assert.equal(res.statusCode, 200, res.body);
  });
});
