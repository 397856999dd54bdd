import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuthorizationCode, Environment, OpaqueAccessToken, RefreshToken, TokenFamily, User } from '../../src/domain/model.ts';
import { ConflictError, type FamilyIssue, type Store } from '../../src/domain/storage.ts';
import type { TestDatabase } from '../helpers/databases.ts';

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

const environment = (name: string): Environment => ({ id: `env-auth-${name}`, name: `AUTH_${name}`, createdAt: T0, defaultQuota: null });

const user = (envId: string, username: string): User => ({
  envId,
  userId: `usr_${username}`,
  username,
  passwordHash: '$scrypt$ln=10,r=8,p=1$salt$hash',
  enabled: true,
  createdAt: T0,
  updatedAt: T0,
});

const code = (envId: string, codeHash: string, familyId: string): AuthorizationCode => ({
  codeHash,
  envId,
  clientId: 'app',
  userId: 'usr_alice',
  redirectUri: 'https://app.example/cb',
  scope: ['read', 'write'],
  codeChallenge: 'challenge',
  familyId,
  issuedAt: T0,
  expiresAt: T0 + 10 * MINUTE,
  consumedAt: null,
});

const family = (envId: string, familyId: string): TokenFamily => ({
  familyId,
  envId,
  clientId: 'app',
  userId: 'usr_alice',
  scope: ['read', 'write'],
  createdAt: T0,
  expiresAt: T0 + 90 * 24 * 60 * MINUTE,
  revokedAt: null,
});

const refresh = (envId: string, tokenHash: string, familyId: string): RefreshToken => ({
  tokenHash,
  envId,
  familyId,
  clientId: 'app',
  userId: 'usr_alice',
  issuedAt: T0,
  expiresAt: T0 + 14 * 24 * 60 * MINUTE,
  rotatedAt: null,
  revokedAt: null,
});

const opaque = (envId: string, tokenHash: string, jti: string): OpaqueAccessToken => ({
  tokenHash,
  envId,
  clientId: 'app',
  subject: 'usr_alice',
  scope: 'read',
  jti,
  issuedAt: T0,
  expiresAt: T0 + 60 * MINUTE,
  revokedAt: null,
});

const jwtIssue = (envId: string, refreshHash: string | undefined, familyId: string, jti: string): FamilyIssue => ({
  refreshToken: refreshHash === undefined ? undefined : refresh(envId, refreshHash, familyId),
  accessToken: { jti, expiresAt: T0 + 60 * MINUTE, opaque: undefined },
});

/** Stores each environment with an active placeholder key, as every storage suite starts. */
export async function createEnvironments(store: Store, envs: readonly Environment[], at: number): Promise<void> {
  for (const env of envs) {
    await store.environments.create(env, {
      kid: `kid-${env.id}`,
      envId: env.id,
      alg: 'ES256',
      publicJwk: { kty: 'EC' },
      privateKeySealed: 'v1.sealed',
      status: 'active',
      createdAt: at,
      activateAt: at,
      retiredAt: null,
      publishUntil: null,
    });
  }
}

