import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BrowserSessions } from '../../src/accounts/browser-sessions.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import type { BrowserSession, Client, Consent, Environment } from '../../src/domain/model.ts';
import type { Store } from '../../src/domain/storage.ts';
import { pageLanguage } from '../../src/i18n/locales.ts';
import { consentCovers } from '../../src/oauth/authorization/next-step.ts';
import { OPENID_CHECKS } from '../../src/oauth/authorization/openid-request.ts';
import type { RequestUnderCheck } from '../../src/oauth/authorization/validate-request.ts';

const client: Client = {
  envId: 'env',
  clientId: 'app',
  name: 'App',
  kind: 'confidential',
  grantTypes: ['authorization_code'],
  scopes: ['openid', 'profile'],
  defaultScopes: [],
  redirectUris: ['https://app.example/cb'],
  tokenFormat: 'jwt',
  accessTokenTtl: null,
  introspectAny: false,
  allowMissingPkce: false,
  quota: null,
  enabled: true,
  createdAt: 0,
  updatedAt: 0,
};

const underCheck = (params: Record<string, string>): RequestUnderCheck => ({
  env: { id: 'env-1', name: 'test', createdAt: 0, defaultQuota: null },
  client,
  params,
  duplicates: [],
  rawState: null,
  options: { pkceOptionalForConfidential: false },
});

const firstRefusal = (params: Record<string, string>) => OPENID_CHECKS.map((check) => check(underCheck(params))).find((refusal) => refusal !== undefined);

describe('the OpenID checks of an authentication request (Core §3.1.2.1)', () => {
  it('pass every prompt set without none, none alone, a max_age of seconds and bounded values', () => {
    for (const prompt of ['none', 'login', 'consent', 'select_account', 'login consent', 'consent  select_account login', '']) {
      assert.equal(firstRefusal({ prompt }), undefined, prompt);
    }
    for (const max_age of ['0', '1', '10000', '0600', '']) assert.equal(firstRefusal({ max_age }), undefined, max_age);
    assert.equal(firstRefusal({ nonce: 'n'.repeat(512), login_hint: 'h'.repeat(256), acr_values: 'a'.repeat(512), ui_locales: 'en' }), undefined);
  });

  it('refuse none with another value, unknown prompts, bad max_age, long values, and request objects', () => {
    assert.deepEqual(firstRefusal({ prompt: 'none login' }), { error: 'invalid_request', description: 'prompt=none cannot be combined with another value' });
    assert.equal(firstRefusal({ prompt: 'login create' })?.error, 'invalid_request');
    for (const max_age of ['-1', '1.0', '1e3', ' 1', 'x', '12345678901']) assert.equal(firstRefusal({ max_age })?.error, 'invalid_request', max_age);
    assert.equal(firstRefusal({ nonce: 'n'.repeat(513) })?.description, 'nonce is longer than 512 characters');
    assert.equal(firstRefusal({ id_token_hint: 'x'.repeat(8193) })?.error, 'invalid_request');
    assert.equal(firstRefusal({ request: 'x', prompt: 'bogus' })?.error, 'request_not_supported');
    assert.equal(firstRefusal({ request_uri: 'urn:x' })?.error, 'request_uri_not_supported');
  });

  it('answer any parameters with a refusal of a known code or a pass, never an exception', () => {
    const params = fc.dictionary(
      fc.constantFrom('prompt', 'max_age', 'nonce', 'login_hint', 'ui_locales', 'acr_values', 'id_token_hint', 'claims', 'other'),
      fc.oneof(fc.string({ maxLength: 600 }), fc.constantFrom('none', 'login', 'none login', '0', '-1', '')),
    );
    fc.assert(
      fc.property(params, (p) => {
        const refusal = firstRefusal(p);
        if (refusal) assert.equal(refusal.error, 'invalid_request');
      }),
    );
  });
});

describe('a stored consent', () => {
  const consent = (scope: string[], resources?: string[]): Consent => ({
    envId: 'env',
    userId: 'u',
    clientId: 'app',
    scope,
    grantedAt: 0,
    ...(resources ? { resources } : {}),
  });

  it('covers a request when it holds every scope and every API; one for no API covers only requests for none', () => {
    assert.equal(consentCovers(undefined, [], undefined), false);
    assert.equal(consentCovers(consent(['openid', 'read']), ['read'], undefined), true);
    assert.equal(consentCovers(consent(['openid', 'read']), ['read', 'write'], undefined), false);
    assert.equal(consentCovers(consent(['read']), ['read'], ['https://api.example/a']), false);
    assert.equal(consentCovers(consent(['read'], ['https://api.example/a']), ['read'], ['https://api.example/a']), true);
    assert.equal(consentCovers(consent(['read'], ['https://api.example/a']), ['read'], ['https://api.example/a', 'https://api.example/b']), false);
    assert.equal(consentCovers(consent(['read'], ['https://api.example/a']), ['read'], undefined), true);
  });
});

describe('the language of the pages (ui_locales)', () => {
  it('is the first tag the pages are written in, as given, else English', () => {
    assert.equal(pageLanguage(undefined), 'en');
    assert.equal(pageLanguage([]), 'en');
    assert.equal(pageLanguage(['sv', 'de']), 'de');
    assert.equal(pageLanguage(['sv', 'zz']), 'en');
    assert.equal(pageLanguage(['sv-SE', 'EN-gb', 'en']), 'EN-gb');
    assert.equal(pageLanguage(['en-US']), 'en-US');
  });
});

describe('OpenID session ids at sign-in', () => {
  const env = { id: 'env' } as Environment;
  const sessions = new Map<string, BrowserSession>();
  const store: Pick<Store, 'browserSessions'> = {
    browserSessions: {
      async create(session) {
        sessions.set(session.idHash, session);
      },
      async find(_envId, idHash) {
        return sessions.get(idHash);
      },
      async replace(previous, next) {
        if (previous !== undefined) sessions.delete(previous);
        sessions.set(next.idHash, next);
      },
      async deleteForUser() {
        return 0;
      },
      async end(_envId, idHash) {
        const ended = sessions.get(idHash);
        sessions.delete(idHash);
        return ended;
      },
      async endForUser() {
        return [];
      },
      async deleteExpired() {
        return 0;
      },
    },
  };
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const browserSessions = new BrowserSessions(store, clock, 3_600_000);

  it('gives a new sid and amr pwd at a first sign-in, keeps the sid when the same user signs in again, never passes it to another user', async () => {
    const anonymous = await browserSessions.start(env);
    assert.equal(anonymous.session.sid, undefined);
    const alice = await browserSessions.signIn(env, anonymous, 'usr_alice');
    assert.match(alice.session.sid as string, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(alice.session.amr, ['pwd']);
    assert.equal(alice.session.authenticatedAt, clock.now());
    clock.advance(1000);
    const again = await browserSessions.signIn(env, alice, 'usr_alice');
    assert.notEqual(again.id, alice.id, 'the cookie value changes at every sign-in');
    assert.equal(again.session.sid, alice.session.sid);
    assert.equal(again.session.authenticatedAt, clock.now());
    const bob = await browserSessions.signIn(env, again, 'usr_bob');
    assert.notEqual(bob.session.sid, alice.session.sid);
    // A session from before sid existed gets one at its next sign-in.
    const { sid: _sid, ...older } = bob.session;
    const upgraded = await browserSessions.signIn(env, { id: bob.id, session: older }, 'usr_bob');
    assert.match(upgraded.session.sid as string, /^[A-Za-z0-9_-]{43}$/);
  });
});
