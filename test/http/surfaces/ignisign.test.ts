import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { IGNISIGN_ERROR_CODES } from '../../../src/surfaces/profiles/ignisign.ts';
import { type CodeFlowFixture, obtainCode, REDIRECT_URI, setUpCodeFlow, TestBrowser } from '../../helpers/authorization.ts';
import { testDatabases } from '../../helpers/databases.ts';
import { form, PUBLIC_URL, suiteStore, type TestApp } from '../../helpers/fixtures.ts';
import { createEnvironments, jsonAnswer, postJson, surfacesConfig } from '../../helpers/surfaces.ts';

const TOKEN = (appEnv: string) => `/v4/envs/${appEnv}/oauth2/proofs-token`;
const AUTHORIZE = (appEnv: string) => `/v4/envs/${appEnv}/oauth2/authorize`;

/** Asserts Ignisign's error envelope and returns it. */
function assertIgnisignError(res: Awaited<ReturnType<typeof postJson>>, t: TestApp, status: number, code: string): Record<string, unknown> {
  const body = jsonAnswer(res, status);
  assert.deepEqual(Object.keys(body).sort(), ['code', 'context', 'message', 'status', 'timestamp']);
  assert.equal(body.status, status);
  assert.equal(body.code, code, res.body);
  assert.match(String(body.code), /^[A-Z]+(_[A-Z]+)*$/);
  assert.equal(typeof body.message, 'string');
  // UTC, ISO 8601 as on Ignisign's example (2024-07-29T15:51:28.071Z), from the injected clock.
  assert.equal(body.timestamp, new Date(t.clock.now()).toISOString());
  assert.equal(typeof (body.context as { errorId?: unknown }).errorId, 'string');
  return body;
}

