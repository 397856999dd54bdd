import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type CodeFlowFixture, obtainCode, REDIRECT_URI, setUpCodeFlow, TestBrowser } from '../../helpers/authorization.ts';
import { testDatabases } from '../../helpers/databases.ts';
import { basic, form, suiteStore, type TestApp } from '../../helpers/fixtures.ts';
import { jsonAnswer, postJson, surfacesConfig } from '../../helpers/surfaces.ts';

const run = promisify(execFile);
const ENV = 'PRODUCTION';
const AUTHORIZE = '/oauth/authorize';

// The curl commands of the RightSignature page (seed 002), as written there; only the host and
// the credentials are replaced before they run. On the page the flattened `\ ` are line breaks.
const SEED_TOKEN =
  'curl -F grant_type=authorization_code \\ -F client_id=CLIENT_ID \\ -F client_secret=CLIENT_SECRET \\ -F code=AUTHORIZATION_CODE_FROM_REDIRECT \\ -F redirect_uri=REDIRECT_URI \\ -X POST https://api.rightsignature.com/oauth/token';
const SEED_REFRESH =
  'curl -F grant_type=refresh_token \\ -F refresh_token=REFRESH_TOKEN \\ -F client_id=CLIENT_ID \\ -F client_secret=CLIENT_SECRET -X POST https://api.rightsignature.com/oauth/token';
const SEED_REVOKE = "curl -d 'token=ACCESS_TOKEN_TO_EXPIRE' -X POST -u 'YOUR_CLIENT_ID:YOUR_CLIENT_SECRET' https://api.rightsignature.com/oauth/revoke";
const SEED_HEADER = 'curl --header "Authorization: Bearer a503faf9-45b5-4fec-8334-337284a66ea4" https://api.rightsignature.com/public/v1/documents/12345678';
const SEED_QUERY = 'curl https://api.rightsignature.com/public/v1/documents/12345678?access_token=a503faf9-45b5-4fec-8334-337284a66ea4';
const SEED_FILE = new URL('../../../../shared/seeds/002_8a6919fe99a36220.txt', import.meta.url);

/** Runs a seed command through the shell with the page's line breaks restored and `replace` applied. */
async function curl(command: string, replace: Record<string, string>): Promise<Record<string, unknown>> {
  let text = command.replaceAll(' \\ ', ' \\\n  ');
  for (const [from, to] of Object.entries(replace)) text = text.replaceAll(from, to);
  const { stdout } = await run('/bin/sh', ['-c', `${text} --silent --show-error`], { timeout: 10_000 });
  return JSON.parse(stdout) as Record<string, unknown>;
}

function assertRightSignatureToken(body: Record<string, unknown>, t: TestApp): void {
  assert.deepEqual(Object.keys(body).sort(), ['access_token', 'created_at', 'expires_in', 'refresh_token', 'scope', 'token_type']);
  assert.equal(body.token_type, 'bearer');
  assert.equal(body.expires_in, 7200);
  assert.equal(body.scope, 'read');
  assert.equal(body.created_at, Math.floor(t.clock.now() / 1000));
  assert.match(String(body.refresh_token), /^grt_/);
}

