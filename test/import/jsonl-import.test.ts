import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import type { LightMyRequestResponse } from 'fastify';
import { argon2id } from 'hash-wasm';
import { legacyVerificationQueue } from '../../src/crypto/legacy-hashes.ts';
import { hashSecret } from '../../src/crypto/secrets.ts';
import { type ImportReport, runImport } from '../../src/import/engine.ts';
import { readJsonLines } from '../../src/import/jsonl.ts';
import type { ImportRecord } from '../../src/import/records.ts';
import { pkce, REDIRECT_URI, TestBrowser } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, suiteStore, type TestApp } from '../helpers/fixtures.ts';

const HOUR = 3_600_000;
const LIFETIMES = { refreshTokenIdleTtl: 14 * 86_400, refreshTokenAbsoluteTtl: 90 * 86_400 };
const PASSWORD = 'devise password 1';
const sha256hex = (value: string) => createHash('sha256').update(value).digest('hex');

/** What a provider's export looks like: confidential and public clients (hashed and plain secrets), a user, live, expired and revoked tokens. */
function exportLines(now: number, argon2Password: string): string[] {
  const iso = (ms: number) => new Date(ms).toISOString();
  const issued = iso(now - HOUR);
  const client = (id: string, secret: ImportRecord | object | null, extra: object = {}) => ({
    kind: 'client',
    client_id: id,
    name: id,
    confidential: secret !== null,
    secret,
    redirect_uris: [REDIRECT_URI],
    scopes: ['read', 'write'],
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    source_version: '2026-01-01T00:00:00Z',
    ...extra,
  });
  const token = (value: string, clientId: string, extra: object = {}) => ({
    token: { format: 'plain', value },
    client_id: clientId,
    user_source_id: '1',
    scopes: ['read'],
    issued_at: issued,
    expires_at: iso(now + HOUR),
    revoked: false,
    ...extra,
  });
  const records: object[] = [
    client('legacy-bcrypt', { format: 'bcrypt', value: bcrypt.hashSync('bcrypt-secret', 4) }),
    client('doorkeeper-sha', { format: 'sha256-hex', value: sha256hex('sha-secret') }),
    client('plain-app', { format: 'plain', value: 'plain-secret' }),
    client('mobile', null, { confidential: false }),
    client('no-secret', null, { confidential: true }),
    { kind: 'user', source_id: '1', username: 'alice@example.test', enabled: true, password: { format: 'bcrypt', value: bcrypt.hashSync(PASSWORD, 4) } },
    { kind: 'skipped', what: 'oauth_access_grants', reason: 'authorization codes are short-lived; clients start a new authorization' },
    {
      kind: 'refresh_token',
      ...token('rt-live', 'plain-app', { expires_at: null }),
      access_token: { format: 'plain', value: 'at-paired', expires_at: iso(now + HOUR), revoked: false },
    },
    { kind: 'refresh_token', ...token('', 'doorkeeper-sha', { token: { format: 'sha256-hex', value: sha256hex('rt-hashed') }, expires_at: null }) },
    { kind: 'refresh_token', ...token('rt-revoked', 'plain-app', { revoked: true }) },
    { kind: 'refresh_token', ...token('rt-expired', 'plain-app', { expires_at: iso(now - 1) }) },
    { kind: 'access_token', ...token('at-cc', 'plain-app', { user_source_id: null, scopes: ['write'] }) },
    { kind: 'access_token', ...token('at-old', 'plain-app', { expires_at: iso(now - HOUR / 2) }) },
    { kind: 'user', source_id: '2', username: 'bob@example.test', enabled: true, password: { format: 'argon2id', value: argon2Password } },
  ];
  return [...records.map((r) => JSON.stringify(r)), '{"kind":"client","client_id":42}', 'not json'];
}

const source = (lines: string[]) => readJsonLines(Readable.from(`${lines.join('\n')}\n`));

