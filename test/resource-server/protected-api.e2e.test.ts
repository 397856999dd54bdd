import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createVerifier, type Verifier } from '../../src/resource-server/index.ts';
import { type ProductionServer, productionServer, tokenRequest } from '../helpers/production-server.ts';
import { ADAPTERS, type ProtectedApi } from './protected-apis.ts';

const ENV = 'PRODUCTION';
const COOLDOWN_MS = 30_000;

interface Credentials {
  id: string;
  secret: string;
}

/**
 * Three small APIs, one per adapter, protected by tokens of a real `gatehouse serve` across a key
 * rotation (`gatehouse keys rotate`): the next key is published at once and signs after the lead
 * time, here about 2 s (GATEHOUSE_CACHE_TTL=0, GATEHOUSE_JWKS_MAX_AGE=1, plus one second). The
 * verifier's clock is the real one plus an offset the revocation test moves past its cache.
 */
describe('protected APIs against a real Gatehouse, across a key rotation', () => {
  let server: ProductionServer;
  let issuer: string;
  let jwtClient: Credentials;
  let opaqueClient: Credentials;
  let verifier: Verifier;
  let offset = 0;
  let jwksFetches = 0;
  const apis: ProtectedApi[] = [];

  const createClient = async (...extra: string[]): Promise<Credentials> => {
    const args = ['client', 'create', '--env', ENV, '--name', 'e2e', '--scope', 'read write', '--default-scope', 'read', '--json', ...extra];
    const created = JSON.parse(await server.cli(args)) as { client_id: string; client_secret: string };
    return { id: created.client_id, secret: created.client_secret };
  };

  const token = async (client: Credentials): Promise<string> => {
    const res = await tokenRequest(server.baseUrl, ENV, client);
    assert.equal(res.status, 200, res.body);
    return (JSON.parse(res.body) as { access_token: string }).access_token;
  };

  /** Every API serves every token: no valid request is refused. */
  const allServe = async (tokens: string[]): Promise<void> => {
    const calls = apis.flatMap((api) => tokens.map(async (t) => ({ api: api.name, res: await api.call({ headers: { authorization: `Bearer ${t}` } }) })));
    for (const { api, res } of await Promise.all(calls))
      assert.equal(res.status, 200, `${api}: ${res.status} ${res.headers['www-authenticate'] ?? ''} ${res.body}`);
  };

  before(async () => {
    server = await productionServer({ GATEHOUSE_CACHE_TTL: '0', GATEHOUSE_JWKS_MAX_AGE: '1' });
    await server.cli(['env', 'create', ENV]);
    jwtClient = await createClient();
    opaqueClient = await createClient('--token-format', 'opaque');
    const rs = await createClient('--resource-server');
    await server.start(1);
    issuer = `${server.baseUrl}/envs/${ENV}`;
    verifier = createVerifier({
      issuer,
      audience: issuer,
      introspection: { url: `${issuer}/introspect`, clientId: rs.id, clientSecret: rs.secret },
      jwksCooldownMs: COOLDOWN_MS,
      now: () => Date.now() + offset,
      fetch: (url, init) => {
        if (url.endsWith('/jwks.json')) jwksFetches += 1;
        return fetch(url, init);
      },
    });
    for (const adapter of ADAPTERS) apis.push(await adapter(verifier));
  });

  after(async () => {
    for (const api of apis) await api.close();
    await server?.dispose();
  });

  it('serves JWT and opaque tokens before and after the rotation, old and new keys alike', { timeout: 60_000 }, async () => {
    const before = [await token(jwtClient), await token(opaqueClient)];
    await allServe(before);
    assert.equal(jwksFetches, 1, 'one JWKS fetch for every adapter and request');
    const keys = JSON.parse(await server.cli(['keys', 'rotate', '--env', ENV, '--json'])) as { kid: string; alg: string; status: string }[];
    // The access-token key rotates; the RS256 key of ID Tokens stays as it is.
    assert.deepEqual(keys.map((k) => [k.alg, k.status]).sort(), [
      ['ES256', 'active'],
      ['ES256', 'next'],
      ['RS256', 'active'],
    ]);
    const newKid = (t: string) => (JSON.parse(Buffer.from(t.split('.')[0] ?? '', 'base64url').toString()) as { kid: string }).kid;
    const oldKid = newKid(before[0] ?? '');
    // Until the lead time has passed every token is still signed by the active key, and served.
    let after = await token(jwtClient);
    for (let round = 0; newKid(after) === oldKid; round++) {
      assert.ok(round < 100, 'the next key never started signing');
      await allServe([after, ...before]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = await token(jwtClient);
    }
    // The first tokens of the new key: the verifier's set has outlived its max-age, so one refetch,
    // shared by every simultaneous request, finds the key published ahead of them. Nothing is refused.
    const fetchesBefore = jwksFetches;
    const fresh = [after, await token(jwtClient), await token(opaqueClient)];
    await allServe([...fresh, ...fresh, ...fresh, ...before]);
    assert.ok(jwksFetches - fetchesBefore <= 2, `${jwksFetches - fetchesBefore} JWKS fetches for the first new-key tokens`);
  });

  it('refuses a revoked opaque token once the introspection cache has passed', { timeout: 30_000 }, async () => {
    const opaque = await token(opaqueClient);
    await allServe([opaque]);
    const res = await fetch(`${issuer}/revoke`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${opaqueClient.id}:${opaqueClient.secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token: opaque }),
    });
    assert.equal(res.status, 200);
    offset += 10_000;
    for (const api of apis) {
      const answer = await api.call({ headers: { authorization: `Bearer ${opaque}` } });
      assert.equal(answer.status, 401, api.name);
      assert.match(answer.headers['www-authenticate'] ?? '', /error="invalid_token"/);
    }
  });
});
