import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { AdminService } from '../../src/admin/admin-service.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import type { Environment, User } from '../../src/domain/model.ts';
import type { Store } from '../../src/domain/storage.ts';
import { createLogger } from '../../src/server/logger.ts';
import { createServer } from '../../src/server/server.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, type TestApp, testConfig } from '../helpers/fixtures.ts';
import { createOidcClient, createOidcEnv, createProfileUser, insertCode, OIDC_REDIRECT_URI, type OidcClient, signInOidc } from '../helpers/openid.ts';

const ENV = 'LEAN_OIDC';
const TRANSPORT_HEADERS = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

function post(url: string, body: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: Object.fromEntries(Object.entries(res.headers).map(([name, value]) => [name, String(value)])),
          body: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>,
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

for (const database of await testDatabases()) {
  describe(`the ID Token comes out of the lean path and the Fastify route alike on ${database.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let t: TestApp;
    let address: string;
    let env: Environment;
    let rp: OidcClient;
    let user: User;
    const logLines: Record<string, unknown>[] = [];

    before(async () => {
      ({ store, cleanup } = await database.open());
      const config = testConfig({ host: '127.0.0.1' });
      const clock = new ManualClock(Date.UTC(2026, 5, 1, 12, 0, 0));
      const sink = new Writable({
        write(chunk, _encoding, done) {
          for (const line of String(chunk).split('\n')) if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
          done();
        },
      });
      const app = await createServer(config, { store, clock, logger: createLogger('info', sink) });
      t = { app, admin: new AdminService(config, config.keySecret, store, app.core, clock), clock, config, store };
      env = await createOidcEnv(t, ENV);
      rp = await createOidcClient(t, ENV);
      user = await createProfileUser(t, env.id);
      address = await app.start();
    });
    after(async () => {
      await t?.app.stop(1000);
      await cleanup?.();
    });

    const redeemWith = async (how: 'socket' | 'inject', grant: Record<string, string>): Promise<Answer> => {
      const headers = { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(rp.clientId, rp.secret) };
      const url = `/envs/${ENV}/token`;
      if (how === 'socket') return post(`${address}${url}`, form(grant), headers);
      const res = await t.app.server.inject({ method: 'POST', url, headers, payload: form(grant) });
      return {
        status: res.statusCode,
        headers: Object.fromEntries(Object.entries(res.headers).map(([name, value]) => [name, String(value)])),
        body: res.json() as Record<string, unknown>,
      };
    };

    it('answers a code and a refresh with the same fields, headers and ID Token shape both ways', async () => {
      const answers: Record<'socket' | 'inject', Answer[]> = { socket: [], inject: [] };
      for (const how of ['socket', 'inject'] as const) {
        const marks = logLines.length;
        const code = await insertCode(t, { envId: env.id, clientId: rp.clientId, userId: user.userId, scope: ['openid', 'profile'], oidc: signInOidc(t) });
        const redeemed = await redeemWith(how, {
          grant_type: 'authorization_code',
          code: code.code,
          code_verifier: code.verifier,
          redirect_uri: OIDC_REDIRECT_URI,
        });
        const refreshed = await redeemWith(how, { grant_type: 'refresh_token', refresh_token: String(redeemed.body.refresh_token) });
        answers[how].push(redeemed, refreshed);
        // The socket requests took the lean path (its request ids), inject the Fastify route.
        const ids = logLines
          .slice(marks)
          .filter((line) => line.msg === 'incoming request')
          .map((line) => String(line.reqId));
        assert.equal(ids.length, 2);
        for (const id of ids) (how === 'socket' ? assert.match : assert.doesNotMatch)(id, /^lean-/);
      }
      for (const [i, lean] of answers.socket.entries()) {
        const routed = answers.inject[i] as Answer;
        assert.equal(lean.status, 200, JSON.stringify(lean.body));
        assert.equal(routed.status, 200, JSON.stringify(routed.body));
        const names = (a: Answer) =>
          Object.keys(a.headers)
            .filter((name) => !TRANSPORT_HEADERS.has(name))
            .sort();
        assert.deepEqual(names(lean), names(routed));
        for (const name of ['cache-control', 'pragma', 'content-type']) assert.equal(lean.headers[name], routed.headers[name], name);
        assert.deepEqual(Object.keys(lean.body).sort(), Object.keys(routed.body).sort());
        assert.ok(typeof lean.body.id_token === 'string');
        const leanId = String(lean.body.id_token);
        const routedId = String(routed.body.id_token);
        assert.deepEqual(Object.keys(decodeProtectedHeader(leanId)).sort(), Object.keys(decodeProtectedHeader(routedId)).sort());
        assert.deepEqual(decodeProtectedHeader(leanId), decodeProtectedHeader(routedId));
        const [a, b] = [decodeJwt(leanId), decodeJwt(routedId)];
        assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
        for (const claim of ['iss', 'sub', 'aud', 'exp', 'iat', 'amr']) assert.deepEqual(a[claim], b[claim], claim);
      }
    });
  });
}
