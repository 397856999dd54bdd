import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { decodeProtectedHeader } from 'jose';
import pg from 'pg';
import { BearerError, createVerifier } from '../../src/resource-server/index.ts';
import { POSTGRES_URL, testDatabases } from '../helpers/databases.ts';
import { httpRequest, type ProductionServer, productionServer, tokenRequest } from '../helpers/production-server.ts';

/**
 * The emergency paths against real `serve` processes of two workers each (production mode), the
 * CLI acting on the database as an operator would, never telling a node.
 *
 * `keys rotate --now`: every 100 ms a token is taken from a node and the JWKS of each node is
 * fetched right after it; no token may carry a kid a JWKS fetched after it lacks (workers of one
 * node, and nodes, read their keys at different times; the new key signs only after the cache
 * bound, by when each of them publishes it).
 *
 * `keys revoke`: a resource server using `gatehouse/resource-server`, which had the key cached,
 * refuses a token of it within the stated bound, GATEHOUSE_CACHE_TTL + the JWKS max-age + 1 s;
 * introspection answers `{"active": false}` on every node as soon as the command returns.
 */
const CACHE_TTL_S = 2;
const JWKS_MAX_AGE_S = 2;
const SETTINGS = {
  GATEHOUSE_CACHE_TTL: String(CACHE_TTL_S),
  GATEHOUSE_JWKS_MAX_AGE: String(JWKS_MAX_AGE_S),
  GATEHOUSE_DRAIN_PERIOD: '0',
  GATEHOUSE_LOG_LEVEL: 'warn',
};
const ENV = 'PROD';
const WORKERS = 2;
const POLL_MS = 100;
/** Bound of the rotation loop (about a minute at 100 ms); it ends once every node has signed 10 tokens with the new key. */
const MAX_ROUNDS = 500;
const ROUNDS_AFTER_SWITCH = 10;
const ROTATE_AT_ROUND = 10;
/** How long after `keys revoke` every resource server refuses the key: each node's cache, then the resource server's copy, plus 1 s. */
const REVOCATION_BOUND_MS = (CACHE_TTL_S + JWKS_MAX_AGE_S + 1) * 1000;
/** Allowed on top of the bound for the 100 ms poll and one request. */
const POLL_SLACK_MS = 500;

interface Client {
  id: string;
  secret: string;
}