for (const database of await testDatabases()) {
  describe(`gatehouse import from JSON Lines on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let env: string;
    let lines: string[];
    const importLines = (input: string[], dryRun = false, batchSize?: number, sourceId = 'export'): Promise<ImportReport> =>
      t.store.environments.findByName(env).then((e) => {
        assert.ok(e);
        return runImport(source(input), {
          env: e,
          store: t.store,
          clock: t.clock,
          lifetimes: LIFETIMES,
          sourceId,
          dryRun,
          ...(batchSize ? { batchSize } : {}),
        });
      });
    const token = (auth: string, params: Record<string, string>): Promise<LightMyRequestResponse> =>
      t.app.server.inject({
        method: 'POST',
        url: `/envs/${env}/token`,
        headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
        payload: form(params),
      });
    const lookup = (path: 'introspect' | 'revoke', tok: string) =>
      t.app.server.inject({
        method: 'POST',
        url: `/envs/${env}/${path}`,
        headers: { authorization: basic('plain-app', 'plain-secret'), 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ token: tok }),
      });

    before(async () => {
      t = await suite.build();
      env = `import-${database.name}`;
      await t.admin.createEnvironment(env);
      const argon2Password = await argon2id({
        password: PASSWORD,
        salt: randomBytes(16),
        parallelism: 1,
        iterations: 2,
        memorySize: 8192,
        hashLength: 32,
        outputType: 'encoded',
      });
      lines = exportLines(t.clock.now(), argon2Password);
    });

    it('reports in a dry run what it would import, update and skip, with every reason, and writes nothing', async () => {
      const report = await importLines(lines, true);
      assert.equal(report.dryRun, true);
      assert.deepEqual(report.counts.client, { imported: 4, updated: 0, unchanged: 0, skipped: 1 });
      assert.deepEqual(report.counts.user, { imported: 2, updated: 0, unchanged: 0, skipped: 0 });
      assert.deepEqual(report.counts.refresh_token, { imported: 2, updated: 0, unchanged: 0, skipped: 2 });
      assert.deepEqual(report.counts.access_token, { imported: 1, updated: 0, unchanged: 0, skipped: 1 });
      assert.deepEqual(report.counts.source, { imported: 0, updated: 0, unchanged: 0, skipped: 3 });
      const reasons = report.skipped.map((s) => `${s.what}: ${s.reason}`);
      assert.ok(reasons.includes('client "no-secret": a confidential client without a secret'), reasons.join('\n'));
      assert.ok(reasons.some((r) => /^refresh token .* of client "plain-app": revoked in the source$/.test(r)));
      assert.ok(reasons.some((r) => /^refresh token .* of client "plain-app": expired$/.test(r)));
      assert.ok(reasons.some((r) => /^access token .*: expired$/.test(r)));
      assert.ok(reasons.includes('oauth_access_grants: authorization codes are short-lived; clients start a new authorization'));
      assert.ok(reasons.includes('line 15: "client_id" must be a string'));
      assert.ok(reasons.includes('line 16: not valid JSON'));
      // No token, secret or password appears in the report.
      assert.doesNotMatch(JSON.stringify(report), /\brt-live\b|plain-secret|\bat-cc\b|\$2[aby]\$/);
      const e = await t.store.environments.findByName(env);
      assert.equal(await t.store.clients.find(e?.id ?? '', 'plain-app'), undefined);
    });

    it('imports, and a second run imports nothing twice', async () => {
      const first = await importLines(lines);
      assert.equal(first.counts.client.imported, 4);
      assert.equal(first.counts.refresh_token.imported, 2);
      const second = await importLines(lines);
      assert.deepEqual(second.counts.client, { imported: 0, updated: 0, unchanged: 4, skipped: 1 });
      assert.deepEqual(second.counts.user, { imported: 0, updated: 0, unchanged: 2, skipped: 0 });
      assert.deepEqual(second.counts.refresh_token, { imported: 0, updated: 0, unchanged: 2, skipped: 2 });
      assert.deepEqual(second.counts.access_token, { imported: 0, updated: 0, unchanged: 1, skipped: 1 });
      assert.deepEqual(second.updated, []);
    });

    it('updates a changed source row and says so', async () => {
      const changed = lines.map((line) =>
        line.includes('"client_id":"mobile"') ? line.replace('"name":"mobile"', '"name":"Mobile 2"').replace('2026-01-01', '2026-02-02') : line,
      );
      const report = await importLines(changed);
      assert.deepEqual(report.counts.client, { imported: 0, updated: 1, unchanged: 3, skipped: 1 });
      assert.deepEqual(report.updated, [{ kind: 'client', what: 'client "mobile"' }]);
      const e = await t.store.environments.findByName(env);
      assert.equal((await t.store.clients.find(e?.id ?? '', 'mobile'))?.name, 'Mobile 2');
    });

    it('authenticates a bcrypt client through the legacy verifier once, then on the fast path (its hash replaced)', async () => {
      const e = await t.store.environments.findByName(env);
      const before = await t.store.clients.activeSecrets(e?.id ?? '', 'legacy-bcrypt', t.clock.now());
      assert.match(before[0]?.secretHash ?? '', /^\$2b\$04\$/);
      const wrong = await token(basic('legacy-bcrypt', 'not-the-secret'), { grant_type: 'client_credentials' });
      assert.equal(wrong.statusCode, 401, wrong.body);
      const first = await token(basic('legacy-bcrypt', 'bcrypt-secret'), { grant_type: 'client_credentials' });
      assert.equal(first.statusCode, 200, first.body);
      const after = await t.store.clients.activeSecrets(e?.id ?? '', 'legacy-bcrypt', t.clock.now());
      assert.equal(after[0]?.secretHash, hashSecret('bcrypt-secret'));
      const second = await token(basic('legacy-bcrypt', 'bcrypt-secret'), { grant_type: 'client_credentials' });
      assert.equal(second.statusCode, 200, second.body);
      // A SHA-256 digest from the source is Gatehouse's own hash already: no legacy step at all.
      const sha = await token(basic('doorkeeper-sha', 'sha-secret'), { grant_type: 'client_credentials' });
      assert.equal(sha.statusCode, 200, sha.body);
    });

    it('keeps, on a later import, a re-hashed secret and secrets rotated in Gatehouse; a changed source secret replaces only the imported one', async () => {
      const e = await t.store.environments.findByName(env);
      const rotated = await t.admin.rotateClientSecret(env, 'legacy-bcrypt', 3600);
      const renamed = lines.map((line) =>
        line.includes('"client_id":"legacy-bcrypt"') ? line.replace('"name":"legacy-bcrypt"', '"name":"Legacy 2"').replace('2026-01-01', '2026-03-03') : line,
      );
      const report = await importLines(renamed);
      assert.ok(
        report.updated.some((u) => u.what === 'client "legacy-bcrypt"'),
        JSON.stringify(report.updated),
      );
      const hashes = (await t.store.clients.activeSecrets(e?.id ?? '', 'legacy-bcrypt', t.clock.now())).map((x) => x.secretHash).sort();
      assert.deepEqual(hashes, [hashSecret('bcrypt-secret'), hashSecret(rotated.client_secret)].sort());
      const newSecret = bcrypt.hashSync('new-source-secret', 4);
      const changed = renamed.map((line) =>
        line.includes('"client_id":"legacy-bcrypt"')
          ? line.replace(/"value":"\$2[ab]\$[^"]+"/, `"value":"${newSecret}"`).replace('2026-03-03', '2026-04-04')
          : line,
      );
      assert.ok((await importLines(changed)).updated.some((u) => u.what === 'client "legacy-bcrypt"'));
      assert.equal((await token(basic('legacy-bcrypt', 'new-source-secret'), { grant_type: 'client_credentials' })).statusCode, 200);
      assert.equal((await token(basic('legacy-bcrypt', rotated.client_secret), { grant_type: 'client_credentials' })).statusCode, 200);
      assert.equal((await token(basic('legacy-bcrypt', 'bcrypt-secret'), { grant_type: 'client_credentials' })).statusCode, 401);
      lines = changed;
    });

    it('answers 503 with Retry-After for an imported client whose share of the legacy queue is full, and only for it', async () => {
      const lines2 = [
        JSON.stringify({
          kind: 'client',
          client_id: 'flooded',
          name: 'f',
          confidential: true,
          secret: { format: 'bcrypt', value: bcrypt.hashSync('s', 4) },
          redirect_uris: [],
          scopes: [],
          grant_types: ['client_credentials'],
        }),
      ];
      await importLines(lines2);
      const e = await t.store.environments.findByName(env);
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      // The share of this caller: the client from this source address (inject's is 127.0.0.1).
      const occupying = Array.from({ length: 8 }, () => legacyVerificationQueue().run(`${e?.id}\u0000flooded\u0000127.0.0.1`, () => held));
      try {
        const res = await token(basic('flooded', 's'), { grant_type: 'client_credentials' });
        assert.equal(res.statusCode, 503, res.body);
        assert.equal((res.json() as { error: string }).error, 'temporarily_unavailable');
        assert.ok(Number(res.headers['retry-after']) > 0);
        const native = await token(basic('doorkeeper-sha', 'sha-secret'), { grant_type: 'client_credentials' });
        assert.equal(native.statusCode, 200, native.body);
      } finally {
        release();
        await Promise.all(occupying);
      }
      const res = await token(basic('flooded', 's'), { grant_type: 'client_credentials' });
      assert.equal(res.statusCode, 200, res.body);
    });

    it('keeps a client id of any format, and authenticates it by Basic and in the body', async () => {
      const id = 'Legacy App/ü:1 (prod)';
      const record = {
        kind: 'client',
        client_id: id,
        name: 'odd id',
        confidential: true,
        secret: { format: 'plain', value: 'odd-secret' },
        redirect_uris: [],
        scopes: ['read'],
        grant_types: ['client_credentials'],
      };
      assert.equal((await importLines([JSON.stringify(record)])).counts.client.imported, 1);
      const byBasic = await token(basic(id, 'odd-secret'), { grant_type: 'client_credentials' });
      assert.equal(byBasic.statusCode, 200, byBasic.body);
      const inBody = await t.app.server.inject({
        method: 'POST',
        url: `/envs/${env}/token`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ grant_type: 'client_credentials', client_id: id, client_secret: 'odd-secret' }),
      });
      assert.equal(inBody.statusCode, 200, inBody.body);
      const control = JSON.stringify({ ...record, client_id: 'bad\u0000id' });
      assert.equal((await importLines([control])).skipped[0]?.reason, 'the client id is empty, too long or holds control characters');
    });

    it('introspects an imported opaque access token as active with its original scope and expiry, and revokes it', async () => {
      const expected = Math.floor((t.clock.now() + HOUR) / 1000);
      for (const [tok, scope, sub] of [
        ['at-paired', 'read', undefined],
        ['at-cc', 'write', 'plain-app'],
      ] as const) {
        const res = await lookup('introspect', tok);
        const body = res.json() as Record<string, unknown>;
        assert.equal(body.active, true, res.body);
        assert.equal(body.scope, scope);
        assert.equal(body.exp, expected);
        assert.equal(body.client_id, 'plain-app');
        if (sub) assert.equal(body.sub, sub);
      }
      assert.equal((await lookup('revoke', 'at-cc')).statusCode, 200);
      assert.deepEqual((await lookup('introspect', 'at-cc')).json(), { active: false });
      assert.deepEqual((await lookup('introspect', 'at-old')).json(), { active: false });
    });

    it('refreshes with an imported token once, rotating it; reuse then revokes the family', async () => {
      const first = await token(basic('plain-app', 'plain-secret'), { grant_type: 'refresh_token', refresh_token: 'rt-live' });
      assert.equal(first.statusCode, 200, first.body);
      const rotated = (first.json() as { refresh_token: string }).refresh_token;
      assert.match(rotated, /^grt_/);
      const reuse = await token(basic('plain-app', 'plain-secret'), { grant_type: 'refresh_token', refresh_token: 'rt-live' });
      assert.equal(reuse.statusCode, 400, reuse.body);
      assert.equal((reuse.json() as { error: string }).error, 'invalid_grant');
      const after = await token(basic('plain-app', 'plain-secret'), { grant_type: 'refresh_token', refresh_token: rotated });
      assert.equal(after.statusCode, 400, after.body);
      // The paired access token went with its family.
      assert.deepEqual((await lookup('introspect', 'at-paired')).json(), { active: false });
      // A token stored hashed at the source works from its digest; a revoked one never came in.
      const hashed = await token(basic('doorkeeper-sha', 'sha-secret'), { grant_type: 'refresh_token', refresh_token: 'rt-hashed' });
      assert.equal(hashed.statusCode, 200, hashed.body);
      const revoked = await token(basic('plain-app', 'plain-secret'), { grant_type: 'refresh_token', refresh_token: 'rt-revoked' });
      assert.equal(revoked.statusCode, 400, revoked.body);
    });

    it('signs an imported user in with their bcrypt password, re-hashes it, and asks no consent for what their tokens were granted', async () => {
      const browser = new TestBrowser(t);
      const { challenge } = pkce();
      const authorize = await browser.authorize(
        {
          response_type: 'code',
          client_id: 'plain-app',
          redirect_uri: REDIRECT_URI,
          scope: 'read',
          state: 's',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        },
        `/envs/${env}/authorize`,
      );
      const loggedIn = await browser.login(authorize, 'alice@example.test', PASSWORD);
      assert.equal(loggedIn.statusCode, 303, loggedIn.body);
      const location = new URL(String(loggedIn.headers.location));
      assert.equal(`${location.origin}${location.pathname}`, REDIRECT_URI, 'straight back to the client: no consent page');
      assert.ok(location.searchParams.get('code'));
      const e = await t.store.environments.findByName(env);
      assert.match((await t.store.users.findByUsername(e?.id ?? '', 'alice@example.test'))?.passwordHash ?? '', /^\$scrypt\$/);
    });

    it('signs in a user imported with an argon2id password (as Kratos stores it) and re-hashes it', async () => {
      const browser = new TestBrowser(t);
      const { challenge } = pkce();
      const authorize = await browser.authorize(
        {
          response_type: 'code',
          client_id: 'plain-app',
          redirect_uri: REDIRECT_URI,
          scope: 'read',
          state: 's',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        },
        `/envs/${env}/authorize`,
      );
      const loggedIn = await browser.login(authorize, 'bob@example.test', PASSWORD);
      assert.equal(loggedIn.statusCode, 303, loggedIn.body);
      assert.match(String(loggedIn.headers.location), /\/consent\?request=/, 'bob granted nothing yet: the consent page');
      const e = await t.store.environments.findByName(env);
      assert.match((await t.store.users.findByUsername(e?.id ?? '', 'bob@example.test'))?.passwordHash ?? '', /^\$scrypt\$/);
    });

    it('revokes on a later run a token revoked in the source since', async () => {
      const revokedLine = lines.map((line) => (line.includes(sha256hex('rt-hashed')) ? line.replace('"revoked":false', '"revoked":true') : line));
      assert.notDeepEqual(revokedLine, lines);
      const report = await importLines(revokedLine);
      assert.equal(report.counts.refresh_token.updated, 1, JSON.stringify(report));
      assert.ok(
        report.updated.some((u) => u.kind === 'refresh_token' && /revoked in the source since the last import/.test(u.what)),
        JSON.stringify(report.updated),
      );
      const e = await t.store.environments.findByName(env);
      const stored = await t.store.tokenFamilies.findRefreshToken(e?.id ?? '', hashSecret('rt-hashed'));
      assert.notEqual(stored?.revokedAt ?? null, null);
      assert.equal((await importLines(revokedLine)).counts.refresh_token.updated, 0);
    });

    it('resumes after a crash: committed batches are unchanged the second time, the rest is imported', async () => {
      const resumeEnv = `${env}-resume`;
      await t.admin.createEnvironment(resumeEnv);
      const e = await t.store.environments.findByName(resumeEnv);
      assert.ok(e);
      const records = lines.slice(0, 6);
      async function* crashing() {
        for (const [index, line] of records.entries()) {
          if (index === 3) throw new Error('the source connection dropped');
          yield* source([line]);
        }
      }
      const options = { env: e, store: t.store, clock: t.clock, lifetimes: LIFETIMES, sourceId: 'export', batchSize: 2 };
      await assert.rejects(runImport(crashing(), options), /dropped/);
      const resumed = await runImport(source(records), options);
      // Batches of two: the first two clients were committed before the crash, the third was lost with its batch.
      assert.deepEqual(resumed.counts.client, { imported: 2, updated: 0, unchanged: 2, skipped: 1 });
      assert.deepEqual(resumed.counts.user, { imported: 1, updated: 0, unchanged: 0, skipped: 0 });
    });
  });
}
