import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import type { LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { decryptPrivateKey } from '../../src/crypto/key-encryption.ts';
import { hashSecret } from '../../src/crypto/secrets.ts';
import type { Store } from '../../src/domain/storage.ts';
import { createLogger } from '../../src/server/logger.ts';
import { formAction, hiddenFields, PASSWORD, pkce, REDIRECT_URI, setUpCodeFlow, TestBrowser } from '../helpers/authorization.ts';
import { POSTGRES_URL, type TestDatabase, testDatabases } from '../helpers/databases.ts';
import { basic, buildTestApp, form, type TestApp } from '../helpers/fixtures.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const JSON_TYPE = { 'content-type': 'application/json' };
const CC = { grant_type: 'client_credentials' };
const ENV = 'LEAKCHECK';

/** Every row of every table, as text, keyed by table name. */
async function dumpDatabase(database: TestDatabase['name'], url: string, schema: string | undefined): Promise<Map<string, Record<string, unknown>[]>> {
  const tables = new Map<string, Record<string, unknown>[]>();
  if (database === 'sqlite') {
    const db = new SqliteDatabase(url, { readonly: true, fileMustExist: true });
    try {
      const names = db.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[];
      for (const { name } of names) tables.set(name, db.prepare(`select * from "${name.replaceAll('"', '""')}"`).all() as Record<string, unknown>[]);
    } finally {
      db.close();
    }
    return tables;
  }
  assert.ok(schema, 'a PostgreSQL test database has its own schema');
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ table_name: string }>(
      "select table_name from information_schema.tables where table_schema = $1 and table_type = 'BASE TABLE'",
      [schema],
    );
    for (const { table_name } of rows) {
      const quoted = `${client.escapeIdentifier(schema)}.${client.escapeIdentifier(table_name)}`;
      tables.set(table_name, (await client.query<Record<string, unknown>>(`select * from ${quoted}`)).rows);
    }
  } finally {
    await client.end();
  }
  return tables;
}

const cellText = (value: unknown): string => (Buffer.isBuffer(value) ? `${value.toString('utf8')} ${value.toString('hex')}` : String(value));

