import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import { ApiService } from '../../src/admin/apis.ts';
import type { CoreEvent } from '../../src/domain/events.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, suiteStore } from '../helpers/fixtures.ts';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const AT = 'urn:ietf:params:oauth:token-type:access_token';
const API_A = 'https://a.example.test';
const API_B = 'https://b.example.test';
const API_C = 'https://c.example.test';
const REFUSED_SUBJECT = 'subject_token is not an active access token of this issuer';

type Body = Record<string, unknown>;
interface Client {
  id: string;
  secret: string;
}

function assertError(res: LightMyRequestResponse, status: number, code: string, description?: RegExp | string): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.headers['cache-control'], 'no-store');
  const body = res.json() as Body;
  assert.equal(body.error, code, res.body);
  if (typeof description === 'string') assert.equal(body.error_description, description);
  else if (description) assert.match(String(body.error_description), description);
}

for (const database of await testDatabases()) {
  describe(`token exchange (RFC 8693) on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let counter = 0;

    /**
     * An environment with APIs A, B and C; `web` gets user-less tokens for A, service A may act on
     * A's tokens and get tokens for B, service B on B's and get tokens for C; `other` only uses
     * client_credentials. `opaque`: API A's tokens are opaque (stored, hashed).
     */
    async function setup(options: { opaqueA?: boolean } = {}) {
      const t = await suite.build();
      const env = `tx-${database.name}-${++counter}`;
      await t.admin.createEnvironment(env);
      const client = async (name: string, grantTypes: string[], scopes: string[]): Promise<Client> => {
        const created = await t.admin.createClient({ env, name, grantTypes, scopes });
        return { id: created.client_id, secret: created.client_secret as string };
      };
      const web = await client('web', ['client_credentials'], ['a:read', 'a:write', 'b:read', 'c:read']);
      const serviceA = await client('service A', [GRANT, 'client_credentials'], ['a:read', 'b:read', 'b:write', 'c:read']);
      const serviceB = await client('service B', [GRANT], ['b:read', 'c:read', 'c:write']);
      const other = await client('other', ['client_credentials'], ['a:read']);
      const apis = new ApiService(t.config, t.store, t.clock, (envId) => t.app.core.apis.invalidate(envId));
      const scopes = (...names: string[]) => names.map((name) => ({ name, description: name }));
      await apis.create({
        env,
        identifier: API_A,
        name: 'A',
        scopes: scopes('a:read', 'a:write', 'b:read', 'c:read'),
        clientIds: [web.id, serviceA.id, other.id],
        ...(options.opaqueA ? { tokenFormat: 'opaque' as const } : {}),
      });
      await apis.create({ env, identifier: API_B, name: 'B', scopes: scopes('b:read', 'b:write', 'c:read'), clientIds: [serviceA.id, serviceB.id] });
      await apis.create({ env, identifier: API_C, name: 'C', scopes: scopes('c:read', 'c:write'), clientIds: [serviceB.id] });
      const events: CoreEvent[] = [];
      t.app.events.listen((event) => events.push(event));
      const post = (path: string, by: Client, params: Record<string, string>) =>
        t.app.server.inject({
          method: 'POST',
          url: `/envs/${env}/${path}`,
          headers: { authorization: basic(by.id, by.secret), 'content-type': 'application/x-www-form-urlencoded' },
          payload: form(params),
        });
      const token = async (by: Client, params: Record<string, string>): Promise<string> => {
        const res = await post('token', by, { grant_type: 'client_credentials', ...params });
        assert.equal(res.statusCode, 200, res.body);
        return String((res.json() as Body).access_token);
      };
      const exchange = (by: Client, subjectToken: string, params: Record<string, string> = {}) =>
        post('token', by, { grant_type: GRANT, subject_token: subjectToken, subject_token_type: AT, ...params });
      return { t, env, web, serviceA, serviceB, other, events, post, token, exchange };
    }

    it('issues a narrower token for B that keeps the subject and names service A as actor, and no refresh token', async () => {
      const { web, serviceA, token, exchange, events } = await setup();
      const subject = await token(web, { resource: API_A, scope: 'a:read b:read c:read' });
      const res = await exchange(serviceA, subject, { resource: API_B, scope: 'b:read' });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      const body = res.json() as Body;
      assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'issued_token_type', 'scope', 'token_type']);
      assert.equal(body.issued_token_type, AT);
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.scope, 'b:read');
      const claims = decodeJwt(String(body.access_token));
      assert.equal(claims.sub, web.id);
      assert.equal(claims.client_id, serviceA.id);
      assert.equal(claims.aud, API_B);
      assert.deepEqual(claims.act, { sub: serviceA.id });
      assert.ok((claims.exp ?? 0) <= (decodeJwt(subject).exp ?? 0));
      const issued = events.filter((e) => e.type === 'token.issued').at(-1);
      assert.ok(issued?.type === 'token.issued');
      assert.equal(issued.grantType, GRANT);
      assert.equal(issued.clientId, serviceA.id);
      assert.equal(issued.userId, web.id);
      assert.deepEqual(issued.act, { sub: serviceA.id });
    });

    it('with no scope requested, gives the subject scope ∩ the client scopes ∩ what the target API defines; nests act along a chain', async () => {
      const { web, serviceA, serviceB, token, exchange, events } = await setup();
      const subject = await token(web, { resource: API_A, scope: 'a:read a:write b:read c:read' });
      const first = await exchange(serviceA, subject, { audience: API_B });
      assert.equal(first.statusCode, 200, first.body);
      assert.deepEqual(
        String((first.json() as Body).scope)
          .split(' ')
          .sort(),
        ['b:read', 'c:read'],
      );
      const second = await exchange(serviceB, String((first.json() as Body).access_token), { resource: API_C });
      assert.equal(second.statusCode, 200, second.body);
      const body = second.json() as Body;
      assert.equal(body.scope, 'c:read');
      const claims = decodeJwt(String(body.access_token));
      assert.equal(claims.sub, web.id);
      assert.deepEqual(claims.act, { sub: serviceB.id, act: { sub: serviceA.id } });
      const issued = events.filter((e) => e.type === 'token.issued').at(-1);
      assert.ok(issued?.type === 'token.issued');
      assert.deepEqual(issued.act, { sub: serviceB.id, act: { sub: serviceA.id } });
    });

    it('reads an opaque subject token from storage, and the exchanged token is never longer-lived than it', async () => {
      const { t, web, serviceA, token, exchange } = await setup({ opaqueA: true });
      const subject = await token(web, { resource: API_A, scope: 'b:read' });
      assert.match(subject, /^gat_/);
      t.clock.advance(3_500_000);
      const res = await exchange(serviceA, subject, { resource: API_B });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json() as Body;
      assert.equal(body.expires_in, 100);
      const claims = decodeJwt(String(body.access_token));
      assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 100);
      assert.deepEqual(claims.act, { sub: serviceA.id });
    });

    it('takes the actor from an actor token issued to the client itself, and refuses one issued to another', async () => {
      const { web, serviceA, other, token, exchange } = await setup();
      const subject = await token(web, { resource: API_A, scope: 'b:read' });
      const own = await token(serviceA, { resource: API_A, scope: 'a:read' });
      const res = await exchange(serviceA, subject, { resource: API_B, actor_token: own, actor_token_type: AT });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(decodeJwt(String((res.json() as Body).access_token)).act, { sub: serviceA.id });
      const foreign = await token(other, { resource: API_A });
      assertError(
        await exchange(serviceA, subject, { resource: API_B, actor_token: foreign, actor_token_type: AT }),
        400,
        'invalid_request',
        'actor_token is not an active access token of this issuer issued to this client',
      );
      assertError(await exchange(serviceA, subject, { actor_token: 'x' }), 400, 'invalid_request', /actor_token and actor_token_type go together/);
      assertError(await exchange(serviceA, subject, { actor_token_type: AT }), 400, 'invalid_request', /actor_token and actor_token_type go together/);
      assertError(
        await exchange(serviceA, subject, { actor_token: own, actor_token_type: 'urn:ietf:params:oauth:token-type:jwt' }),
        400,
        'invalid_request',
        /actor_token_type urn:ietf:params:oauth:token-type:jwt is not supported/,
      );
    });

    it('refuses missing and unsupported parameters with invalid_request naming them (RFC 8693 §2.2.2)', async () => {
      const { web, serviceA, token, exchange, post } = await setup();
      const subject = await token(web, { resource: API_A });
      assertError(await post('token', serviceA, { grant_type: GRANT, subject_token_type: AT }), 400, 'invalid_request', 'subject_token is required');
      assertError(await post('token', serviceA, { grant_type: GRANT, subject_token: subject }), 400, 'invalid_request', 'subject_token_type is required');
      assertError(
        await exchange(serviceA, subject, { subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' }),
        400,
        'invalid_request',
        /subject_token_type urn:ietf:params:oauth:token-type:id_token is not supported/,
      );
      assertError(
        await exchange(serviceA, subject, { requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }),
        400,
        'invalid_request',
        /requested_token_type urn:ietf:params:oauth:token-type:refresh_token cannot be issued/,
      );
      const explicit = await exchange(serviceA, subject, { requested_token_type: AT, resource: API_B });
      assert.equal(explicit.statusCode, 200, explicit.body);
    });

    it('answers a malformed, revoked, expired or another environment’s subject token alike', async () => {
      const { t, web, serviceA, token, exchange, post } = await setup();
      const elsewhere = await setup();
      const foreign = await elsewhere.token(elsewhere.web, { resource: API_A });
      assertError(await exchange(serviceA, 'not-a-token'), 400, 'invalid_request', REFUSED_SUBJECT);
      assertError(await exchange(serviceA, 'a.b.c'), 400, 'invalid_request', REFUSED_SUBJECT);
      assertError(await exchange(serviceA, foreign), 400, 'invalid_request', REFUSED_SUBJECT);
      const revoked = await token(web, { resource: API_A });
      assert.equal((await post('revoke', web, { token: revoked })).statusCode, 200);
      assertError(await exchange(serviceA, revoked), 400, 'invalid_request', REFUSED_SUBJECT);
      const expiring = await token(web, { resource: API_A });
      t.clock.advance(3_600_000);
      assertError(await exchange(serviceA, expiring), 400, 'invalid_request', REFUSED_SUBJECT);
    });

    it('refuses a client the subject token was neither issued to nor is for an API that lists it', async () => {
      const { web, serviceA, serviceB, token, exchange } = await setup();
      const forA = await token(web, { resource: API_A });
      assertError(await exchange(serviceB, forA, { resource: API_C }), 400, 'invalid_request', /may not act on the subject_token/);
      // A token for the issuer alone (no API) is only the client's own to exchange.
      const forIssuer = await token(web, {});
      assertError(await exchange(serviceA, forIssuer, { resource: API_B }), 400, 'invalid_request', /may not act on the subject_token/);
    });

    it('refuses a client not registered for the grant, and a public client cannot have it', async () => {
      const { t, env, web, token, exchange, other } = await setup();
      const subject = await token(web, { resource: API_A });
      assertError(await exchange(other, subject), 400, 'unauthorized_client', `this client may not use grant_type ${GRANT}`);
      await assert.rejects(
        t.admin.createClient({ env, name: 'spa', kind: 'public', grantTypes: [GRANT], scopes: [], redirectUris: ['https://spa.example.test/cb'] }),
        /public client cannot use urn:ietf:params:oauth:grant-type:token-exchange/,
      );
    });

    it('refuses an unknown or closed target with invalid_target, by resource and by audience', async () => {
      const { web, serviceA, token, exchange } = await setup();
      const subject = await token(web, { resource: API_A, scope: 'c:read' });
      assertError(await exchange(serviceA, subject, { resource: API_C }), 400, 'invalid_target', `resource ${API_C} is unknown or not allowed for this client`);
      assertError(await exchange(serviceA, subject, { audience: API_C }), 400, 'invalid_target', `audience ${API_C} is unknown or not allowed for this client`);
      assertError(
        await exchange(serviceA, subject, { audience: 'https://nowhere.example.test' }),
        400,
        'invalid_target',
        'audience https://nowhere.example.test is unknown or not allowed for this client',
      );
      assertError(await exchange(serviceA, subject, { audience: 'not a uri' }), 400, 'invalid_target', /audience not a uri is unknown/);
    });

    it('refuses a scope wider than the subject token, the client or the target API with invalid_scope', async () => {
      const { web, serviceA, token, exchange } = await setup();
      const subject = await token(web, { resource: API_A, scope: 'a:read b:read' });
      assertError(
        await exchange(serviceA, subject, { resource: API_B, scope: 'b:read b:write' }),
        400,
        'invalid_scope',
        "scope wider than the subject token's: b:write",
      );
      // a:write is in the subject token but not among service A's scopes; a:read is service A's but API B does not define it.
      const wide = await token(web, { resource: API_A, scope: 'a:read a:write b:read' });
      assertError(await exchange(serviceA, wide, { resource: API_B, scope: 'a:write' }), 400, 'invalid_scope', /a:write/);
      assertError(await exchange(serviceA, wide, { resource: API_B, scope: 'a:read' }), 400, 'invalid_scope', /a:read/);
    });
  });
}

describe('the audit record of a token exchange', () => {
  const env = { id: 'env-1', name: 'PROD' };
  it('records token.exchanged with the user and the actor chain, current actor first, and no other issuance', async () => {
    const { auditEventOf } = await import('../../src/audit/listener.ts');
    const exchanged = auditEventOf({
      type: 'token.issued',
      env,
      clientId: 'gh_b',
      grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
      userId: 'usr_1',
      credential: undefined,
      act: { sub: 'gh_b', act: { sub: 'gh_a' } },
    });
    assert.equal(exchanged?.type, 'token.exchanged');
    assert.deepEqual(exchanged?.subject, { kind: 'user', id: 'usr_1' });
    assert.deepEqual(exchanged?.details, { client_id: 'gh_b', actors: ['gh_b', 'gh_a'] });
    assert.equal(
      auditEventOf({ type: 'token.issued', env, clientId: 'gh_b', grantType: 'client_credentials', userId: undefined, credential: undefined }),
      undefined,
    );
  });
});
