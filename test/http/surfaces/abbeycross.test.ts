import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { createLogger } from '../../../src/server/logger.ts';
import { ABBEYCROSS_ERROR_CODES } from '../../../src/surfaces/profiles/abbeycross.ts';
import { testDatabases } from '../../helpers/databases.ts';
import { form, suiteStore, type TestApp } from '../../helpers/fixtures.ts';
import { createEnvironments, inlineSurfaces, jsonAnswer, postJson, surfacesConfig } from '../../helpers/surfaces.ts';

const TOKEN = '/v1/oauth/token';

/** Asserts AbbeyCross's error envelope; returns it. */
function assertAbbeyError(res: Awaited<ReturnType<typeof postJson>>, status: number, code: string): Record<string, unknown> {
  const body = jsonAnswer(res, status);
  assert.equal(body.code, code, res.body);
  assert.ok(Object.keys(ABBEYCROSS_ERROR_CODES).includes(String(body.code)));
  assert.match(String(body.errorId), /^[0-9a-f-]{36}$/);
  assert.equal(typeof body.text, 'string');
  for (const key of Object.keys(body)) assert.ok(['errorId', 'code', 'text', 'parameter_name', 'parameter_value'].includes(key), key);
  return body;
}

for (const database of await testDatabases()) {
  describe(`AbbeyCross surface on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let client: { id: string; secret: string };
    const lines: Record<string, unknown>[] = [];

    before(async () => {
      const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) });
      t = await suite.build(surfacesConfig(), { logger });
      await createEnvironments(t);
      const created = await t.admin.createClient({ env: 'PRODUCTION', name: 'treasury', scopes: ['payments'], defaultScopes: ['payments'] });
      client = { id: created.client_id, secret: String(created.client_secret) };
    });

    it('takes clientId/clientSecret or client_id/client_secret and returns the token object', async () => {
      for (const body of [
        { clientId: client.id, clientSecret: client.secret },
        { client_id: client.id, client_secret: client.secret },
      ]) {
        const token = jsonAnswer(await postJson(t, TOKEN, body), 200);
        assert.deepEqual(Object.keys(token).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
        assert.equal(token.scope, 'payments');
        assert.equal(decodeJwt(String(token.access_token)).client_id, client.id);
      }
    });

    it('409 INVALID_CREDENTIALS for a wrong secret or unknown id, never echoing the secret', async () => {
      for (const body of [
        { clientId: client.id, clientSecret: 'guessed-secret-value' },
        { clientId: 'gh_unknown', clientSecret: 'guessed-secret-value' },
      ]) {
        const res = assertAbbeyError(await postJson(t, TOKEN, body), 409, 'INVALID_CREDENTIALS');
        assert.doesNotMatch(JSON.stringify(res), /guessed-secret-value/);
      }
    });

    it('409 VALIDATION_FAILED names the field as the client spelled it; a secret is named, never shown', async () => {
      let body = assertAbbeyError(await postJson(t, TOKEN, { clientId: client.id }), 409, 'VALIDATION_FAILED');
      assert.equal(body.parameter_name, 'clientSecret');
      assert.equal(body.parameter_value, undefined);
      body = assertAbbeyError(await postJson(t, TOKEN, { client_secret: 'abc' }), 409, 'VALIDATION_FAILED');
      assert.equal(body.parameter_name, 'client_id');
      body = assertAbbeyError(
        await postJson(t, TOKEN, { clientId: client.id, clientSecret: client.secret, scope: 'payments bad"scope' }),
        409,
        'INVALID_SCOPE',
      );
      assert.equal(body.parameter_name, 'scope');
      assert.equal(body.parameter_value, 'payments bad"scope');
      body = assertAbbeyError(await postJson(t, TOKEN, { clientId: client.id, clientSecret: client.secret, scope: 'admin' }), 409, 'INVALID_SCOPE');
      assert.equal(body.parameter_value, 'admin');
      body = assertAbbeyError(await postJson(t, TOKEN, { clientId: client.id, client_id: client.id, clientSecret: client.secret }), 409, 'VALIDATION_FAILED');
      assert.equal(body.parameter_name, 'client_id');
      body = assertAbbeyError(await postJson(t, TOKEN, { clientId: 42, clientSecret: client.secret }), 409, 'VALIDATION_FAILED');
      assert.equal(body.parameter_name, 'clientId');
      body = assertAbbeyError(
        await postJson(t, TOKEN, { clientId: client.id, clientSecret: client.secret, grant_type: 'password' }),
        409,
        'UNSUPPORTED_GRANT_TYPE',
      );
      assert.equal(body.parameter_value, 'password');
    });

    it('409 VALIDATION_FAILED for a value that is not a string: parameter_value is the input value as sent, never a secret', async () => {
      // The first is the seed's own shape: {"clientId":12345,"clientSecret":"S"}.
      const cases: Array<[Record<string, unknown>, string, unknown]> = [
        [{ clientId: 12345, clientSecret: 'S' }, 'clientId', 12345],
        [{ client_id: true, client_secret: client.secret }, 'client_id', true],
        [{ clientId: { id: [1, 'two'] }, clientSecret: client.secret }, 'clientId', { id: [1, 'two'] }],
        [{ clientId: client.id, clientSecret: client.secret, scope: 1.5 }, 'scope', 1.5],
      ];
      for (const [body, name, value] of cases) {
        const error = assertAbbeyError(await postJson(t, TOKEN, body), 409, 'VALIDATION_FAILED');
        assert.equal(error.parameter_name, name);
        assert.deepEqual(error.parameter_value, value);
        for (const secret of ['"S"', client.secret]) assert.ok(!JSON.stringify(error).includes(secret), JSON.stringify(error));
      }
      for (const secret of [{ clientSecret: 987654321 }, { client_secret: [987654321] }]) {
        const refused = assertAbbeyError(await postJson(t, TOKEN, { clientId: client.id, ...secret }), 409, 'VALIDATION_FAILED');
        assert.equal(refused.parameter_name, Object.keys(secret)[0]);
        assert.ok(!('parameter_value' in refused), JSON.stringify(refused));
        assert.doesNotMatch(JSON.stringify(refused), /987654321/);
      }
      // A field sent twice has no single input value to show.
      const twice = await t.app.server.inject({
        method: 'POST',
        url: TOKEN,
        headers: { 'content-type': 'application/json' },
        payload: `{"clientId":1,"clientId":2,"clientSecret":"${client.secret}"}`,
      });
      const duplicate = assertAbbeyError(twice, 409, 'VALIDATION_FAILED');
      assert.equal(duplicate.parameter_name, 'clientId');
      assert.ok(!('parameter_value' in duplicate), JSON.stringify(duplicate));
    });

    it('accepts JSON only', async () => {
      const res = await t.app.server.inject({
        method: 'POST',
        url: TOKEN,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ clientId: client.id, clientSecret: client.secret }),
      });
      assertAbbeyError(res, 409, 'VALIDATION_FAILED');
    });

    it('500 INTERNAL_ERROR for an unexpected failure', async () => {
      const clients = t.store.clients;
      const original = clients.find;
      clients.find = async () => {
        throw new Error('pool exhausted');
      };
      try {
        const body = assertAbbeyError(await postJson(t, TOKEN, { clientId: 'gh_uncached', clientSecret: 'x' }), 500, 'INTERNAL_ERROR');
        assert.doesNotMatch(JSON.stringify(body), /pool/);
      } finally {
        clients.find = original;
      }
    });

    it('gives every error a new errorId, and that id is in the server log line for it', async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const body = assertAbbeyError(await postJson(t, TOKEN, { clientId: client.id, clientSecret: 'wrong' }), 409, 'INVALID_CREDENTIALS');
        const id = String(body.errorId);
        assert.ok(!ids.has(id));
        ids.add(id);
        const line = lines.find((l) => l.errorId === id);
        assert.ok(line, `a log line carries ${id}`);
        assert.equal(line.error, 'invalid_client');
        assert.doesNotMatch(JSON.stringify(line), /wrong/);
      }
    });
  });

  describe(`AbbeyCross status mapping overridden on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    it('answers with the configured statuses instead of 409', async () => {
      const t = await suite.build(
        inlineSurfaces([{ profile: 'abbeycross', environment: 'PRODUCTION', statusMap: { invalid_client: 401, invalid_request: 400 } }]),
      );
      await createEnvironments(t);
      assertAbbeyError(await postJson(t, TOKEN, { clientId: 'gh_x', clientSecret: 'y' }), 401, 'INVALID_CREDENTIALS');
      assertAbbeyError(await postJson(t, TOKEN, { clientId: 'gh_x' }), 400, 'VALIDATION_FAILED');
      assertAbbeyError(await postJson(t, TOKEN, { clientId: 'gh_x', clientSecret: 'y', scope: 'a' }), 401, 'INVALID_CREDENTIALS');
    });
  });
}
