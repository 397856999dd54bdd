import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { httpRequest, productionServer, tokenRequest } from '../helpers/production-server.ts';

const RATE_PER_S = 100;
const DRAIN_S = 2;

/**
 * SIGTERM under keep-alive load: /readyz turns 503 at once, every request sent until the load
 * balancer reacts (here 1 s after the signal, inside the 2 s drain period) is answered, keep-alive
 * connections are closed with `Connection: close`, and the process exits 0.
 */
const CASES = [
  { workers: 1, how: 'SIGTERM to the process' },
  { workers: 2, how: 'SIGTERM to the primary' },
  // systemd's default, init wrappers, `kill -TERM -PGID`: every worker gets the signal twice (from
  // the group and from the primary), and the primary a second one too.
  { workers: 2, how: 'SIGTERM to the whole process group, then again to the primary' },
] as const;

for (const { workers, how } of CASES) {
  describe(`graceful shutdown with ${workers} worker${workers > 1 ? 's' : ''}: ${how}`, () => {
    it('answers every request sent around the signal, with zero failures, and exits 0', async () => {
      const server = await productionServer({ GATEHOUSE_DRAIN_PERIOD: String(DRAIN_S) });
      const agent = new Agent({ keepAlive: true, maxSockets: 16 });
      try {
        await server.cli(['env', 'create', 'LOAD']);
        const created = JSON.parse(await server.cli(['client', 'create', '--env', 'LOAD', '--name', 'load', '--json'])) as {
          client_id: string;
          client_secret: string;
        };
        const client = { id: created.client_id, secret: created.client_secret };
        await server.start(workers);

        const outcomes: Promise<{ ok: boolean; closed: boolean; detail: string }>[] = [];
        const send = () =>
          outcomes.push(
            tokenRequest(server.baseUrl, 'LOAD', client, agent).then(
              (res) => ({ ok: res.status === 200, closed: res.headers.connection === 'close', detail: `${res.status} ${res.body.slice(0, 120)}` }),
              (error: Error) => ({ ok: false, closed: false, detail: error.message }),
            ),
          );
        // An open-loop load at a fixed rate: 1 s before the signal, 1 s after it. Requests due by
        // the elapsed time are sent even when a timer fires late (a loaded machine), so each phase
        // sends its full count.
        const sendFor = async (ms: number) => {
          const start = Date.now();
          const total = Math.round((ms * RATE_PER_S) / 1000);
          for (let sent = 0; sent < total; ) {
            const due = Math.min(total, Math.floor(((Date.now() - start) * RATE_PER_S) / 1000) + 1);
            for (; sent < due; sent++) send();
            await delay(1000 / RATE_PER_S);
          }
        };
        await sendFor(1000);
        const group = how.includes('group');
        const exit = server.signal('SIGTERM', { group });
        if (group) setTimeout(() => process.kill(server.pid, 'SIGTERM'), 300).unref();
        const readyAfterSignal = await (async () => {
          // The signal reaches the process asynchronously: the first answer after it may still be 200.
          for (let i = 0; i < 20; i++) {
            const res = await httpRequest(`${server.baseUrl}/readyz`);
            if (res.status === 503) return res;
            await delay(20);
          }
          return httpRequest(`${server.baseUrl}/readyz`);
        })();
        await sendFor(1000);
        const results = await Promise.all(outcomes);
        const { code, signal } = await exit;

        assert.equal(readyAfterSignal.status, 503, readyAfterSignal.body);
        assert.equal(JSON.parse(readyAfterSignal.body).status, 'draining');
        const failures = results.filter((r) => !r.ok);
        assert.deepEqual(failures, [], `${failures.length} of ${results.length} requests failed`);
        assert.ok(results.length >= 150, `only ${results.length} requests were sent`);
        assert.ok(
          results.some((r) => r.closed),
          'responses during the drain carry Connection: close',
        );
        assert.equal(signal, null);
        assert.equal(code, 0, server.stderr());
      } finally {
        agent.destroy();
        await server.dispose();
      }
    });
  });
}