for (const database of await testDatabases()) {
  describe(`RightSignature surface on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let fixture: CodeFlowFixture;
    const code = () => obtainCode(t, fixture, { authorizePath: AUTHORIZE, scope: 'read', pkce: false });
    const post = (url: string, params: Record<string, string>, authorization?: string) =>
      t.app.server.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) },
        payload: form(params),
      });
    const exchange = async () => {
      const { code: value } = await code();
      const res = await post('/oauth/token', {
        grant_type: 'authorization_code',
        client_id: fixture.clientId,
        client_secret: fixture.clientSecret,
        code: value,
        redirect_uri: REDIRECT_URI,
      });
      return jsonAnswer(res, 200);
    };

    before(async () => {
      t = await suite.build(surfacesConfig());
      fixture = await setUpCodeFlow(t, { env: ENV, scopes: ['read', 'write'], allowMissingPkce: true });
    });

    it('POST /oauth/token exchanges a code (form-urlencoded) for the Doorkeeper token object', async () => {
      assertRightSignatureToken(await exchange(), t);
    });

    it('accepts the same request as JSON and as multipart/form-data', async () => {
      const { code: value } = await code();
      const body = {
        grant_type: 'authorization_code',
        client_id: fixture.clientId,
        client_secret: fixture.clientSecret,
        code: value,
        redirect_uri: REDIRECT_URI,
      };
      assertRightSignatureToken(jsonAnswer(await postJson(t, '/oauth/token', body), 200), t);
      const { code: second } = await code();
      const boundary = '------------------------d74496d66958873e';
      const parts = Object.entries({ ...body, code: second }).map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`);
      const res = await t.app.server.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
        payload: `${parts.join('')}--${boundary}--\r\n`,
      });
      assertRightSignatureToken(jsonAnswer(res, 200), t);
    });

    it('refresh_token rotates and keeps the shape; RFC 6749 errors otherwise', async () => {
      const first = await exchange();
      const refreshed = await post('/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: String(first.refresh_token),
        client_id: fixture.clientId,
        client_secret: fixture.clientSecret,
      });
      const body = jsonAnswer(refreshed, 200);
      assertRightSignatureToken(body, t);
      assert.notEqual(body.refresh_token, first.refresh_token);
      const replay = await post('/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: String(first.refresh_token),
        client_id: fixture.clientId,
        client_secret: fixture.clientSecret,
      });
      assert.deepEqual(Object.keys(jsonAnswer(replay, 400)).sort(), ['error', 'error_description']);
      assert.equal(replay.json().error, 'invalid_grant');
      const wrong = await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: 'x', client_id: fixture.clientId, client_secret: 'nope' });
      assert.equal(jsonAnswer(wrong, 401).error, 'invalid_client');
      const unsupported = await post('/oauth/token', { grant_type: 'client_credentials', client_id: fixture.clientId, client_secret: fixture.clientSecret });
      assert.equal(jsonAnswer(unsupported, 400).error, 'unsupported_grant_type');
    });

    it('POST /oauth/revoke with Basic or body credentials: always 200 {}', async () => {
      const viaBasic = await exchange();
      const res = await post('/oauth/revoke', { token: String(viaBasic.access_token) }, basic(fixture.clientId, fixture.clientSecret));
      assert.deepEqual(jsonAnswer(res, 200), {});
      const info = await t.app.server.inject({ url: '/oauth/token/info', headers: { authorization: `Bearer ${viaBasic.access_token}` } });
      assert.equal(info.statusCode, 401);
      const viaBody = await exchange();
      const body = { token: String(viaBody.access_token), client_id: fixture.clientId, client_secret: fixture.clientSecret };
      assert.deepEqual(jsonAnswer(await post('/oauth/revoke', body), 200), {});
      // Unknown and already-revoked tokens: still 200 {} (RFC 7009 §2.2).
      assert.deepEqual(jsonAnswer(await post('/oauth/revoke', { ...body, token: 'not-a-token' }), 200), {});
      assert.deepEqual(jsonAnswer(await post('/oauth/revoke', body), 200), {});
      // Doorkeeper answers a blank token with 200 {} too, once the client is authenticated.
      assert.deepEqual(jsonAnswer(await post('/oauth/revoke', {}, basic(fixture.clientId, fixture.clientSecret)), 200), {});
      assert.equal(jsonAnswer(await post('/oauth/revoke', { token: 'x' }, basic(fixture.clientId, 'wrong')), 401).error, 'invalid_client');
      const refreshOnly = await exchange();
      assert.deepEqual(jsonAnswer(await post('/oauth/revoke', { ...body, token: String(refreshOnly.refresh_token) }), 200), {});
    });

    it('GET /oauth/token/info takes the token as Authorization: Bearer or as ?access_token=', async () => {
      const issued = await exchange();
      const expected = {
        resource_owner_id: (await t.store.users.findByUsername((await t.store.environments.findByName(ENV))?.id ?? '', fixture.username))?.userId,
        scope: ['read'],
        expires_in: 7200,
        application: { uid: fixture.clientId },
        created_at: Math.floor(t.clock.now() / 1000),
      };
      const byHeader = await t.app.server.inject({ url: '/oauth/token/info', headers: { authorization: `Bearer ${issued.access_token}` } });
      assert.deepEqual(jsonAnswer(byHeader, 200), expected);
      t.clock.advance(600_000);
      const byQuery = await t.app.server.inject({ url: `/oauth/token/info?access_token=${issued.access_token}` });
      assert.deepEqual(jsonAnswer(byQuery, 200), { ...expected, expires_in: 6600 });
    });

    it('GET /oauth/token/info answers RFC 6750 errors with WWW-Authenticate', async () => {
      const missing = await t.app.server.inject({ url: '/oauth/token/info' });
      assert.equal(jsonAnswer(missing, 401).error, 'invalid_token');
      assert.equal(missing.headers['www-authenticate'], 'Bearer realm="gatehouse"');
      const bad = await t.app.server.inject({ url: '/oauth/token/info', headers: { authorization: 'Bearer not.a.token' } });
      assert.equal(jsonAnswer(bad, 401).error, 'invalid_token');
      assert.match(String(bad.headers['www-authenticate']), /^Bearer realm="gatehouse", error="invalid_token", error_description="[^"]+"$/);
      const issued = await exchange();
      const both = await t.app.server.inject({
        url: `/oauth/token/info?access_token=${issued.access_token}`,
        headers: { authorization: `Bearer ${issued.access_token}` },
      });
      assert.equal(jsonAnswer(both, 400).error, 'invalid_request');
      assert.match(String(both.headers['www-authenticate']), /error="invalid_request"/);
      t.clock.advance(7200_000);
      const expired = await t.app.server.inject({ url: `/oauth/token/info?access_token=${issued.access_token}` });
      assert.equal(jsonAnswer(expired, 401).error, 'invalid_token');
    });

    it('GET /oauth/token/info with another scheme (curl -u a:b) lacks authentication: 401 with a bare Bearer challenge (RFC 6750 §3.1)', async () => {
      // "Basic YTpi" is what curl -u a:b sends.
      for (const authorization of ['Basic YTpi', 'Digest username="a"', 'Token abc', 'Bearerish abc', '']) {
        const res = await t.app.server.inject({ url: '/oauth/token/info', headers: { authorization } });
        assert.deepEqual(jsonAnswer(res, 401), { error: 'invalid_token', error_description: 'an access token is required' }, authorization);
        assert.equal(res.headers['www-authenticate'], 'Bearer realm="gatehouse"', authorization);
      }
      // Another scheme is not a second way of sending the token: access_token still counts.
      const issued = await exchange();
      const withQuery = await t.app.server.inject({ url: `/oauth/token/info?access_token=${issued.access_token}`, headers: { authorization: 'Basic YTpi' } });
      assert.deepEqual(jsonAnswer(withQuery, 200).application, { uid: fixture.clientId });
      // A Bearer header without a well-formed token stays a malformed request.
      for (const authorization of ['Bearer', 'Bearer a b', `bearer ${issued.access_token}!`]) {
        const res = await t.app.server.inject({ url: '/oauth/token/info', headers: { authorization } });
        assert.equal(jsonAnswer(res, 400).error, 'invalid_request', authorization);
        assert.match(String(res.headers['www-authenticate']), /^Bearer realm="gatehouse", error="invalid_request"/);
      }
    });

    it('/oauth/authorize lets only a confidential client flagged allow_missing_pkce omit PKCE; the standard /authorize never does', async () => {
      const params = { response_type: 'code', redirect_uri: REDIRECT_URI, state: 's1' };
      const browser = new TestBrowser(t);
      // /oauth/authorize hands over to the issuer's path, where the session cookie lives.
      const viaSurface = async (query: Record<string, string>) => {
        const hop = await browser.authorize(query, AUTHORIZE);
        assert.equal(hop.statusCode, 303);
        assert.match(String(hop.headers.location), /^https:\/\/auth\.example\.test\/envs\/PRODUCTION\/authorize\/rightsignature\?/);
        return browser.get(String(hop.headers.location));
      };
      const publicClient = await viaSurface({ ...params, client_id: fixture.publicClientId });
      assert.equal(publicClient.statusCode, 303);
      const refused = new URL(String(publicClient.headers.location));
      assert.equal(refused.searchParams.get('error'), 'invalid_request');
      assert.match(String(refused.searchParams.get('error_description')), /code_challenge is required/);
      const unflagged = await t.admin.createClient({
        env: ENV,
        name: 'strict',
        grantTypes: ['authorization_code'],
        redirectUris: [REDIRECT_URI],
      });
      const strict = new URL(String((await viaSurface({ ...params, client_id: unflagged.client_id })).headers.location));
      assert.equal(strict.searchParams.get('error'), 'invalid_request', 'a client without allow_missing_pkce');
      await assert.rejects(
        t.admin.createClient({ env: ENV, name: 'p', kind: 'public', grantTypes: ['authorization_code'], redirectUris: [REDIRECT_URI], allowMissingPkce: true }),
        /only a confidential client using authorization_code may omit PKCE/,
      );
      const standard = await browser.authorize({ ...params, client_id: fixture.clientId }, `/envs/${ENV}/authorize`);
      assert.equal(new URL(String(standard.headers.location)).searchParams.get('error'), 'invalid_request');
      const plain = await viaSurface({ ...params, client_id: fixture.clientId, code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' });
      assert.equal(new URL(String(plain.headers.location)).searchParams.get('error'), 'invalid_request');
      // With a challenge the code is bound to it as everywhere else.
      const { code: bound, verifier } = await obtainCode(t, fixture, { authorizePath: AUTHORIZE, scope: 'read' });
      const base = {
        grant_type: 'authorization_code',
        client_id: fixture.clientId,
        client_secret: fixture.clientSecret,
        code: bound,
        redirect_uri: REDIRECT_URI,
      };
      assert.equal(jsonAnswer(await post('/oauth/token', base), 400).error, 'invalid_request');
      assertRightSignatureToken(jsonAnswer(await post('/oauth/token', { ...base, code_verifier: verifier }), 200), t);
    });

    it('runs the seed page’s curl commands verbatim (host and credentials changed)', async () => {
      const address = await t.app.start();
      try {
        const host = (url: string) => url.replace('https://api.rightsignature.com', address);
        const { code: value } = await code();
        const creds = { CLIENT_ID: fixture.clientId, CLIENT_SECRET: fixture.clientSecret };
        const seedReplace = { 'https://api.rightsignature.com': address, ...creds };
        const issued = await curl(SEED_TOKEN, { ...seedReplace, AUTHORIZATION_CODE_FROM_REDIRECT: value, REDIRECT_URI });
        assertRightSignatureToken(issued, t);
        const refreshed = await curl(SEED_REFRESH, { ...seedReplace, REFRESH_TOKEN: String(issued.refresh_token) });
        assertRightSignatureToken(refreshed, t);
        const token = String(refreshed.access_token);
        const info = await curl(
          SEED_HEADER.replace('a503faf9-45b5-4fec-8334-337284a66ea4', token).replace('/public/v1/documents/12345678', '/oauth/token/info'),
          {
            'https://api.rightsignature.com': address,
          },
        );
        assert.deepEqual(info.application, { uid: fixture.clientId });
        const byQuery = await curl(
          host(SEED_QUERY.replace('a503faf9-45b5-4fec-8334-337284a66ea4', token).replace('/public/v1/documents/12345678', '/oauth/token/info')),
          {},
        );
        assert.equal(byQuery.resource_owner_id, info.resource_owner_id);
        const revoked = await curl(SEED_REVOKE, {
          'https://api.rightsignature.com': address,
          ACCESS_TOKEN_TO_EXPIRE: token,
          YOUR_CLIENT_ID: fixture.clientId,
          YOUR_CLIENT_SECRET: fixture.clientSecret,
        });
        assert.deepEqual(revoked, {});
        const after = await t.app.server.inject({ url: `/oauth/token/info?access_token=${token}` });
        assert.equal(after.statusCode, 401);
      } finally {
        await t.app.stop();
      }
    });

    it('the commands above are the seed page’s own text', () => {
      assert.ok(existsSync(SEED_FILE), 'the seed pages (../shared/seeds) are beside the repository');
      const seed = readFileSync(SEED_FILE, 'utf8');
      for (const command of [SEED_TOKEN, SEED_REFRESH, SEED_REVOKE, SEED_HEADER, SEED_QUERY]) assert.ok(seed.includes(command), command);
    });
  });
}
