import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { importJWK, SignJWT } from 'jose';
import pg from 'pg';
import { ServiceAccountService } from '../../src/admin/service-accounts.ts';
import type { Environment, RefreshToken, TokenFamily } from '../../src/domain/model.ts';
import type { FamilyIssue, Store } from '../../src/domain/storage.ts';
import { ENV, obtainCode, REDIRECT_URI, setUpCodeFlow } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, buildTestApp, form } from '../helpers/fixtures.ts';
import { client } from './conformance.ts';

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

const env: Environment = { id: 'env-rt', name: 'ROUND_TRIPS', createdAt: T0, defaultQuota: null };

const family = (familyId: string): TokenFamily => ({
  familyId,
  envId: env.id,
  clientId: 'app',
  userId: 'usr_alice',
  scope: ['read'],
  createdAt: T0,
  expiresAt: T0 + 90 * 24 * 60 * MINUTE,
  revokedAt: null,
});

const refresh = (tokenHash: string, familyId: string): RefreshToken => ({
  tokenHash,
  envId: env.id,
  familyId,
  clientId: 'app',
  userId: 'usr_alice',
  issuedAt: T0,
  expiresAt: T0 + 14 * 24 * 60 * MINUTE,
  rotatedAt: null,
  revokedAt: null,
});

const jwtIssue = (refreshHash: string, familyId: string, jti: string): FamilyIssue => ({
  refreshToken: refresh(refreshHash, familyId),
  accessToken: { jti, expiresAt: T0 + 60 * MINUTE, opaque: undefined },
});

const opaqueIssue = (refreshHash: string, familyId: string, jti: string): FamilyIssue => ({
  refreshToken: refresh(refreshHash, familyId),
  accessToken: {
    jti,
    expiresAt: T0 + 60 * MINUTE,
    opaque: {
      tokenHash: `at-${jti}`,
      envId: env.id,
      clientId: 'app',
      subject: 'usr_alice',
      scope: 'read',
      jti,
      issuedAt: T0,
      expiresAt: T0 + 60 * MINUTE,
      revokedAt: null,
    },
  },
});

/**
 * Every statement, BEGIN and COMMIT included, goes to the server through `pg.Client#query`: the
 * number of its calls during `work` is the number of round trips `work` made.
 */
