import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { AdminError } from '../../src/admin/admin-service.ts';
import { adminApiBase, RemoteAdminError, remoteCredentials, remoteServices } from '../../src/cli/remote-admin.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string> };

/** A stand-in admin API on 127.0.0.1: answers from a queue and records what it was sent. */
describe('the admin API client behind --server', { timeout: 10_000 }, () => {
  let server: Server;
  let base: string;
  let seen: Seen[];
  let answers: Answer[];

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        const answer = answers.shift() ?? { status: 500 };
        const type = answer.status >= 400 ? 'application/problem+json' : 'application/json';
        res.writeHead(answer.status, { 'content-type': type, ...answer.headers });
        res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    seen = [];
    answers = [];
  });

  const services = () => remoteServices(base, { token: 'tok' });
  const problem = (status: number, type: string, detail: string): Answer => ({
    status,
    body: { type: `/admin/v1/problems/${type}`, title: type, status, detail },
  });

  it('updates under the ETag it read, and turns a 412 into a clear conflict', async () => {
    const client = { client_id: 'gh_a', enabled: true };
    answers.push({ status: 200, body: client, headers: { etag: '"v1"' } }, problem(412, 'precondition-failed', 'the resource changed since it was read'));
    await assert.rejects(services().admin.setClientEnabled('PROD', 'gh_a', false), (error: unknown) => {
      assert.ok(error instanceof AdminError);
      assert.equal(error.kind, 'conflict');
      assert.match(error.message, /changed meanwhile: run the command again/);
      return true;
    });
    assert.deepEqual(
      seen.map((s) => [s.method, s.url, s.headers['if-match'], s.headers.authorization]),
      [
        ['GET', '/admin/v1/environments/PROD/clients/gh_a', undefined, 'Bearer tok'],
        ['PATCH', '/admin/v1/environments/PROD/clients/gh_a', '"v1"', 'Bearer tok'],
      ],
    );
    assert.deepEqual(JSON.parse(seen[1]?.body ?? ''), { enabled: false });
  });

  it('maps problems to the errors the local services throw', async () => {
    answers.push(problem(404, 'not-found', 'no environment nowhere'), problem(409, 'conflict', 'environment PROD already exists'));
    answers.push(problem(422, 'invalid-value', 'unknown grant type password'), problem(403, 'insufficient-scope', 'this operation needs admin:write'));
    const { admin } = services();
    const kinds = [];
    for (const call of [
      () => admin.listEnvironments(),
      () => admin.createEnvironment('PROD'),
      () => admin.createEnvironment('x'),
      () => admin.createEnvironment('y'),
    ]) {
      const error = await call().then(
        () => assert.fail('refused'),
        (e: unknown) => e as Error,
      );
      kinds.push(error instanceof AdminError ? `${error.kind}: ${error.message}` : `${error.name}: ${error.message}`);
    }
    assert.deepEqual(kinds, [
      'not_found: no environment nowhere',
      'conflict: environment PROD already exists',
      'invalid_argument: unknown grant type password',
      'RemoteAdminError: not allowed: the admin token lacks a scope (this operation needs admin:write)',
    ]);
  });

  it('sends an Idempotency-Key with a create and the same one on its retry after a 503', async () => {
    answers.push({ status: 503, body: { detail: 'the database is unavailable' } }, { status: 201, body: { name: 'PROD' } });
    assert.deepEqual(await services().admin.createEnvironment('PROD'), { name: 'PROD' });
    assert.equal(seen.length, 2);
    const [first, second] = seen.map((s) => s.headers['idempotency-key']);
    assert.ok(typeof first === 'string' && first.length > 0);
    assert.equal(second, first);
  });

  it('follows next_cursor to read a whole list', async () => {
    answers.push({ status: 200, body: { items: [{ name: 'a' }], next_cursor: 'c1' } }, { status: 200, body: { items: [{ name: 'b' }], next_cursor: null } });
    assert.deepEqual(await services().admin.listEnvironments(), [{ name: 'a' }, { name: 'b' }]);
    assert.deepEqual(
      seen.map((s) => s.url),
      ['/admin/v1/environments?limit=200', '/admin/v1/environments?limit=200&cursor=c1'],
    );
  });

  it('reads credentials from the environment only, and finds the token endpoint', () => {
    assert.deepEqual(remoteCredentials({ GATEHOUSE_ADMIN_TOKEN: 'tok' }, { publicUrl: undefined, adminEnvironment: 'gatehouse-admin' }), { token: 'tok' });
    assert.deepEqual(
      remoteCredentials(
        { GATEHOUSE_ADMIN_CLIENT_ID: 'gh_a', GATEHOUSE_ADMIN_CLIENT_SECRET: 's' },
        { publicUrl: 'https://auth.example.test/', adminEnvironment: 'ops' },
      ),
      { clientId: 'gh_a', clientSecret: 's', tokenUrl: 'https://auth.example.test/envs/ops/token' },
    );
    assert.throws(() => remoteCredentials({ GATEHOUSE_ADMIN_CLIENT_ID: 'gh_a' }, { publicUrl: undefined, adminEnvironment: 'x' }), RemoteAdminError);
    assert.throws(
      () => remoteCredentials({ GATEHOUSE_ADMIN_CLIENT_ID: 'gh_a', GATEHOUSE_ADMIN_CLIENT_SECRET: 's' }, { publicUrl: undefined, adminEnvironment: 'x' }),
      /GATEHOUSE_ADMIN_TOKEN_URL/,
    );
    assert.equal(adminApiBase('http://127.0.0.1:9090/admin/v1/'), 'http://127.0.0.1:9090/admin/v1');
    assert.throws(() => adminApiBase('ftp://x'), /must be an http\(s\) URL/);
  });
});
