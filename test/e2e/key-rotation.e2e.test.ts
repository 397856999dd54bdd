import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { decodeProtectedHeader } from 'jose';
import pg from 'pg';
import { POSTGRES_URL, testDatabases } from '../helpers/databases.ts';
import { httpRequest, type ProductionServer, productionServer, tokenRequest } from '../helpers/production-server.ts';

/**
 * `keys rotate` from the CLI while `serve` issues tokens: every token's kid is in the JWKS its
 * node serves right after it, and in the copy a resource server keeps for the JWKS max-age
 * without refetching. With a cache TTL and a max-age of 1 s, the new key signs about 3 s after
 * the rotation; the loop runs until every node has used it for a while (or a bound), then stops.
 */
const SETTINGS = { GATEHOUSE_CACHE_TTL: '1', GATEHOUSE_JWKS_MAX_AGE: '1', GATEHOUSE_DRAIN_PERIOD: '0', GATEHOUSE_LOG_LEVEL: 'warn' };
const ENV = 'PROD';
/** Upper bound of the loop (about a minute); it ends once every node has signed 10 tokens with the new key. */
const MAX_ROUNDS = 400;
const ROUNDS_AFTER_SWITCH = 10;
const PAUSE_MS = 100;
const ROTATE_AT_ROUND = 10;

interface Client {
  id: string;
  secret: string;
}

async function jwksKids(node: ProductionServer): Promise<{ kids: string[]; maxAge: number }> {
  const res = await httpRequest(`${node.baseUrl}/envs/${ENV}/jwks.json`);
  assert.equal(res.status, 200, res.body);
  const maxAge = Number(/max-age=(\d+)/.exec(String(res.headers['cache-control']))?.[1]);
  return { kids: (JSON.parse(res.body) as { keys: { kid: string }[] }).keys.map((k) => k.kid), maxAge };
}

/**
 * A resource server's copy of the JWKS of `node`: polled every 100 ms on its own timer, out of step
 * with the token loop, and refetched only once the served max-age has passed. Stops by itself.
 */
function resourceServer(node: ProductionServer, offsetMs: number) {
  const state = { kids: [] as string[], running: true };
  const done = (async () => {
    await delay(offsetMs);
    let expires = 0;
    for (let poll = 0; state.running && poll < 600; poll++) {
      if (Date.now() >= expires) {
        const fetchedAt = Date.now();
        const { kids, maxAge } = await jwksKids(node);
        state.kids = kids;
        expires = fetchedAt + maxAge * 1000;
      }
      await delay(PAUSE_MS);
    }
  })();
  return {
    kids: () => state.kids,
    async stop() {
      state.running = false;
      await done;
    },
  };
}

/** Whether the last ROUNDS_AFTER_SWITCH kids a node signed with are the same one, not its first. */
const switchedLongAgo = (kids: string[]): boolean => {
  const last = kids.slice(-ROUNDS_AFTER_SWITCH);
  return last.length === ROUNDS_AFTER_SWITCH && last.every((kid) => kid !== kids[0] && kid === last[0]);
};

/** Issues tokens on every node in turn while the CLI rotates; returns the kids each node signed with and every miss. */
async function issueWhileRotating(nodes: ProductionServer[], client: Client, rotate: () => Promise<string>) {
  const rs = resourceServer(nodes[0] as ProductionServer, 550);
  const misses: string[] = [];
  const signed: string[][] = nodes.map(() => []);
  let rotation: Promise<string> | undefined;
  try {
    await delay(700);
    for (let round = 0; round < MAX_ROUNDS && !signed.every(switchedLongAgo); round++) {
      if (round === ROTATE_AT_ROUND) {
        rotation = rotate();
        // Awaited after the loop; a failure must not go unhandled meanwhile.
        rotation.catch(() => {});
      }
      for (const [i, node] of nodes.entries()) {
        const res = await tokenRequest(node.baseUrl, ENV, client);
        assert.equal(res.status, 200, res.body);
        const kid = String(decodeProtectedHeader((JSON.parse(res.body) as { access_token: string }).access_token).kid);
        signed[i]?.push(kid);
        if (!(await jwksKids(node)).kids.includes(kid)) misses.push(`round ${round}: node ${i} signed with ${kid}, absent from its own JWKS`);
        if (!rs.kids().includes(kid)) misses.push(`round ${round}: node ${i} signed with ${kid}, absent from the resource server's copy`);
      }
      await delay(PAUSE_MS);
    }
  } finally {
    await rs.stop();
  }
  await rotation;
  return { signed, misses };
}