async function roundTrips<T>(work: () => Promise<T>): Promise<{ count: number; result: T }> {
  const query = pg.Client.prototype.query;
  let count = 0;
  pg.Client.prototype.query = function (this: pg.Client, ...args: Parameters<typeof query>) {
    count += 1;
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  try {
    const result = await work();
    return { count, result };
  } finally {
    pg.Client.prototype.query = query;
  }
}

// The grants' storage work on PostgreSQL, where each round trip is a network hop (and the wall of a
// multi-node deployment): a code redemption and a refresh each read once and write in ONE
// statement (no BEGIN/COMMIT); a jwt-bearer assertion is consumed in one statement.
const postgres = (await testDatabases()).find((database) => database.name === 'postgres');

describe('Round trips per grant on PostgreSQL', { skip: postgres ? false : 'PostgreSQL is not reachable' }, () => {
  let store: Store;
  let cleanup: () => Promise<void>;

  before(async () => {
    ({ store, cleanup } = await (postgres as NonNullable<typeof postgres>).open());
    await store.environments.create(env, {
      kid: 'kid-rt',
      envId: env.id,
      alg: 'ES256',
      publicJwk: { kty: 'EC' },
      privateKeySealed: 'v1.sealed',
      status: 'active',
      createdAt: T0,
      activateAt: T0,
      retiredAt: null,
      publishUntil: null,
    });
    await store.users.create({
      envId: env.id,
      userId: 'usr_alice',
      username: 'alice',
      passwordHash: '$scrypt$ln=10,r=8,p=1$salt$hash',
      enabled: true,
      createdAt: T0,
      updatedAt: T0,
    });
    for (const familyId of ['fam-jwt', 'fam-opaque']) {
      await store.authorizationCodes.insert({
        codeHash: `code-${familyId}`,
        envId: env.id,
        clientId: 'app',
        userId: 'usr_alice',
        redirectUri: 'https://app.example/cb',
        scope: ['read'],
        codeChallenge: 'challenge',
        familyId,
        issuedAt: T0,
        expiresAt: T0 + 10 * MINUTE,
        consumedAt: null,
      });
    }
  });
  after(async () => cleanup());

  it('redeems a code in one read and one statement', async () => {
    const read = await roundTrips(() => store.authorizationCodes.findForRedemption(env.id, 'code-fam-jwt'));
    assert.equal(read.count, 1);
    assert.equal(read.result?.userActive, true);
    const write = await roundTrips(() =>
      store.authorizationCodes.redeem(env.id, 'code-fam-jwt', T0 + 1, family('fam-jwt'), jwtIssue('rt-1', 'fam-jwt', 'jti-1')),
    );
    assert.deepEqual(write, { count: 1, result: true });
    const opaque = await roundTrips(() =>
      store.authorizationCodes.redeem(env.id, 'code-fam-opaque', T0 + 1, family('fam-opaque'), opaqueIssue('rt-o1', 'fam-opaque', 'jti-o1')),
    );
    assert.deepEqual(opaque, { count: 1, result: true });
    // A replay costs one statement too (and changes nothing).
    const replay = await roundTrips(() => store.authorizationCodes.redeem(env.id, 'code-fam-jwt', T0 + 2, family('fam-x'), jwtIssue('rt-x', 'fam-x', 'jti-x')));
    assert.deepEqual(replay, { count: 1, result: false });
  });

  it('rotates a refresh token, with its retry record, in one read and one statement', async () => {
    const read = await roundTrips(() => store.tokenFamilies.findForRotation(env.id, 'rt-1'));
    assert.equal(read.count, 1);
    assert.equal(read.result?.family?.familyId, 'fam-jwt');
    assert.equal(read.result?.userActive, true);
    const retry = { requestHash: 'request', sealedResponse: 'sealed', expiresAt: T0 + 10_000 };
    const write = await roundTrips(() => store.tokenFamilies.rotate(env.id, 'fam-jwt', 'rt-1', T0 + 5, jwtIssue('rt-2', 'fam-jwt', 'jti-2'), retry));
    assert.deepEqual(write, { count: 1, result: true });
    assert.equal(await store.tokenFamilies.findRetry(env.id, 'rt-1', 'request', T0 + 6), 'sealed');
    const opaque = await roundTrips(() => store.tokenFamilies.rotate(env.id, 'fam-opaque', 'rt-o1', T0 + 5, opaqueIssue('rt-o2', 'fam-opaque', 'jti-o2')));
    assert.deepEqual(opaque, { count: 1, result: true });
    const reuse = await roundTrips(() => store.tokenFamilies.rotate(env.id, 'fam-jwt', 'rt-1', T0 + 7, jwtIssue('rt-3', 'fam-jwt', 'jti-3'), retry));
    assert.deepEqual(reuse, { count: 1, result: false });
    // The counter sees every round trip: a revocation is a transaction (BEGIN, five statements, COMMIT).
    const revoke = await roundTrips(() => store.tokenFamilies.revoke(env.id, 'fam-jwt', T0 + 8));
    assert.equal(revoke.count, 7);
  });

  it('redeems an approved device code in one statement, as a code', async () => {
    await store.deviceAuthorizations.insert({
      deviceCodeHash: 'device-1',
      envId: env.id,
      userCodeHash: 'user-code-1',
      clientId: 'app',
      scope: ['read'],
      familyId: 'fam-device',
      createdAt: T0,
      expiresAt: T0 + 10 * MINUTE,
      interval: 5,
      lastPolledAt: null,
      status: 'approved',
      userId: 'usr_alice',
      decidedAt: T0,
      consumedAt: null,
    });
    const issue = () => jwtIssue('rt-d1', 'fam-device', 'jti-d1');
    const write = await roundTrips(() => store.deviceAuthorizations.redeem(env.id, 'device-1', T0 + 1, family('fam-device'), issue()));
    assert.deepEqual(write, { count: 1, result: true });
    const replay = await roundTrips(() =>
      store.deviceAuthorizations.redeem(env.id, 'device-1', T0 + 2, family('fam-device-x'), jwtIssue('rt-d2', 'fam-device-x', 'jti-d2')),
    );
    assert.deepEqual(replay, { count: 1, result: false });
    assert.equal((await store.tokenFamilies.find(env.id, 'fam-device'))?.userId, 'usr_alice');
    assert.equal(await store.tokenFamilies.find(env.id, 'fam-device-x'), undefined);
  });

  it('consumes a jwt-bearer assertion in one statement', async () => {
    const first = await roundTrips(() => store.usedAssertions.consume(env.id, 'sa_1', 'jti-a', T0 + MINUTE, T0));
    assert.deepEqual(first, { count: 1, result: true });
    const replay = await roundTrips(() => store.usedAssertions.consume(env.id, 'sa_1', 'jti-a', T0 + MINUTE, T0));
    assert.deepEqual(replay, { count: 1, result: false });
    // Checking the key is not revoked happens in the same statement.
    await store.clients.create(client(env.id, 'sa_2', { kind: 'service_account' }), undefined);
    await store.clientKeys.insert({ envId: env.id, kid: 'k-2', clientId: 'sa_2', alg: 'ES256', publicJwk: {}, createdAt: T0, revokedAt: null });
    const keyed = await roundTrips(() => store.usedAssertions.consumeWithKey(env.id, 'sa_2', 'k-2', 'jti-b', T0 + MINUTE, T0));
    assert.deepEqual(keyed, { count: 1, result: 'consumed' });
  });
});

// The same through the token endpoint: the grant adds no read of its own before or after (the
// client, its secret and the signing key come from the node's caches once warm).
describe('Round trips of a token request on PostgreSQL', { skip: postgres ? false : 'PostgreSQL is not reachable' }, () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let stop: () => Promise<void>;

  before(async () => {
    ({ store, cleanup } = await (postgres as NonNullable<typeof postgres>).open());
  });
  after(async () => {
    await stop?.();
    await cleanup();
  });

  it('a code redemption and a refresh each make one read and one write', async () => {
    const t = await buildTestApp(store, { passwordHashCost: 10 });
    stop = () => t.app.stop();
    const fixture = await setUpCodeFlow(t);
    const token = (params: Record<string, string>) =>
      t.app.server.inject({
        method: 'POST',
        url: `/envs/${ENV}/token`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(fixture.clientId, fixture.clientSecret) },
        payload: form(params),
      });
    const redeem = async () => {
      const { code, verifier } = await obtainCode(t, fixture);
      return roundTrips(() => token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI }));
    };
    await redeem(); // fills the caches
    const exchanged = await redeem();
    assert.equal(exchanged.result.statusCode, 200, exchanged.result.body);
    assert.equal(exchanged.count, 2);
    const refreshed = await roundTrips(() => token({ grant_type: 'refresh_token', refresh_token: exchanged.result.json().refresh_token }));
    assert.equal(refreshed.result.statusCode, 200, refreshed.result.body);
    assert.equal(refreshed.count, 2);
  });

  it('a jwt-bearer grant makes one statement: the key and its account come from the caches, the statement checks both', async () => {
    const t = await buildTestApp(store, { passwordHashCost: 10 });
    const previous = stop;
    stop = async () => {
      await previous?.();
      await t.app.stop();
    };
    const env = 'RT-JWT-BEARER';
    await t.admin.createEnvironment(env);
    const accounts = new ServiceAccountService(t.config, store, t.clock);
    const id = (await accounts.create({ env, name: 'robot', scopes: ['read'] })).service_account_id;
    const key = await accounts.createKey(env, id, 'ES256');
    const privateKey = await importJWK(key.private_jwk, key.alg);
    const tokenUrl = `${t.config.publicUrl}/envs/${env}/token`;
    const exchange = async () => {
      const now = Math.floor(t.clock.now() / 1000);
      const assertion = await new SignJWT({ iss: id, sub: id, aud: tokenUrl, iat: now, exp: now + 60, jti: randomUUID() })
        .setProtectedHeader({ alg: key.alg, kid: key.kid })
        .sign(privateKey);
      return roundTrips(() =>
        t.app.server.inject({
          method: 'POST',
          url: `/envs/${env}/token`,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: form({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
        }),
      );
    };
    await exchange(); // fills the caches
    const warm = await exchange();
    assert.equal(warm.result.statusCode, 200, warm.result.body);
    assert.equal(warm.count, 1);
  });
});