async function jwksKids(node: ProductionServer): Promise<string[]> {
  const res = await httpRequest(`${node.baseUrl}/envs/${ENV}/jwks.json`);
  assert.equal(res.status, 200, res.body);
  return (JSON.parse(res.body) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
}

async function token(node: ProductionServer, client: Client): Promise<string> {
  const res = await tokenRequest(node.baseUrl, ENV, client);
  assert.equal(res.status, 200, res.body);
  return (JSON.parse(res.body) as { access_token: string }).access_token;
}

const kidOf = (jwt: string): string => String(decodeProtectedHeader(jwt).kid);

async function introspect(node: ProductionServer, client: Client, jwt: string): Promise<{ active: boolean }> {
  const res = await httpRequest(`${node.baseUrl}/envs/${ENV}/introspect`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`,
    },
    body: new URLSearchParams({ token: jwt }).toString(),
  });
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body) as { active: boolean };
}

async function createClient(cli: ProductionServer, extra: string[] = []): Promise<Client> {
  const created = JSON.parse(await cli.cli(['client', 'create', '--env', ENV, '--name', 'svc', ...extra, '--json'])) as {
    client_id: string;
    client_secret: string;
  };
  return { id: created.client_id, secret: created.client_secret };
}

/** Whether the last ROUNDS_AFTER_SWITCH kids a node signed with are the same one, not its first. */
const switchedLongAgo = (kids: string[]): boolean => {
  const last = kids.slice(-ROUNDS_AFTER_SWITCH);
  return last.length === ROUNDS_AFTER_SWITCH && last.every((kid) => kid !== kids[0] && kid === last[0]);
};

/** `keys rotate --now` while every node is polled every 100 ms; returns what each node signed with and every miss. */
async function rotateNowUnderPolling(nodes: ProductionServer[], cli: ProductionServer, client: Client) {
  const misses: string[] = [];
  const signed: string[][] = nodes.map(() => []);
  let rotation: Promise<string> | undefined;
  let tokens = 0;
  for (let round = 0; round < MAX_ROUNDS && !signed.every(switchedLongAgo); round++) {
    if (round === ROTATE_AT_ROUND) {
      rotation = cli.cli(['keys', 'rotate', '--now', '--env', ENV, '--json']);
      // Awaited after the loop; a failure must not go unhandled meanwhile.
      rotation.catch(() => {});
    }
    for (const [i, node] of nodes.entries()) {
      const kid = kidOf(await token(node, client));
      tokens++;
      signed[i]?.push(kid);
      // Right after the token: the JWKS of every node (each request may reach either worker).
      for (const [j, other] of nodes.entries()) {
        if (!(await jwksKids(other)).includes(kid)) misses.push(`round ${round}: node ${i} signed with ${kid}, absent from the JWKS of node ${j}`);
      }
    }
    await delay(POLL_MS);
  }
  const rotated = JSON.parse((await rotation) ?? '[]') as { kid: string; status: string; activate_at: string; created_at: string }[];
  return { signed, misses, tokens, rotated };
}

async function rotateNowScenario(nodes: ProductionServer[], cli: ProductionServer, client: Client, label: string): Promise<void> {
  // The access-token key; the RS256 key of ID Tokens is not rotated by `keys rotate`.
  const before = (JSON.parse(await cli.cli(['keys', 'list', '--env', ENV, '--json'])) as { kid: string; alg: string }[]).find((k) => k.alg !== 'RS256');
  assert.ok(before);
  const { signed, misses, tokens, rotated } = await rotateNowUnderPolling(nodes, cli, client);
  const next = rotated[0];
  assert.ok(next);
  assert.equal(next.status, 'next');
  assert.equal(Date.parse(next.activate_at) - Date.parse(next.created_at), CACHE_TTL_S * 1000 + 1000);
  const switchRounds = signed.map((kids) => kids.indexOf(next.kid));
  console.log(
    `[${label}] keys rotate --now, ${nodes.length} node(s) x ${WORKERS} workers polled every ${POLL_MS} ms: ${tokens} tokens, ` +
      `${misses.length} with a kid missing from a JWKS fetched right after; switch at rounds ${switchRounds.join(', ')} (rotation at ${ROTATE_AT_ROUND})`,
  );
  assert.deepEqual(misses, []);
  for (const kids of signed) {
    assert.ok(switchedLongAgo(kids), 'the new key did not start signing within the bound');
    const switchAt = kids.indexOf(next.kid);
    assert.ok(switchAt > ROTATE_AT_ROUND, `switched at round ${switchAt}`);
    assert.deepEqual(kids, [...Array(switchAt).fill(before.kid), ...Array(kids.length - switchAt).fill(next.kid)]);
  }
}

/**
 * `keys revoke` of the signing key: a resource server that verified a token of it (so holds the
 * kid) refuses the token within REVOCATION_BOUND_MS; introspection refuses it on every node at once.
 */
async function revokeScenario(nodes: ProductionServer[], cli: ProductionServer, client: Client, label: string, publicUrl: string): Promise<void> {
  const first = nodes[0] as ProductionServer;
  const last = nodes.at(-1) as ProductionServer;
  const issuer = `${publicUrl}/envs/${ENV}`;
  // The resource server reads the JWKS from another node than the one that issued the token.
  const verifier = createVerifier({ issuer, audience: issuer, jwksUri: `${last.baseUrl}/envs/${ENV}/jwks.json`, jwksCooldownMs: 1000 });
  const introspector = await createClient(cli, ['--resource-server']);
  const leaked = await token(first, client);
  const kid = kidOf(leaked);
  assert.equal((await verifier.verifyToken(leaked)).clientId, client.id);
  for (const node of nodes) assert.equal((await introspect(node, introspector, leaked)).active, true);

  const started = Date.now();
  const revoked = JSON.parse(await cli.cli(['keys', 'revoke', '--env', ENV, '--json', '--', kid])) as { kid: string; replaced_by: string | null };
  const returned = Date.now();
  assert.equal(revoked.kid, kid);
  assert.ok(revoked.replaced_by);
  for (const node of nodes) assert.deepEqual(await introspect(node, introspector, leaked), { active: false });

  let refusedAfter: number | undefined;
  let outOfJwksAfter: number | undefined;
  let newKeyVerifiedAfter: number | undefined;
  const deadline = returned + REVOCATION_BOUND_MS + POLL_SLACK_MS;
  while (Date.now() < deadline && (refusedAfter === undefined || outOfJwksAfter === undefined || newKeyVerifiedAfter === undefined)) {
    if (refusedAfter === undefined) {
      try {
        await verifier.verifyToken(leaked);
      } catch (error) {
        assert.ok(error instanceof BearerError && error.code === 'invalid_token', String(error));
        refusedAfter = Date.now() - returned;
      }
    }
    if (outOfJwksAfter === undefined) {
      const lists = await Promise.all(nodes.map(jwksKids));
      if (lists.every((kids) => !kids.includes(kid))) outOfJwksAfter = Date.now() - returned;
    }
    if (newKeyVerifiedAfter === undefined) {
      const fresh = await Promise.all(nodes.map((node) => token(node, client)));
      const verified = await Promise.all(
        fresh.map((jwt) =>
          verifier.verifyToken(jwt).then(
            () => true,
            () => false,
          ),
        ),
      );
      if (verified.every(Boolean) && fresh.every((jwt) => kidOf(jwt) === revoked.replaced_by)) newKeyVerifiedAfter = Date.now() - returned;
    }
    await delay(POLL_MS);
  }
  console.log(
    `[${label}] keys revoke (the CLI ran ${returned - started} ms): introspection inactive on every node when it returned; ` +
      `out of every node's JWKS after ${outOfJwksAfter} ms, the resource server refused the token after ${refusedAfter} ms, ` +
      `every node signed with the fresh key and it verified after ${newKeyVerifiedAfter} ms (bound ${REVOCATION_BOUND_MS} ms)`,
  );
  assert.ok(outOfJwksAfter !== undefined && outOfJwksAfter <= CACHE_TTL_S * 1000 + POLL_SLACK_MS, `out of the JWKS after ${outOfJwksAfter} ms`);
  assert.ok(refusedAfter !== undefined && refusedAfter <= REVOCATION_BOUND_MS + POLL_SLACK_MS, `refused after ${refusedAfter} ms`);
  assert.ok(newKeyVerifiedAfter !== undefined, 'tokens of the fresh key did not verify within the bound');
  await assert.rejects(verifier.verifyToken(leaked), (error: unknown) => error instanceof BearerError && error.code === 'invalid_token');
}

describe('emergency key rotation and revocation on two-worker nodes, end to end', () => {
  const servers: ProductionServer[] = [];
  after(async () => {
    for (const server of servers) await server.dispose();
  });

  it('on SQLite: rotate --now never yields a token whose kid a JWKS lacks; revoke is refused within the bound', async () => {
    const node = await productionServer(SETTINGS);
    servers.push(node);
    await node.cli(['env', 'create', ENV]);
    const client = await createClient(node);
    await node.start(WORKERS);
    await rotateNowScenario([node], node, client, 'sqlite');
    await revokeScenario([node], node, client, 'sqlite', node.baseUrl);
  });

  it('on PostgreSQL with two nodes: the same, whichever node and worker signs and whichever serves the JWKS', async (t) => {
    if (!(await testDatabases()).some((d) => d.name === 'postgres')) return t.skip('PostgreSQL is not reachable');
    const schema = `gh_revocation_${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    t.after(async () => {
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
    });
    const url = new URL(POSTGRES_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    // One issuer for both nodes, as behind a load balancer.
    const publicUrl = 'https://auth.example.test';
    const shared = { ...SETTINGS, GATEHOUSE_DATABASE_URL: url.href, GATEHOUSE_KEY_SECRET: randomBytes(32).toString('hex'), GATEHOUSE_PUBLIC_URL: publicUrl };
    const nodes = [await productionServer(shared), await productionServer(shared)];
    servers.push(...nodes);
    const cli = nodes[0] as ProductionServer;
    await cli.cli(['env', 'create', ENV]);
    const client = await createClient(cli);
    for (const node of nodes) await node.start(WORKERS);
    await rotateNowScenario(nodes, cli, client, 'postgres');
    await revokeScenario(nodes, cli, client, 'postgres', publicUrl);
  });
});
