import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Store } from '../../src/domain/storage.ts';
import { type CodeFlowFixture, ENV, obtainCode, REDIRECT_URI, setUpCodeFlow } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { buildTestApp, type TestApp } from '../helpers/fixtures.ts';

/**
 * A TCP proxy in front of Gatehouse that loses every answer: it forwards the request, keeps what
 * the server sends back (to compare with later) and resets the client's connection instead of
 * passing it on — a network failure after the server answered.
 */
async function startAnswerLosingProxy(targetPort: number): Promise<{ url: string; lost: Promise<string>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let keep: (answer: string) => void = () => {};
  const lost = new Promise<string>((resolve) => {
    keep = resolve;
  });
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.pipe(upstream);
    let received = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      // The server has answered: the client never hears of it.
      client.resetAndDestroy();
      received = Buffer.concat([received, chunk]);
      const text = received.toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? Number.NaN);
      if (end >= 0 && Buffer.byteLength(text.slice(end + 4)) >= length) keep(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('the proxy did not bind');
  return {
    url: `http://127.0.0.1:${address.port}`,
    lost,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const form = (params: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(params).toString(),
});

for (const database of await testDatabases()) {
  describe(`a refresh answer lost on the network, over a real listener on ${database.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let t: TestApp;
    let fixture: CodeFlowFixture;
    let base: string;

    before(async () => {
      ({ store, cleanup } = await database.open());
      t = await buildTestApp(store, { passwordHashCost: 10, loginAddressLimit: 10_000 });
      base = await t.app.start();
      fixture = await setUpCodeFlow(t);
    });
    after(async () => {
      await t.app.stop();
      await cleanup();
    });

    const credentials = () => ({ client_id: fixture.clientId, client_secret: fixture.clientSecret });

    it('keeps the user signed in: the retry gets the answer that was lost, and the session goes on', async () => {
      const { code, verifier } = await obtainCode(t, fixture);
      const exchanged = await fetch(
        `${base}/envs/${ENV}/token`,
        form({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI, ...credentials() }),
      );
      assert.equal(exchanged.status, 200);
      const first = (await exchanged.json()) as { refresh_token: string };

      const proxy = await startAnswerLosingProxy(Number(new URL(base).port));
      try {
        const refresh = form({ grant_type: 'refresh_token', refresh_token: first.refresh_token, ...credentials() });
        await assert.rejects(fetch(`${proxy.url}/envs/${ENV}/token`, refresh), 'the client never gets the answer');
        const lost = await proxy.lost;
        assert.match(lost, /^HTTP\/1\.1 200 /);
        const lostTokens = JSON.parse(lost.slice(lost.indexOf('\r\n\r\n') + 4)) as { access_token: string; refresh_token: string };

        // The client notices the failure and sends the same request again, a moment later.
        t.clock.advance(1_000);
        const retried = await fetch(`${base}/envs/${ENV}/token`, refresh);
        assert.equal(retried.status, 200);
        assert.equal(retried.headers.get('cache-control'), 'no-store');
        const tokens = (await retried.json()) as { access_token: string; refresh_token: string };
        assert.equal(tokens.access_token, lostTokens.access_token);
        assert.equal(tokens.refresh_token, lostTokens.refresh_token);

        const introspection = await fetch(`${base}/envs/${ENV}/introspect`, form({ token: tokens.access_token, ...credentials() }));
        assert.equal(((await introspection.json()) as { active: boolean }).active, true);
        t.clock.advance(60_000);
        const next = await fetch(`${base}/envs/${ENV}/token`, form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, ...credentials() }));
        assert.equal(next.status, 200, 'still signed in');
      } finally {
        await proxy.close();
      }
    });
  });
}
