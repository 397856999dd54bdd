import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { calculateJwkThumbprint, decodeProtectedHeader, importJWK, type JWK, jwtVerify } from 'jose';
import { openStore } from '../../src/store/open.ts';
import { type CliResult, runCli } from '../helpers/cli.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PUBLIC_URL = 'https://auth.example.test';
const TOKEN_URL = `${PUBLIC_URL}/envs/PROD/token`;
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

type Result = CliResult;

interface CreatedKey {
  kid: string;
  owner: string;
  alg: string;
  status: string;
  created_at: string;
  revoked_at: string | null;
  private_key_pem: string;
  private_jwk: JWK;
  public_jwk: JWK;
  example: { assertion: string; expires_at: string; curl: string };
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
/** The RFC 7638 required public members of each key type. */
const PUBLIC_MEMBERS: Record<string, string[]> = { EC: ['crv', 'kty', 'x', 'y'], OKP: ['crv', 'kty', 'x'], RSA: ['e', 'kty', 'n'] };
const EXPECTED_KEY: Record<string, { kty: string; crv?: string }> = {
  ES256: { kty: 'EC', crv: 'P-256' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
  RS256: { kty: 'RSA' },
};

const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-sa-cli-'));
const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  GATEHOUSE_DATA_DIR: dataDir,
  GATEHOUSE_LOG_LEVEL: 'warn',
  GATEHOUSE_KEY_SECRET: randomBytes(32).toString('hex'),
  GATEHOUSE_PUBLIC_URL: PUBLIC_URL,
};
after(() => rmSync(dataDir, { recursive: true, force: true }));

const gatehouse = (args: string[]): Promise<Result> => runCli(args, env);

async function json<T = Record<string, unknown>>(args: string[]): Promise<T> {
  const result = await gatehouse(args);
  assert.equal(result.code, 0, `gatehouse ${args.join(' ')} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** A refused admin operation: exit code 1, a message on stderr, nothing on stdout. */
async function failing(args: string[], stderr: RegExp): Promise<void> {
  const result = await gatehouse(args);
  assert.equal(result.code, 1, `gatehouse ${args.join(' ')} should fail with 1; stdout: ${result.stdout} stderr: ${result.stderr}`);
  assert.match(result.stderr, stderr);
  assert.equal(result.stdout, '');
}

const publicMembers = (jwk: JWK): JWK => Object.fromEntries(Object.entries(jwk).filter(([name]) => !PRIVATE_MEMBERS.includes(name))) as JWK;

describe('service-account commands', () => {
  let accountId: string;
  let secretAccountId: string;
  const created = new Map<string, CreatedKey>();

  before(async () => {
    assert.ok(existsSync(join(ROOT, 'dist', 'gatehouse.js')), 'dist/gatehouse.js is missing: run `npm run build` first');
    assert.equal((await json(['env', 'create', 'PROD', '--json'])).name, 'PROD');
  });

  it('create --json returns an sa_ id, the token endpoint, the scopes and only the jwt-bearer grant', async () => {
    const account = await json(['service-account', 'create', '--env', 'PROD', '--name', 'reporter', '--scope', 'reports:read reports:write', '--json']);
    accountId = String(account.service_account_id);
    assert.match(accountId, /^sa_[A-Za-z0-9_-]{16,}$/);
    assert.equal(account.name, 'reporter');
    assert.equal(account.environment, 'PROD');
    assert.equal(account.issuer, `${PUBLIC_URL}/envs/PROD`);
    assert.equal(account.token_endpoint, TOKEN_URL);
    assert.deepEqual(account.scopes, ['reports:read', 'reports:write']);
    assert.deepEqual(account.default_scopes, ['reports:read', 'reports:write']);
    assert.deepEqual(account.grant_types, [JWT_BEARER]);
    assert.equal(account.enabled, true);
    assert.ok(!('client_secret' in account), 'an account without --with-secret has no secret');
  });

  it('create --with-secret --json also allows client_credentials and returns a secret once', async () => {
    const account = await json(['service-account', 'create', '--env', 'PROD', '--name', 'both', '--with-secret', '--json']);
    secretAccountId = String(account.service_account_id);
    assert.match(secretAccountId, /^sa_/);
    assert.notEqual(secretAccountId, accountId);
    assert.deepEqual([...(account.grant_types as string[])].sort(), ['client_credentials', JWT_BEARER].sort());
    assert.match(String(account.client_secret), /^[A-Za-z0-9_-]{43,}$/);
  });

  it('create refuses default scopes outside the allowed ones and an unknown environment', async () => {
    await Promise.all([
      failing(['service-account', 'create', '--env', 'PROD', '--name', 'x', '--scope', 'a', '--default-scope', 'b', '--json'], /default scopes/),
      failing(['service-account', 'create', '--env', 'NOPE', '--name', 'x', '--json'], /no environment named NOPE/),
    ]);
  });

  it('list --json shows both accounts and no secret', async () => {
    const list = await json<Record<string, unknown>[]>(['service-account', 'list', '--env', 'PROD', '--json']);
    assert.deepEqual(list.map((a) => a.service_account_id).sort(), [accountId, secretAccountId].sort());
    for (const account of list) assert.ok(!('client_secret' in account));
  });

  for (const alg of ['ES256', 'EdDSA', 'RS256']) {
    it(`key create --json makes a ${alg} key: private JWK and PEM, kid = RFC 7638 thumbprint, a verifiable example assertion`, async () => {
      const args = ['service-account', 'key', 'create', accountId, '--env', 'PROD', '--json'];
      const key = await json<CreatedKey>(alg === 'ES256' ? args : [...args, '--alg', alg]);
      created.set(alg, key);
      assert.equal(key.alg, alg);
      assert.equal(key.owner, accountId);
      assert.equal(key.status, 'active');
      assert.equal(key.revoked_at, null);
      const expected = EXPECTED_KEY[alg];
      assert.equal(key.private_jwk.kty, expected?.kty);
      assert.equal(key.private_jwk.crv, expected?.crv);
      assert.equal(typeof key.private_jwk.d, 'string', 'the private JWK carries d');
      assert.equal(key.private_jwk.kid, key.kid);
      for (const member of PRIVATE_MEMBERS) assert.ok(!(member in key.public_jwk), `public_jwk must not carry ${member}`);
      assert.equal(key.public_jwk.kid, key.kid);
      assert.equal(key.public_jwk.alg, alg);

      const publicJwk = publicMembers(key.private_jwk);
      for (const member of PUBLIC_MEMBERS[expected?.kty ?? ''] ?? []) assert.equal(key.public_jwk[member as keyof JWK], publicJwk[member as keyof JWK]);
      assert.equal(key.kid, await calculateJwkThumbprint(publicJwk, 'sha256'));
      if (alg === 'RS256') assert.equal(Buffer.from(String(key.private_jwk.n), 'base64url').length, 256, 'a 2048-bit modulus');

      // The PEM and the JWK are the same private key.
      assert.match(key.private_key_pem, /^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n?$/);
      assert.equal(createPrivateKey(key.private_key_pem).export({ format: 'jwk' }).d, key.private_jwk.d);

      assert.deepEqual(decodeProtectedHeader(key.example.assertion), { alg, kid: key.kid, typ: 'JWT' });
      const { payload } = await jwtVerify(key.example.assertion, await importJWK(publicJwk, alg), {
        algorithms: [alg],
        issuer: accountId,
        subject: accountId,
        audience: TOKEN_URL,
        typ: 'JWT',
      });
      assert.equal(payload.aud, TOKEN_URL);
      assert.match(String(payload.jti), /^[0-9a-f-]{36}$/);
      assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 300);
      assert.equal(Date.parse(key.example.expires_at), (payload.exp ?? 0) * 1000);
      assert.equal(key.example.curl, `curl -s -d grant_type=${encodeURIComponent(JWT_BEARER)} -d assertion=${key.example.assertion} ${TOKEN_URL}`);
    });
  }

  it('key create refuses --alg HS256 (no symmetric keys) and adds no key', async () => {
    const before = await json<unknown[]>(['service-account', 'key', 'list', accountId, '--env', 'PROD', '--json']);
    const result = await gatehouse(['service-account', 'key', 'create', accountId, '--env', 'PROD', '--alg', 'HS256', '--json']);
    assert.notEqual(result.code, 0, 'HS256 must be refused');
    assert.match(result.stderr, /HS256/);
    assert.equal(result.stdout, '');
    assert.deepEqual(await json(['service-account', 'key', 'list', accountId, '--env', 'PROD', '--json']), before);
  });

  it('key list --json shows the active keys and nothing private', async () => {
    const list = await json<Record<string, unknown>[]>(['service-account', 'key', 'list', accountId, '--env', 'PROD', '--json']);
    assert.deepEqual(list.map((k) => k.kid).sort(), [...created.values()].map((k) => k.kid).sort());
    for (const entry of list) {
      assert.deepEqual(Object.keys(entry).sort(), ['alg', 'created_at', 'kid', 'last_used_at', 'owner', 'revoked_at', 'status']);
      assert.equal(entry.status, 'active');
      assert.equal(entry.owner, accountId);
    }
    const text = JSON.stringify(list);
    for (const key of created.values()) {
      assert.ok(!text.includes(String(key.private_jwk.d)), `key list shows the private key ${key.kid}`);
      assert.ok(!text.includes('PRIVATE KEY'));
    }
    assert.deepEqual(await json(['service-account', 'key', 'list', secretAccountId, '--env', 'PROD', '--json']), []);
  });

  it('key revoke marks the key revoked; a second revoke and an unknown or foreign kid are refused', async () => {
    const kid = created.get('EdDSA')?.kid ?? '';
    // A kid is a JWK thumbprint and may start with '-': `--` ends the options before it.
    const revoked = await json(['service-account', 'key', 'revoke', '--env', 'PROD', '--json', '--', accountId, kid]);
    assert.equal(revoked.kid, kid);
    assert.equal(revoked.status, 'revoked');
    assert.ok(Date.parse(String(revoked.revoked_at)) <= Date.now());
    const list = await json<{ kid: string; status: string }[]>(['service-account', 'key', 'list', accountId, '--env', 'PROD', '--json']);
    assert.deepEqual(Object.fromEntries(list.map((k) => [k.kid, k.status]))[kid], 'revoked');
    assert.equal(list.filter((k) => k.status === 'active').length, 2);

    // A key of one account cannot be revoked through another.
    const other = created.get('ES256')?.kid ?? '';
    await Promise.all([
      failing(['service-account', 'key', 'revoke', '--env', 'PROD', '--', accountId, kid], /already revoked/),
      failing(['service-account', 'key', 'revoke', accountId, 'no-such-kid', '--env', 'PROD'], /no key no-such-kid/),
      failing(['service-account', 'key', 'revoke', '--env', 'PROD', '--', secretAccountId, other], new RegExp(`no key ${other}`)),
    ]);
    const after = await json<{ kid: string; status: string }[]>(['service-account', 'key', 'list', accountId, '--env', 'PROD', '--json']);
    assert.equal(after.find((k) => k.kid === other)?.status, 'active');
  });

  it('key create/list refuse an unknown account and a client id, naming it', async () => {
    const client = await json(['client', 'create', '--env', 'PROD', '--name', 'plain', '--json']);
    await Promise.all([
      failing(['service-account', 'key', 'create', 'sa_nope', '--env', 'PROD', '--json'], /no service account sa_nope in environment PROD/),
      failing(['service-account', 'key', 'list', 'sa_nope', '--env', 'PROD', '--json'], /no service account sa_nope/),
      failing(['service-account', 'key', 'create', String(client.client_id), '--env', 'PROD'], new RegExp(`no service account ${client.client_id}`)),
      failing(['service-account', 'key', 'create', accountId, '--env', 'NOPE'], /no environment named NOPE/),
    ]);
  });

  it('disable and enable flip the account; an unknown account is refused', async () => {
    const disabled = await json(['service-account', 'disable', accountId, '--env', 'PROD', '--json']);
    assert.equal(disabled.service_account_id, accountId);
    assert.equal(disabled.enabled, false);
    let list = await json<{ service_account_id: string; enabled: boolean }[]>(['service-account', 'list', '--env', 'PROD', '--json']);
    assert.equal(list.find((a) => a.service_account_id === accountId)?.enabled, false);
    assert.equal(list.find((a) => a.service_account_id === secretAccountId)?.enabled, true, 'only the named account is disabled');

    const human = await gatehouse(['service-account', 'enable', accountId, '--env', 'PROD']);
    assert.equal(human.code, 0, human.stderr);
    assert.equal(human.stdout.trim(), `service account ${accountId} enabled`);
    list = await json(['service-account', 'list', '--env', 'PROD', '--json']);
    assert.equal(list.find((a) => a.service_account_id === accountId)?.enabled, true);
    await failing(['service-account', 'disable', 'sa_nope', '--env', 'PROD'], /no service account sa_nope/);
  });

  it('client key create works for a confidential client, not for a public client or a service account', async () => {
    const client = await json(['client', 'create', '--env', 'PROD', '--name', 'signer', '--json']);
    const clientId = String(client.client_id);
    const key = await json<CreatedKey>(['client', 'key', 'create', clientId, '--env', 'PROD', '--json']);
    assert.equal(key.owner, clientId);
    assert.equal(key.alg, 'ES256');
    assert.match(
      key.example.curl,
      /-d grant_type=client_credentials -d client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer/,
    );
    assert.deepEqual(
      (await json<{ kid: string }[]>(['client', 'key', 'list', clientId, '--env', 'PROD', '--json'])).map((k) => k.kid),
      [key.kid],
    );

    // The CLI offers no grant a public client may use, so the public client is written through the store.
    const publicId = `gh_public_${randomBytes(6).toString('hex')}`;
    const store = openStore(join(dataDir, 'gatehouse.db'));
    try {
      const prod = await store.environments.findByName('PROD');
      assert.ok(prod);
      const now = Date.now();
      await store.clients.create(
        {
          envId: prod.id,
          clientId: publicId,
          name: 'public',
          kind: 'public',
          grantTypes: [],
          scopes: [],
          defaultScopes: [],
          redirectUris: [],
          tokenFormat: 'jwt',
          accessTokenTtl: null,
          introspectAny: false,
          allowMissingPkce: false,
          quota: null,
          enabled: true,
          createdAt: now,
          updatedAt: now,
        },
        undefined,
      );
    } finally {
      await store.close();
    }
    await Promise.all([
      failing(['client', 'key', 'create', publicId, '--env', 'PROD', '--json'], /public client cannot hold keys/),
      failing(['client', 'key', 'create', accountId, '--env', 'PROD', '--json'], new RegExp(`no client ${accountId}`)),
      failing(['client', 'key', 'create', 'gh_nope', '--env', 'PROD', '--json'], /no client gh_nope/),
    ]);
  });

  it('key create without --json prints the PEM, the private JWK and the curl example line', async () => {
    const result = await gatehouse(['service-account', 'key', 'create', accountId, '--env', 'PROD']);
    assert.equal(result.code, 0, result.stderr);
    const out = result.stdout;
    const kid = /^kid {3}(\S+)$/m.exec(out)?.[1];
    assert.ok(kid, `no kid line in ${out}`);
    assert.match(out, /^alg {3}ES256$/m);
    assert.match(out, new RegExp(`^owner ${accountId}$`, 'm'));
    const pem = /-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----/.exec(out)?.[0];
    assert.ok(pem, 'the human output contains the PKCS#8 PEM');
    const jwk = JSON.parse(/^\{"kty".*\}$/m.exec(out)?.[0] ?? '{}') as JWK;
    assert.equal(jwk.kid, kid);
    assert.equal(createPrivateKey(pem).export({ format: 'jwk' }).d, jwk.d);
    const curl = new RegExp(
      `^ {2}curl -s -d grant_type=${encodeURIComponent(JWT_BEARER)} -d assertion=(eyJ[\\w-]+\\.[\\w-]+\\.[\\w-]+) ${TOKEN_URL}$`,
      'm',
    ).exec(out);
    assert.ok(curl, `no curl example line in ${out}`);
    assert.equal(decodeProtectedHeader(curl[1] ?? '').kid, kid);
    const list = await json<{ kid: string }[]>(['service-account', 'key', 'list', accountId, '--env', 'PROD', '--json']);
    assert.ok(
      list.some((k) => k.kid === kid),
      'the printed key is registered',
    );
  });
});