for (const database of await testDatabases()) {
  describe(`no secret reaches the logs or the ${database.name} database`, () => {
    const logChunks: string[] = [];
    const logStream = new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        logChunks.push(chunk.toString());
        callback();
      },
    });
    /** Labelled values that must never appear in clear. */
    const secrets = new Map<string, string>();
    /** Hashes that must be stored (client secrets, opaque tokens): proof the searches look where data is. */
    const storedHashes: string[] = [];
    let t: TestApp;
    let url: string;
    let schema: string | undefined;
    let cleanup: () => Promise<void>;
    let tables: Map<string, Record<string, unknown>[]>;
    const privateKeys: { kid: string; sealed: string; d: string }[] = [];

    const keep = (label: string, value: string | undefined): string => {
      assert.ok(value && value.length >= 20, `${label} should be a long random value, got ${JSON.stringify(value)}`);
      secrets.set(label, value);
      return value;
    };
    const inject = (method: 'GET' | 'POST', path: string, headers: Record<string, string>, payload = '') =>
      t.app.server.inject({ method, url: path, headers, payload });
    const post = (endpoint: string, headers: Record<string, string>, payload: string) => inject('POST', `/envs/${ENV}/${endpoint}`, headers, payload);
    const ok = (res: LightMyRequestResponse): Record<string, unknown> => {
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as Record<string, unknown>;
    };
    const tokenOf = (res: LightMyRequestResponse): string => String(ok(res).access_token);
    /** Records a token and, for a JWT, its signature on its own. */
    const keepToken = (label: string, token: string) => {
      keep(label, token);
      const parts = token.split('.');
      if (parts.length === 3) keep(`${label} signature`, parts[2]);
      else {
        keep(`${label} random part`, token.replace(/^gat_/, ''));
        storedHashes.push(hashSecret(token));
      }
      return token;
    };

    before(async () => {
      let store: Store;
      ({ store, url, schema, cleanup } = await database.open());
      t = await buildTestApp(store, { passwordHashCost: 10 }, { logger: createLogger('debug', logStream) });
      keep('key secret (hex)', t.config.keySecret.toString('hex'));
      keep('key secret (base64url)', t.config.keySecret.toString('base64url'));
      keep('key secret (base64)', t.config.keySecret.toString('base64'));

      await t.admin.createEnvironment(ENV);
      const jwtClient = await t.admin.createClient({ env: ENV, name: 'jwt service', scopes: ['read', 'write'] });
      const opaqueClient = await t.admin.createClient({ env: ENV, name: 'opaque service', scopes: ['read'], tokenFormat: 'opaque' });
      const resourceServer = await t.admin.createClient({ env: ENV, name: 'api', scopes: [], introspectAny: true });
      const jwt = { id: jwtClient.client_id, secret: keep('jwt client secret', jwtClient.client_secret) };
      const opaque = { id: opaqueClient.client_id, secret: keep('opaque client secret', opaqueClient.client_secret) };
      const rs = { id: resourceServer.client_id, secret: keep('resource server secret', resourceServer.client_secret) };
      storedHashes.push(hashSecret(jwt.secret), hashSecret(opaque.secret), hashSecret(rs.secret));

      // Tokens with each way of presenting credentials.
      const t1 = keepToken('jwt (Basic)', tokenOf(await post('token', { ...FORM, authorization: basic(jwt.id, jwt.secret) }, form(CC))));
      const t2 = keepToken('jwt (form body)', tokenOf(await post('token', FORM, form({ ...CC, client_id: jwt.id, client_secret: jwt.secret }))));
      const t3 = keepToken('jwt (JSON)', tokenOf(await post('token', JSON_TYPE, JSON.stringify({ ...CC, client_id: jwt.id, client_secret: jwt.secret }))));
      const o1 = keepToken('opaque (Basic)', tokenOf(await post('token', { ...FORM, authorization: basic(opaque.id, opaque.secret) }, form(CC))));
      const o2 = keepToken(
        'opaque (JSON)',
        tokenOf(await post('token', JSON_TYPE, JSON.stringify({ ...CC, client_id: opaque.id, client_secret: opaque.secret }))),
      );
      assert.equal(t1.split('.').length, 3);
      assert.match(o1, /^gat_/);

      // Failed authentications: a wrong secret may be a real one with a typo, so it is secret too.
      const wrong = keep('wrong secret', `${jwt.secret.slice(0, -4)}AAAA`);
      assert.equal((await post('token', { ...FORM, authorization: basic(jwt.id, wrong) }, form(CC))).statusCode, 401);
      assert.equal((await post('token', FORM, form({ ...CC, client_id: opaque.id, client_secret: wrong }))).statusCode, 401);
      // Malformed requests whose bodies carry credentials.
      assert.equal((await post('token', JSON_TYPE, `{"client_id":"${jwt.id}","client_secret":"${jwt.secret}",`)).statusCode, 400);
      assert.equal((await post('token', FORM, `${form(CC)}&client_secret=${jwt.secret}&client_secret=${jwt.secret}`)).statusCode, 400);
      assert.equal((await post('token', JSON_TYPE, JSON.stringify({ ...CC, client_id: jwt.id, client_secret: [jwt.secret] }))).statusCode, 400);
      assert.equal((await post('token', { 'content-type': 'text/plain' }, `client_secret=${jwt.secret}`)).statusCode, 400);

      // Introspection by the owner (Basic, form) and by a resource server (JSON body).
      assert.equal(ok(await post('introspect', { ...FORM, authorization: basic(jwt.id, jwt.secret) }, form({ token: t1 }))).active, true);
      assert.equal(ok(await post('introspect', JSON_TYPE, JSON.stringify({ token: o1, client_id: rs.id, client_secret: rs.secret }))).active, true);

      // Revocation, then introspection says inactive.
      ok(await post('revoke', FORM, form({ token: t2, client_id: jwt.id, client_secret: jwt.secret })));
      ok(await post('revoke', { ...FORM, authorization: basic(opaque.id, opaque.secret) }, form({ token: o2 })));
      assert.deepEqual(ok(await post('introspect', FORM, form({ token: t2, client_id: rs.id, client_secret: rs.secret }))), { active: false });
      assert.deepEqual(ok(await post('introspect', FORM, form({ token: o2, client_id: rs.id, client_secret: rs.secret }))), { active: false });

      // Key rotation, secret rotation; the new secret works, the old one still does during the overlap.
      await t.admin.rotateKeys(ENV);
      const rotated = keep('rotated jwt client secret', (await t.admin.rotateClientSecret(ENV, jwt.id)).client_secret);
      assert.notEqual(rotated, jwt.secret);
      storedHashes.push(hashSecret(rotated));
      keepToken('jwt (rotated secret)', tokenOf(await post('token', { ...FORM, authorization: basic(jwt.id, rotated) }, form(CC))));
      keepToken('jwt (old secret in overlap)', tokenOf(await post('token', FORM, form({ ...CC, client_id: jwt.id, client_secret: jwt.secret }))));
      keepToken('opaque (form body)', tokenOf(await post('token', FORM, form({ ...CC, client_id: opaque.id, client_secret: opaque.secret }))));

      // Credentials misplaced in query strings, on a real endpoint, a wrong method and an unknown path.
      await post(`introspect?token=${t3}&client_secret=${rotated}`, FORM, form({ token: t3, client_id: jwt.id, client_secret: rotated }));
      await inject('GET', `/envs/${ENV}/token?client_id=${jwt.id}&client_secret=${rotated}`, {});
      await inject('GET', `/no/such/path?access_token=${o1}`, { authorization: `Bearer ${o1}` });
      await inject('GET', `/envs/${ENV}/jwks.json?access_token=${t1}`, { authorization: basic(jwt.id, rotated) });

      // The authorization code flow: password, session ids, CSRF token, pending request, code,
      // verifier, refresh tokens. A wrong password may be the right one with a typo: secret too.
      const flow = await setUpCodeFlow(t);
      keep('flow client secret', flow.clientSecret);
      keep('user password', PASSWORD);
      const browser = new TestBrowser(t);
      const { verifier, challenge } = pkce();
      keep('code verifier', verifier);
      const toLogin = await browser.authorize({
        response_type: 'code',
        client_id: flow.clientId,
        redirect_uri: REDIRECT_URI,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state: 'leak-check',
      });
      const loginPage = await browser.get(String(toLogin.headers.location));
      const fields = hiddenFields(loginPage.body);
      keep('login CSRF token', fields.csrf_token);
      keep('pending request id', fields.request);
      keep('anonymous session id', browser.cookie?.split('=')[1]);
      const wrongPassword = keep('mistyped user password', 'Tr0ub4dor&3 mistyped guess');
      assert.equal((await browser.post(formAction(loginPage.body), { ...fields, username: flow.username, password: wrongPassword })).statusCode, 401);
      const toConsent = await browser.post(formAction(loginPage.body), { ...fields, username: flow.username, password: PASSWORD });
      const sessionId = keep('signed-in session id', browser.cookie?.split('=')[1]);
      storedHashes.push(hashSecret(sessionId));
      const approved = await browser.consent(toConsent, 'allow');
      const code = keep('authorization code', new URL(String(approved.headers.location)).searchParams.get('code') ?? undefined);
      storedHashes.push(hashSecret(code));
      const flowAuth = { ...FORM, authorization: basic(flow.clientId, flow.clientSecret) };
      const exchanged = ok(
        await post('../DEVELOPMENT/token', flowAuth, form({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI })),
      );
      keepToken('user access token', String(exchanged.access_token));
      const refreshToken = keep('refresh token', String(exchanged.refresh_token));
      storedHashes.push(hashSecret(refreshToken));
      const refreshed = ok(await post('../DEVELOPMENT/token', flowAuth, form({ grant_type: 'refresh_token', refresh_token: refreshToken })));
      keepToken('refreshed access token', String(refreshed.access_token));
      keep('rotated refresh token', String(refreshed.refresh_token));
      // A replayed code and a replayed refresh token: refused, and their family revoked.
      assert.equal((await post('../DEVELOPMENT/token', flowAuth, form({ grant_type: 'refresh_token', refresh_token: refreshToken }))).statusCode, 400);
      assert.equal(
        (await post('../DEVELOPMENT/token', flowAuth, form({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI })))
          .statusCode,
        400,
      );

      tables = await dumpDatabase(database.name, url, schema);
      // The private halves of the signing keys, decrypted here only to search for them.
      for (const key of tables.get('signing_keys') ?? []) {
        const pem = decryptPrivateKey(String(key.private_key_sealed), t.config.keySecret, `${key.env_id}/${key.kid}`);
        assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
        const jwk = createPrivateKey(pem).export({ format: 'jwk' });
        privateKeys.push({ kid: String(key.kid), sealed: String(key.private_key_sealed), d: keep(`private key d of ${key.kid}`, jwk.d) });
        keep(`PEM body of ${key.kid}`, pem.split('\n')[1]);
      }
    });

    after(async () => {
      await t?.app.stop();
      await cleanup?.();
    });

    const logText = () => logChunks.join('');

    it('captured the request log at debug level (the check below is not vacuous)', () => {
      const lines = logText()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { level: number; msg?: string });
      assert.ok(lines.length > 40, `expected many log lines, got ${lines.length}`);
      assert.ok(lines.some((l) => l.msg === 'incoming request'));
      assert.ok(lines.some((l) => l.msg === 'request completed'));
      assert.ok(
        lines.some((l) => l.level === 20 && l.msg === 'token issued'),
        'debug lines are captured',
      );
      assert.ok(
        lines.some((l) => l.msg === 'client authentication failed'),
        'failures are logged',
      );
    });

    it('writes no secret, token or signature to the log', () => {
      const text = logText();
      assert.ok(secrets.size >= 20, `expected at least 20 tracked values, got ${secrets.size}`);
      for (const [label, value] of secrets) {
        const at = text.indexOf(value);
        assert.equal(at, -1, `${label} appears in the log: …${text.slice(Math.max(0, at - 200), at + 40)}…`);
      }
    });

    it('stores no secret or token in clear in any table', () => {
      for (const table of ['environments', 'clients', 'client_secrets', 'signing_keys', 'access_tokens', 'revoked_jwts']) {
        assert.ok(tables.has(table), `table ${table} was read`);
      }
      const dump = [...tables].map(([name, rows]) => `${name}: ${rows.map((row) => Object.values(row).map(cellText).join(' | ')).join('\n')}`).join('\n');
      assert.ok(storedHashes.length >= 7);
      for (const hash of storedHashes) assert.ok(dump.includes(hash), `hash ${hash} is stored (the search looks where the data is)`);
      assert.equal((tables.get('revoked_jwts') ?? []).length, 3, 'the revoked JWT and the two of the revoked family are remembered by jti');
      for (const [label, value] of secrets) assert.ok(!dump.includes(value), `${label} is stored in clear`);
    });

    it('keeps private signing keys sealed', () => {
      assert.equal(
        privateKeys.length,
        5,
        'the initial key, the rotated one and the code-flow environment’s key, and each environment’s RS256 key of ID Tokens',
      );
      for (const { kid, sealed, d } of privateKeys) {
        assert.ok(!sealed.includes('PRIVATE KEY'), `the PEM of ${kid} is stored as is`);
        assert.ok(!sealed.includes(d), `d of ${kid} is in the sealed column`);
      }
      for (const key of tables.get('signing_keys') ?? []) assert.ok(!String(key.public_jwk).includes('"d"'), 'the public JWK holds no private member');
    });

    it('serves no private member in the JWKS', async () => {
      const jwks = ok(await inject('GET', `/envs/${ENV}/jwks.json`, {})) as { keys: Record<string, unknown>[] };
      assert.equal(jwks.keys.length, 3, 'the access-token keys, old and new, and the RS256 key');
      for (const key of jwks.keys) for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(key[member], undefined);
    });

    if (database.name === 'sqlite') {
      it('leaves no secret in the raw SQLite file or its WAL', () => {
        const files = [url, `${url}-wal`].filter((path) => existsSync(path));
        assert.ok(files.length >= 1);
        const bytes = files.map((path) => readFileSync(path));
        assert.ok(
          storedHashes.every((hash) => bytes.some((b) => b.includes(hash))),
          'the raw bytes hold the stored hashes (the search works)',
        );
        for (const [label, value] of secrets) {
          for (const [i, b] of bytes.entries()) assert.ok(!b.includes(value), `${label} is in ${files[i]}`);
        }
      });
    }
  });
}