for (const database of await testDatabases()) {
  describe(`Ignisign surface on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let fixture: CodeFlowFixture;

    const exchange = (code: string, verifier: string, extra: Record<string, string> = {}, appEnv = 'DEVELOPMENT') =>
      postJson(t, TOKEN(appEnv), {
        grant_type: 'authorization_code',
        client_id: fixture.clientId,
        client_secret: fixture.clientSecret,
        code,
        code_verifier: verifier,
        redirect_uri: REDIRECT_URI,
        ...extra,
      });
    const codeFor = () => obtainCode(t, fixture, { authorizePath: AUTHORIZE('DEVELOPMENT') });

    before(async () => {
      t = await suite.build(surfacesConfig());
      await createEnvironments(t);
      fixture = await setUpCodeFlow(t, { env: 'DEVELOPMENT', grantTypes: ['authorization_code'] });
    });

    it('runs the whole flow: /oauth2/authorize with PKCE S256 → login → consent → proofs-token', async () => {
      const { code, verifier, location } = await codeFor();
      assert.equal(location.searchParams.get('state'), 'xyz');
      assert.equal(location.searchParams.get('iss'), `${PUBLIC_URL}/envs/DEVELOPMENT`);
      const body = jsonAnswer(await exchange(code, verifier), 200);
      assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.expires_in, 3600);
      assert.equal(body.scope, 'invoices:read invoices:write');
      const claims = decodeJwt(String(body.access_token));
      assert.equal(claims.iss, `${PUBLIC_URL}/envs/DEVELOPMENT`);
      assert.equal(claims.client_id, fixture.clientId);
    });

    it('answers a replayed code with 400 TOKEN_ALREADY_CONSUMED and revokes what it gave', async () => {
      const { code, verifier } = await codeFor();
      const first = jsonAnswer(await exchange(code, verifier), 200);
      const body = assertIgnisignError(await exchange(code, verifier), t, 400, 'TOKEN_ALREADY_CONSUMED');
      assert.match(String(body.message), /already used/);
      const introspected = await t.app.server.inject({
        method: 'POST',
        url: '/envs/DEVELOPMENT/introspect',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ token: String(first.access_token), client_id: fixture.clientId, client_secret: fixture.clientSecret }),
      });
      assert.deepEqual(introspected.json(), { active: false });
    });

    it('accepts only DEVELOPMENT, STAGING and PRODUCTION as appEnv (anything else 400)', async () => {
      for (const appEnv of ['TESTING', 'development', 'PRODUCTION2']) {
        const body = assertIgnisignError(await exchange('x', 'y', {}, appEnv), t, 400, 'APP_ENV_INVALID');
        assert.equal((body.context as { parameter?: string }).parameter, 'appEnv');
        const page = await new TestBrowser(t).get(`${AUTHORIZE(appEnv)}?response_type=code`);
        assert.equal(page.statusCode, 400);
        assert.match(page.body, /appEnv must be one of DEVELOPMENT, STAGING, PRODUCTION/);
      }
    });

    it('keeps environments apart: a DEVELOPMENT code is unknown on STAGING', async () => {
      const { code, verifier } = await codeFor();
      // The client does not exist on STAGING either, so authentication fails first.
      assertIgnisignError(await exchange(code, verifier, {}, 'STAGING'), t, 401, 'UNAUTHORIZED_ERROR');
    });

    it('requires every documented field: 400 BODY_VALIDATION_FAILED naming it', async () => {
      for (const field of ['grant_type', 'client_id', 'client_secret', 'code', 'code_verifier', 'redirect_uri']) {
        const request = { grant_type: 'authorization_code', client_id: 'a', client_secret: 'b', code: 'c', code_verifier: 'd', redirect_uri: REDIRECT_URI };
        delete (request as Record<string, string>)[field];
        const body = assertIgnisignError(await postJson(t, TOKEN('DEVELOPMENT'), request), t, 400, 'BODY_VALIDATION_FAILED');
        assert.equal((body.context as { parameter?: string }).parameter, field);
        assert.match(String(body.message), new RegExp(`${field} is required`));
      }
    });

    it('takes a JSON body only; malformed JSON and other media types are BODY_VALIDATION_FAILED', async () => {
      const asForm = await t.app.server.inject({
        method: 'POST',
        url: TOKEN('DEVELOPMENT'),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ grant_type: 'authorization_code' }),
      });
      assertIgnisignError(asForm, t, 400, 'BODY_VALIDATION_FAILED');
      const broken = await t.app.server.inject({
        method: 'POST',
        url: TOKEN('DEVELOPMENT'),
        headers: { 'content-type': 'application/json' },
        payload: '{"grant_type":',
      });
      const body = assertIgnisignError(broken, t, 400, 'BODY_VALIDATION_FAILED');
      assert.doesNotMatch(JSON.stringify(body), /at JSON\.parse|SyntaxError/);
    });

    it('401 UNAUTHORIZED_ERROR for a wrong secret, 403 FORBIDDEN_ERROR for a client without the grant', async () => {
      const { code, verifier } = await codeFor();
      assertIgnisignError(await exchange(code, verifier, { client_secret: 'wrong' }), t, 401, 'UNAUTHORIZED_ERROR');
      const machine = await t.admin.createClient({ env: 'DEVELOPMENT', name: 'machine', grantTypes: ['client_credentials'] });
      const res = await exchange(code, verifier, { client_id: machine.client_id, client_secret: String(machine.client_secret) });
      assertIgnisignError(res, t, 403, 'FORBIDDEN_ERROR');
    });

    it('tells PKCE, redirect_uri, expiry and grant_type failures apart', async () => {
      let { code, verifier } = await codeFor();
      // Another verifier: its first character replaced by a different one, never by itself.
      const wrong = `${verifier.startsWith('A') ? 'B' : 'A'}${verifier.slice(1)}`;
      assertIgnisignError(await exchange(code, wrong), t, 400, 'CODE_VERIFIER_MISMATCH');
      ({ code, verifier } = await codeFor());
      assertIgnisignError(await exchange(code, verifier, { redirect_uri: 'https://app.example.test/other' }), t, 400, 'REDIRECT_URI_MISMATCH');
      ({ code, verifier } = await codeFor());
      t.clock.advance(t.config.authorizationCodeTtl * 1000 + 1);
      assertIgnisignError(await exchange(code, verifier), t, 400, 'TOKEN_EXPIRED');
      assertIgnisignError(await exchange('gac_unknown', verifier), t, 400, 'TOKEN_INVALID');
      assertIgnisignError(await exchange(code, verifier, { grant_type: 'client_credentials' }), t, 400, 'GRANT_TYPE_NOT_SUPPORTED');
    });

    it('answers an unexpected failure with 500 INTERNAL_ERROR and nothing internal', async () => {
      const { code, verifier } = await codeFor();
      const codes = t.store.authorizationCodes;
      // The code grant reads the code with its user's state in one statement.
      const original = codes.findForRedemption;
      codes.findForRedemption = async () => {
        throw new Error('disk on fire at /var/lib/secret');
      };
      try {
        const body = assertIgnisignError(await exchange(code, verifier), t, 500, 'INTERNAL_ERROR');
        assert.doesNotMatch(JSON.stringify(body), /disk|secret|stack/);
      } finally {
        codes.findForRedemption = original;
      }
    });

    it('documents a status for every code, and the dialect never answers with another', () => {
      for (const [code, entry] of Object.entries(IGNISIGN_ERROR_CODES)) {
        assert.match(code, /^[A-Z]+(_[A-Z]+)*$/);
        assert.ok([400, 401, 403, 413, 429, 500, 503].includes(entry.status));
        assert.ok(entry.when.length > 10);
      }
    });
  });
}