/** Storage specification of users, sessions and the authorization code flow, run on every database. */
export function authorizationStoreConformance(database: TestDatabase): void {
  describe(`Authorization storage conformance on ${database.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    const a = environment('A');
    const b = environment('B');

    before(async () => {
      ({ store, cleanup } = await database.open());
      await createEnvironments(store, [a, b], T0);
    });
    after(async () => cleanup());

    it('stores users per environment; a duplicate username is a ConflictError', async () => {
      await store.users.create(user(a.id, 'alice'));
      await store.users.create(user(b.id, 'alice'));
      await assert.rejects(store.users.create({ ...user(a.id, 'alice'), userId: 'usr_other' }), ConflictError);
      assert.equal((await store.users.findByUsername(a.id, 'alice'))?.userId, 'usr_alice');
      assert.equal(await store.users.findByUsername(a.id, 'ALICE'), undefined);
      assert.equal((await store.users.find(b.id, 'usr_alice'))?.envId, b.id);
      assert.equal(await store.users.setEnabled(a.id, 'alice', false, T0 + 1), true);
      assert.equal((await store.users.findByUsername(a.id, 'alice'))?.enabled, false);
      assert.equal((await store.users.findByUsername(b.id, 'alice'))?.enabled, true);
      assert.equal(await store.users.setPasswordHash(a.id, 'alice', '$scrypt$new', T0 + 2), true);
      const updated = await store.users.findByUsername(a.id, 'alice');
      assert.equal(updated?.passwordHash, '$scrypt$new');
      assert.equal(updated?.updatedAt, T0 + 2);
      assert.equal(await store.users.setEnabled(a.id, 'nobody', true, T0), false);
      assert.equal(await store.users.setPasswordHash(a.id, 'nobody', 'x', T0), false);
      assert.deepEqual(
        (await store.users.list(a.id)).map((u) => u.username),
        ['alice'],
      );
    });

    it('finds a browser session only in its environment and before it expires; replacing it moves its pending requests', async () => {
      const session = { idHash: 'sess-1', envId: a.id, userId: null, authenticatedAt: null, createdAt: T0, expiresAt: T0 + 30 * MINUTE };
      await store.browserSessions.create(session);
      assert.deepEqual(await store.browserSessions.find(a.id, 'sess-1', T0), session);
      assert.equal(await store.browserSessions.find(b.id, 'sess-1', T0), undefined);
      assert.equal(await store.browserSessions.find(a.id, 'sess-1', T0 + 30 * MINUTE), undefined);

      const pending = {
        idHash: 'req-1',
        envId: a.id,
        sessionIdHash: 'sess-1',
        clientId: 'app',
        redirectUri: 'https://app.example/cb?x=1',
        scope: ['read'],
        state: 'st\u00e9 &=',
        codeChallenge: 'challenge',
        createdAt: T0,
        expiresAt: T0 + 15 * MINUTE,
      };
      await store.authorizationRequests.insert(pending);
      assert.deepEqual(await store.authorizationRequests.find(a.id, 'req-1', 'sess-1', T0), pending);
      assert.equal(await store.authorizationRequests.find(a.id, 'req-1', 'sess-other', T0), undefined);

      const renewed = { ...session, idHash: 'sess-2', userId: 'usr_alice', authenticatedAt: T0 + 1 };
      await store.browserSessions.replace('sess-1', renewed);
      assert.equal(await store.browserSessions.find(a.id, 'sess-1', T0), undefined);
      assert.deepEqual(await store.browserSessions.find(a.id, 'sess-2', T0), renewed);
      assert.equal(await store.authorizationRequests.find(a.id, 'req-1', 'sess-1', T0), undefined);
      assert.equal((await store.authorizationRequests.find(a.id, 'req-1', 'sess-2', T0))?.state, 'st\u00e9 &=');
      assert.equal(await store.authorizationRequests.find(a.id, 'req-1', 'sess-2', T0 + 15 * MINUTE), undefined);

      const takes = await Promise.all(Array.from({ length: 10 }, () => store.authorizationRequests.take(a.id, 'req-1', 'sess-2')));
      assert.equal(takes.filter(Boolean).length, 1);
    });

    it('keeps the OpenID parameters of a pending request and the session it was held in', async () => {
      const pending = {
        idHash: 'req-oidc',
        envId: a.id,
        sessionIdHash: 'sess-oidc',
        clientId: 'app',
        redirectUri: 'https://app.example/cb',
        scope: ['openid', 'profile'],
        state: null,
        codeChallenge: 'challenge',
        createdAt: T0,
        expiresAt: T0 + 15 * MINUTE,
        oidc: {
          nonce: 'n-é☃',
          prompt: ['login' as const, 'consent' as const],
          maxAge: 0,
          hintSubject: 'usr_alice',
          loginHint: 'alice@example.test',
          uiLocales: ['fr-CA', 'en'],
          acrValues: ['urn:mace:incommon:iap:silver'],
          heldInSession: 'sess-oidc',
        },
      };
      await store.authorizationRequests.insert(pending);
      assert.deepEqual(await store.authorizationRequests.find(a.id, 'req-oidc', 'sess-oidc', T0), pending);
    });

    it('redeems a code exactly once among 20 concurrent attempts and writes its family atomically', async () => {
      await store.authorizationCodes.insert(code(a.id, 'code-1', 'fam-1'));
      assert.equal(await store.authorizationCodes.find(b.id, 'code-1'), undefined);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.authorizationCodes.redeem(a.id, 'code-1', T0 + 1, family(a.id, 'fam-1'), jwtIssue(a.id, `rt-race-${i}`, 'fam-1', `jti-race-${i}`)),
        ),
      );
      assert.equal(results.filter(Boolean).length, 1);
      const winner = results.indexOf(true);
      assert.equal((await store.authorizationCodes.find(a.id, 'code-1'))?.consumedAt, T0 + 1);
      assert.deepEqual(await store.tokenFamilies.find(a.id, 'fam-1'), family(a.id, 'fam-1'));
      assert.equal((await store.tokenFamilies.findRefreshToken(a.id, `rt-race-${winner}`))?.familyId, 'fam-1');
      const losers = results.map((ok, i) => (ok ? undefined : i)).filter((i) => i !== undefined);
      for (const i of losers) assert.equal(await store.tokenFamilies.findRefreshToken(a.id, `rt-race-${i}`), undefined);
      assert.equal(await store.authorizationCodes.redeem(a.id, 'code-1', T0 + 2, family(a.id, 'fam-x'), jwtIssue(a.id, 'rt-late', 'fam-x', 'jti-late')), false);
      assert.equal(await store.tokenFamilies.find(a.id, 'fam-x'), undefined);
    });

    it('rotates a refresh token exactly once among 20 concurrent attempts', async () => {
      await store.authorizationCodes.insert(code(a.id, 'code-2', 'fam-2'));
      assert.ok(await store.authorizationCodes.redeem(a.id, 'code-2', T0, family(a.id, 'fam-2'), jwtIssue(a.id, 'rt-2a', 'fam-2', 'jti-2a')));
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.tokenFamilies.rotate(a.id, 'fam-2', 'rt-2a', T0 + 5, jwtIssue(a.id, `rt-2b-${i}`, 'fam-2', `jti-2b-${i}`))),
      );
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal((await store.tokenFamilies.findRefreshToken(a.id, 'rt-2a'))?.rotatedAt, T0 + 5);
      const next = `rt-2b-${results.indexOf(true)}`;
      assert.equal((await store.tokenFamilies.findRefreshToken(a.id, next))?.rotatedAt, null);
      assert.equal(
        await store.tokenFamilies.rotate(b.id, 'fam-2', next, T0 + 6, jwtIssue(b.id, 'rt-b', 'fam-2', 'jti-b')),
        false,
        'another environment cannot rotate it',
      );
    });

    it('revokes a whole family: refresh tokens, opaque access tokens and JWT ids', async () => {
      await store.authorizationCodes.insert(code(a.id, 'code-3', 'fam-3'));
      const first: FamilyIssue = {
        refreshToken: refresh(a.id, 'rt-3a', 'fam-3'),
        accessToken: { jti: 'jti-3a', expiresAt: T0 + 60 * MINUTE, opaque: undefined },
      };
      assert.ok(await store.authorizationCodes.redeem(a.id, 'code-3', T0, family(a.id, 'fam-3'), first));
      const second: FamilyIssue = {
        refreshToken: refresh(a.id, 'rt-3b', 'fam-3'),
        accessToken: { jti: 'jti-3b', expiresAt: T0 + 60 * MINUTE, opaque: opaque(a.id, 'at-3b', 'jti-3b') },
      };
      assert.ok(await store.tokenFamilies.rotate(a.id, 'fam-3', 'rt-3a', T0 + 1, second));
      assert.equal((await store.accessTokens.findByHash(a.id, 'at-3b'))?.revokedAt, null);

      await store.tokenFamilies.revoke(a.id, 'fam-3', T0 + 2);
      await store.tokenFamilies.revoke(a.id, 'fam-3', T0 + 3);
      assert.equal((await store.tokenFamilies.find(a.id, 'fam-3'))?.revokedAt, T0 + 2);
      assert.equal((await store.tokenFamilies.findRefreshToken(a.id, 'rt-3b'))?.revokedAt, T0 + 2);
      assert.equal((await store.accessTokens.findByHash(a.id, 'at-3b'))?.revokedAt, T0 + 2);
      assert.equal(await store.revokedJwts.isWithdrawn(a.id, 'jti-3a', '(no such kid)'), true);
      assert.equal(await store.revokedJwts.isWithdrawn(b.id, 'jti-3a', '(no such kid)'), false);
      assert.equal(await store.tokenFamilies.rotate(a.id, 'fam-3', 'rt-3b', T0 + 4, jwtIssue(a.id, 'rt-3c', 'fam-3', 'jti-3c')), false);
      assert.equal((await store.tokenFamilies.find(a.id, 'fam-2'))?.revokedAt, null, 'other families are untouched');
    });

    it('keeps the union of granted consents', async () => {
      assert.equal(await store.consents.find(a.id, 'usr_alice', 'app'), undefined);
      await store.consents.grant(a.id, 'usr_alice', 'app', ['write', 'read'], T0);
      await store.consents.grant(a.id, 'usr_alice', 'app', ['read', 'admin'], T0 + 1);
      const consent = await store.consents.find(a.id, 'usr_alice', 'app');
      assert.deepEqual(consent?.scope, ['admin', 'read', 'write']);
      assert.equal(consent?.grantedAt, T0 + 1);
      assert.equal(await store.consents.find(b.id, 'usr_alice', 'app'), undefined);
    });

    it('keeps the union of the APIs a consent covers, absent while it covers none', async () => {
      await store.consents.grant(a.id, 'usr_apis', 'app', ['read'], T0);
      assert.equal((await store.consents.find(a.id, 'usr_apis', 'app'))?.resources, undefined);
      await store.consents.grant(a.id, 'usr_apis', 'app', ['read'], T0 + 1, ['https://b.example/api']);
      await store.consents.grant(a.id, 'usr_apis', 'app', ['write'], T0 + 2, ['https://a.example/api', 'https://b.example/api']);
      await store.consents.grant(a.id, 'usr_apis', 'app', ['read'], T0 + 3, []);
      const consent = await store.consents.find(a.id, 'usr_apis', 'app');
      assert.deepEqual(consent?.scope, ['read', 'write']);
      assert.deepEqual(consent?.resources, ['https://a.example/api', 'https://b.example/api']);
    });

    it('keeps every scope when grants for one user and client race', async () => {
      const scopes = ['s1', 's2', 's3', 's4', 's5', 's6', 's7', 's8'];
      await Promise.all(scopes.map((scope, i) => store.consents.grant(a.id, 'usr_racer', 'app', [scope], T0 + i)));
      assert.deepEqual((await store.consents.find(a.id, 'usr_racer', 'app'))?.scope, scopes);
    });

    it('revokes every family of a user and deletes their sessions', async () => {
      await store.authorizationCodes.insert({ ...code(a.id, 'code-u1', 'fam-u1'), userId: 'usr_bob' });
      await store.authorizationCodes.insert({ ...code(a.id, 'code-u2', 'fam-u2'), userId: 'usr_bob' });
      assert.ok(
        await store.authorizationCodes.redeem(
          a.id,
          'code-u1',
          T0,
          { ...family(a.id, 'fam-u1'), userId: 'usr_bob' },
          jwtIssue(a.id, 'rt-u1', 'fam-u1', 'jti-u1'),
        ),
      );
      assert.ok(
        await store.authorizationCodes.redeem(
          a.id,
          'code-u2',
          T0,
          { ...family(a.id, 'fam-u2'), userId: 'usr_bob' },
          jwtIssue(a.id, 'rt-u2', 'fam-u2', 'jti-u2'),
        ),
      );
      await store.browserSessions.create({ idHash: 'sess-bob', envId: a.id, userId: 'usr_bob', authenticatedAt: T0, createdAt: T0, expiresAt: T0 + MINUTE });
      assert.equal(await store.tokenFamilies.revokeForUser(a.id, 'usr_bob', T0 + 1), 2);
      assert.equal(await store.tokenFamilies.revokeForUser(a.id, 'usr_bob', T0 + 2), 0);
      assert.equal((await store.tokenFamilies.findRefreshToken(a.id, 'rt-u2'))?.revokedAt, T0 + 1);
      assert.equal(await store.revokedJwts.isWithdrawn(a.id, 'jti-u1', '(no such kid)'), true);
      assert.equal((await store.tokenFamilies.find(a.id, 'fam-2'))?.revokedAt, null, "other users' families are untouched");
      assert.equal(await store.browserSessions.deleteForUser(a.id, 'usr_bob'), 1);
      assert.equal(await store.browserSessions.find(a.id, 'sess-bob', T0), undefined);
    });

    it('counts parallel login attempts exactly and starts a new window when the old one ends', async () => {
      const counts = await Promise.all(Array.from({ length: 20 }, () => store.loginAttempts.hit('key-1', T0, 15 * MINUTE)));
      assert.deepEqual(
        counts.map((c) => c.count).sort((x, y) => x - y),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
      assert.deepEqual(await store.loginAttempts.hit('key-1', T0 + 14 * MINUTE, 15 * MINUTE), { count: 21, windowStart: T0 });
      assert.deepEqual(await store.loginAttempts.hit('key-1', T0 + 15 * MINUTE, 15 * MINUTE), { count: 1, windowStart: T0 + 15 * MINUTE });
      await store.loginAttempts.clear('key-1');
      assert.deepEqual(await store.loginAttempts.hit('key-1', T0 + 16 * MINUTE, 15 * MINUTE), { count: 1, windowStart: T0 + 16 * MINUTE });
    });

    it('sweeps expired sessions, requests, codes, families and login windows', async () => {
      const far = T0 + 365 * 24 * 60 * MINUTE;
      assert.ok((await store.browserSessions.deleteExpired(far)) >= 1);
      assert.ok((await store.authorizationCodes.deleteExpired(far)) >= 3);
      assert.ok((await store.tokenFamilies.deleteExpired(far)) >= 3);
      assert.equal(await store.tokenFamilies.findRefreshToken(a.id, 'rt-3b'), undefined);
      assert.ok((await store.loginAttempts.deleteExpired(far)) >= 1);
      await store.authorizationRequests.deleteExpired(far);
    });
  });
}