async function scenario(nodes: ProductionServer[], cli: ProductionServer): Promise<void> {
  const created = JSON.parse(await cli.cli(['client', 'create', '--env', ENV, '--name', 'svc', '--json'])) as { client_id: string; client_secret: string };
  const client = { id: created.client_id, secret: created.client_secret };
  // Several nodes start at once (each adds a missing RS256 key when it starts: once across them).
  await Promise.all(nodes.map((node) => node.start(1)));
  type Key = { kid: string; alg: string; status: string; published: boolean };
  // The access-token lineage; the RS256 key of ID Tokens does not rotate with it.
  const accessKeys = (keys: Key[]) => keys.filter((k) => k.alg !== 'RS256');
  const [before] = accessKeys(JSON.parse(await cli.cli(['keys', 'list', '--env', ENV, '--json'])) as Key[]);
  assert.ok(before);
  const { signed, misses } = await issueWhileRotating(nodes, client, () => cli.cli(['keys', 'rotate', '--env', ENV, '--json']));
  assert.deepEqual(misses, []);
  const keys = accessKeys(JSON.parse(await cli.cli(['keys', 'list', '--env', ENV, '--json'])) as Key[]);
  const active = keys.find((k) => k.status === 'active');
  assert.ok(active);
  assert.deepEqual(
    keys.map((k) => [k.kid, k.status, k.published]),
    [
      [active.kid, 'active', true],
      [before.kid, 'retired', true],
    ],
  );
  // Each node switched from the old key to the new one once, and never back.
  for (const kids of signed) {
    assert.ok(switchedLongAgo(kids), 'the new key did not start signing within the bound');
    const switchAt = kids.indexOf(active.kid);
    assert.ok(switchAt > ROTATE_AT_ROUND, `switched at round ${switchAt}`);
    assert.deepEqual(kids, [...Array(switchAt).fill(before.kid), ...Array(kids.length - switchAt).fill(active.kid)]);
  }
}

describe('key rotation under load, end to end', () => {
  const servers: ProductionServer[] = [];
  after(async () => {
    for (const server of servers) await server.dispose();
  });

  it('on SQLite: rotating from the CLI never makes a token whose kid the JWKS lacks', async () => {
    const node = await productionServer(SETTINGS);
    servers.push(node);
    await node.cli(['env', 'create', ENV]);
    await scenario([node], node);
  });

  it('on PostgreSQL with two nodes: the same, whichever node signs and whichever serves the JWKS', async (t) => {
    if (!(await testDatabases()).some((d) => d.name === 'postgres')) return t.skip('PostgreSQL is not reachable');
    const schema = `gh_rotation_${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    t.after(async () => {
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
    });
    const url = new URL(POSTGRES_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const shared = { ...SETTINGS, GATEHOUSE_DATABASE_URL: url.href, GATEHOUSE_KEY_SECRET: randomBytes(32).toString('hex') };
    const nodes = [await productionServer(shared), await productionServer(shared)];
    servers.push(...nodes);
    await nodes[0]?.cli(['env', 'create', ENV]);
    // As if the environment were created before every environment got an RS256 key.
    await admin.query(`delete from ${schema}.signing_keys where alg = 'RS256'`);
    await scenario(nodes, nodes[0] as ProductionServer);
    const { rows } = await admin.query<{ status: string }>(`select status from ${schema}.signing_keys where alg = 'RS256'`);
    assert.deepEqual(
      rows.map((r) => r.status),
      ['active'],
      'the two nodes starting at once added exactly one RS256 key',
    );
  });
});
