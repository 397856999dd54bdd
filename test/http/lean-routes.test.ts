import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { AdminService } from '../../src/admin/admin-service.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import { type CoreEvent, EventBus } from '../../src/domain/events.ts';
import { StorageUnavailableError, type Store } from '../../src/domain/storage.ts';
import { GatehouseMetrics } from '../../src/observability/metrics.ts';
import { createLogger } from '../../src/server/logger.ts';
import { createServer, type Server } from '../../src/server/server.ts';
import { openStore } from '../../src/store/open.ts';
import { basic, form, testConfig } from '../helpers/fixtures.ts';

/**
 * The lean path (`src/http/lean-routes.ts`) serves plain POSTs to the standard surface's API
 * routes over a socket; `inject` always takes the Fastify route. Each request is sent both ways
 * and must get the same status, headers, body, events, request metric and log lines.
 */

const FORM = 'application/x-www-form-urlencoded';
const ENV = 'LEAN';
const BODY_LIMIT = 2048;

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  events: string[];
  observed: string[];
  logs: string[];
}

interface Sent {
  url?: string;
  body: string;
  headers: Record<string, string>;
}

// Headers either path adds for its transport (inject has no socket), or whose value is the token's length.
const TRANSPORT_HEADERS = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);

describe('the lean path answers exactly as the Fastify route', () => {
  let store: Store;
  let app: Server;
  let address: string;
  let admin: AdminService;
  const events: CoreEvent[] = [];
  const observed: unknown[][] = [];
  const logLines: Record<string, unknown>[] = [];
  const clients: Record<string, { id: string; secret: string }> = {};
  let failInserts = false;

  before(async () => {
    store = openStore(':memory:');
    await store.migrate();
    const insert = store.accessTokens.insert.bind(store.accessTokens);
    store.accessTokens.insert = async (token) => {
      if (failInserts) throw new StorageUnavailableError('connection refused');
      return insert(token);
    };
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 12, 0, 0));
    const config = testConfig({ bodyLimit: BODY_LIMIT, host: '127.0.0.1' });
    const bus = new EventBus();
    bus.listen((event) => events.push(event));
    const metrics = new GatehouseMetrics({ maxClients: 100, processMetrics: false });
    const observe = metrics.observeRequest.bind(metrics);
    metrics.observeRequest = (...args) => {
      observed.push(args.slice(0, 5));
      observe(...args);
    };
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n')) if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    app = await createServer(config, { store, clock, logger: createLogger('info', sink), events: bus, metrics });
    admin = new AdminService(config, config.keySecret, store, app.core, clock);
    await admin.createEnvironment(ENV);
    const create = async (name: string, extra: Record<string, unknown> = {}) => {
      const created = await admin.createClient({ env: ENV, name, scopes: ['read', 'write'], ...extra });
      clients[name] = { id: created.client_id, secret: String(created.client_secret) };
    };
    await create('jwt');
    await create('opaque', { tokenFormat: 'opaque' });
    await create('disabled');
    await create('quota', { quota: 2 });
    await create('introspector', { introspectAny: true });
    await admin.setClientEnabled(ENV, clients.disabled?.id ?? '', false);
    address = await app.start();
  });
  after(async () => {
    agent.destroy();
    await app?.stop(1000);
    await store?.close();
  });

  /** What one request produced: the answer and what the node reported for it. */
  async function answer(sent: Sent, how: 'socket' | 'inject'): Promise<Answer> {
    const marks = [events.length, observed.length, logLines.length];
    const url = sent.url ?? `/envs/${ENV}/token`;
    let status: number;
    let headers: Record<string, string>;
    let text: string;
    if (how === 'socket') {
      ({ status, headers, text } = await post(`${address}${url}`, sent));
    } else {
      const res = await app.server.inject({ method: 'POST', url, headers: sent.headers, payload: sent.body });
      status = res.statusCode;
      headers = Object.fromEntries(Object.entries(res.headers).map(([name, value]) => [name, String(value)]));
      text = res.body;
    }
    // The observer and the logs are told once the response is finished.
    await new Promise((resolve) => setImmediate(resolve));
    return {
      status,
      headers: Object.fromEntries(Object.entries(headers).filter(([name]) => !TRANSPORT_HEADERS.has(name))),
      body: JSON.parse(text) as Record<string, unknown>,
      events: events.slice(marks[0]).map(describeEvent),
      observed: observed.slice(marks[1]).map((args) => JSON.stringify(args)),
      // Audit lines are written in the background, whenever the audit log gets to them.
      logs: logLines
        .slice(marks[2])
        .filter((line) => line.msg !== 'audit event')
        .map((line) => `${line.level} ${line.msg}`),
    };
  }

  /** The same request over a socket and through inject; returns both answers after comparing them. */
  async function bothWays(sent: Sent, compareValues = true): Promise<[Answer, Answer]> {
    const lean = await answer(sent, 'socket');
    const routed = await answer(sent, 'inject');
    assert.equal(lean.status, routed.status, `status of ${JSON.stringify(sent)}`);
    assert.deepEqual(Object.keys(lean.headers).sort(), Object.keys(routed.headers).sort(), 'header names');
    for (const name of ['cache-control', 'pragma', 'content-type', 'www-authenticate', 'retry-after', 'ratelimit-policy']) {
      assert.equal(lean.headers[name], routed.headers[name], name);
    }
    assert.equal(lean.headers['cache-control'], 'no-store');
    assert.deepEqual(Object.keys(lean.body).sort(), Object.keys(routed.body).sort(), 'body fields');
    if (compareValues && lean.status !== 200) assert.deepEqual(lean.body, routed.body);
    assert.deepEqual(lean.events, routed.events, 'events');
    assert.deepEqual(lean.observed, routed.observed, 'request metric');
    assert.deepEqual(lean.logs, routed.logs, 'log lines');
    return [lean, routed];
  }

  const token = (client: string, params: Record<string, string> = { grant_type: 'client_credentials' }): Sent => {
    const c = clients[client] ?? { id: 'gh_unknown', secret: 'nope' };
    return { body: form(params), headers: { 'content-type': FORM, authorization: basic(c.id, c.secret) } };
  };

  it('takes the lean path for a socket request and the Fastify route for inject', async () => {
    const marks = logLines.length;
    await bothWays(token('jwt'));
    const ids = logLines
      .slice(marks)
      .filter((line) => line.msg === 'incoming request')
      .map((line) => String(line.reqId));
    assert.equal(ids.length, 2);
    assert.match(ids[0] ?? '', /^lean-/);
    assert.doesNotMatch(ids[1] ?? '', /^lean-/);
  });

  it('success: a JWT and an opaque token, the same fields', async () => {
    const [lean] = await bothWays(token('jwt'));
    assert.equal(lean.status, 200);
    assert.deepEqual(lean.events, ['token.issued client_credentials']);
    assert.equal((await bothWays(token('opaque')))[0].status, 200);
  });

  it('wrong secret, unknown client and disabled client: the same 401 both ways', async () => {
    const wrong = { body: form({ grant_type: 'client_credentials' }), headers: { 'content-type': FORM, authorization: basic(clients.jwt?.id ?? '', 'wrong') } };
    for (const sent of [wrong, token('unknown'), token('disabled')]) {
      const [lean] = await bothWays(sent);
      assert.equal(lean.status, 401);
      assert.equal(lean.body.error, 'invalid_client');
      assert.equal(lean.headers['www-authenticate'], 'Basic realm="gatehouse", charset="UTF-8"');
    }
  });

  it('duplicate parameters, credentials in the header and the body, another media type, an oversize body', async () => {
    const jwt = clients.jwt ?? { id: '', secret: '' };
    const duplicate = { ...token('jwt'), body: 'grant_type=client_credentials&grant_type=client_credentials' };
    const both = { ...token('jwt'), body: form({ grant_type: 'client_credentials', client_id: jwt.id, client_secret: jwt.secret }) };
    const text = { ...token('jwt'), headers: { 'content-type': 'text/plain', authorization: basic(jwt.id, jwt.secret) } };
    const oversize = { ...token('jwt'), body: `grant_type=client_credentials&pad=${'x'.repeat(BODY_LIMIT)}` };
    const expected = [400, 400, 400, 413];
    for (const [i, sent] of [duplicate, both, text, oversize].entries()) assert.equal((await bothWays(sent))[0].status, expected[i]);
  });

  it('a quota: the same RateLimit fields, then the same 429', async () => {
    const first = await answer(token('quota'), 'socket');
    const second = await answer(token('quota'), 'inject');
    assert.equal(first.headers.ratelimit?.replace(/r=\d+/, ''), second.headers.ratelimit?.replace(/r=\d+/, ''));
    assert.deepEqual([first.status, second.status], [200, 200]);
    const [lean, routed] = await bothWays(token('quota'));
    assert.equal(lean.status, 429);
    assert.equal(lean.headers.ratelimit, routed.headers.ratelimit);
  });

  it('the database down: 503 with Retry-After both ways', async () => {
    failInserts = true;
    try {
      const [lean] = await bothWays(token('opaque'));
      assert.equal(lean.status, 503);
      assert.equal(lean.body.error, 'temporarily_unavailable');
      assert.ok(lean.headers['retry-after']);
    } finally {
      failInserts = false;
    }
  });

  it('client_secret_post, a JSON body and introspection', async () => {
    const jwt = clients.jwt ?? { id: '', secret: '' };
    await bothWays({ body: form({ grant_type: 'client_credentials', client_id: jwt.id, client_secret: jwt.secret }), headers: { 'content-type': FORM } });
    await bothWays({
      body: JSON.stringify({ grant_type: 'client_credentials' }),
      headers: { 'content-type': 'application/json', authorization: basic(jwt.id, jwt.secret) },
    });
    const issued = await answer(token('jwt'), 'inject');
    const introspector = clients.introspector ?? { id: '', secret: '' };
    const [lean] = await bothWays({
      url: `/envs/${ENV}/introspect`,
      body: form({ token: String(issued.body.access_token) }),
      headers: { 'content-type': FORM, authorization: basic(introspector.id, introspector.secret) },
    });
    assert.equal(lean.body.active, true);
  });

  it('any mix of parameters, credentials and media types gets the same answer both ways', async () => {
    const jwt = clients.jwt ?? { id: '', secret: '' };
    const param = fc.tuple(
      fc.constantFrom('grant_type', 'scope', 'client_id', 'client_secret', 'resource', 'code', 'x'),
      fc.constantFrom('client_credentials', 'authorization_code', 'read', 'write', 'bogus', jwt.id, jwt.secret, ''),
    );
    const request = fc.record({
      params: fc.array(param, { maxLength: 5 }),
      auth: fc.constantFrom('none', 'good', 'wrong', 'malformed', 'bearer'),
      media: fc.constantFrom(FORM, `${FORM}; charset=UTF-8`, 'application/json', 'text/plain', ''),
      url: fc.constantFrom(`/envs/${ENV}/token`, `/envs/${ENV}/revoke`, '/envs/NOWHERE/token'),
    });
    await fc.assert(
      fc.asyncProperty(request, async ({ params, auth, media, url }) => {
        const body =
          media === 'application/json' ? JSON.stringify(Object.fromEntries(params)) : params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
        const headers: Record<string, string> = {};
        if (media) headers['content-type'] = media;
        if (auth === 'good') headers.authorization = basic(jwt.id, jwt.secret);
        if (auth === 'wrong') headers.authorization = basic(jwt.id, 'wrong');
        if (auth === 'malformed') headers.authorization = 'Basic !!!';
        if (auth === 'bearer') headers.authorization = 'Bearer abc';
        await bothWays({ url, body, headers });
      }),
      { numRuns: 60 },
    );
  });

  // Last: draining turns the lean path off for good.
  it('while draining, the lean path steps aside: Fastify answers with Connection: close', async () => {
    app.drain();
    const marks = logLines.length;
    const { status, headers } = await post(`${address}/envs/${ENV}/token`, token('jwt'));
    assert.equal(status, 200);
    assert.equal(headers.connection, 'close');
    const ids = logLines
      .slice(marks)
      .filter((line) => line.msg === 'incoming request')
      .map((line) => String(line.reqId));
    assert.equal(ids.length, 1);
    assert.doesNotMatch(ids[0] ?? '', /^lean-/);
  });
});

/** A POST with exactly these headers (fetch would add a content type of its own). */
function post(url: string, sent: Sent): Promise<{ status: number; headers: Record<string, string>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { ...sent.headers, 'content-length': String(Buffer.byteLength(sent.body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const headers = Object.fromEntries(Object.entries(res.headers).map(([name, value]) => [name, String(value)]));
        resolve({ status: res.statusCode ?? 0, headers, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.on('error', reject);
    req.end(sent.body);
  });
}

const agent = new Agent({ keepAlive: true });

function describeEvent(event: CoreEvent): string {
  const e = event as unknown as Record<string, unknown>;
  return [e.type, e.grantType, e.code, e.reason, e.throttled].filter((v) => v !== undefined).join(' ');
}
