import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../helpers/net.ts';
import { type ProductionServer, productionServer } from '../helpers/production-server.ts';

/**
 * `serve --workers 2` with an admin port and no GATEHOUSE_CONSOLE_CLIENT_SECRET: the console
 * client gets its secret from the primary, once, so every worker signs the console in with the
 * same one. Were each worker to give it a secret of its own, only the last would work.
 */
describe('the web console under `serve --workers 2`', () => {
  let server: ProductionServer;

  before(async () => {
    server = await productionServer({ GATEHOUSE_ADMIN_PORT: String(await freePort()), GATEHOUSE_DRAIN_PERIOD: '0' });
    await server.cli(['admin', 'bootstrap']);
  });

  after(async () => {
    await server?.dispose();
  });

  const consoleClients = async () =>
    (JSON.parse(await server.cli(['client', 'list', '--env', 'gatehouse-admin', '--json'])) as Array<{ name: string; client_id: string }>).filter(
      (c) => c.name === 'Gatehouse console',
    );
  const rotations = async (clientId: string) =>
    (JSON.parse(await server.cli(['audit', 'list', '--type', 'client.secret_rotated', '--json'])) as Array<{ subject: { id: string } }>).filter(
      (e) => e.subject.id === clientId,
    ).length;

  it('gives the console client one secret for all workers, at each start', async () => {
    await server.start(2);
    const [client, ...more] = await consoleClients();
    assert.ok(client, 'the console client was created');
    assert.deepEqual(more, []);
    assert.equal(await rotations(client.client_id), 0, 'created by the primary, rotated by no worker');
    assert.equal((await server.signal('SIGTERM')).code, 0, server.stderr());

    // A restart knows no secret: the primary gives the client a new one, once.
    await server.start(2);
    assert.equal((await consoleClients()).length, 1);
    assert.equal(await rotations(client.client_id), 1);
    assert.equal((await server.signal('SIGTERM')).code, 0, server.stderr());
  });
});
