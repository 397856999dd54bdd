import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditEntry, consoleOperatorOf, usageFromCounts } from '../../src/console/providers.ts';
import { ManualClock } from '../../src/domain/clock.ts';

describe('console providers', () => {
  it('fill every day of the chart, oldest first, asking the store for exactly that range', async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 3, 23, 59));
    const asked: string[][] = [];
    const usage = usageFromCounts(async (env, clientId, from, to) => {
      asked.push([env, clientId, from, to]);
      return new Map([
        ['2026-06-01', 4],
        ['2026-06-03', 9],
      ]);
    }, clock);
    assert.deepEqual(await usage.tokensPerDay('DEV', 'gh_1', 4), [
      { day: '2026-05-31', count: 0 },
      { day: '2026-06-01', count: 4 },
      { day: '2026-06-02', count: 0 },
      { day: '2026-06-03', count: 9 },
    ]);
    assert.deepEqual(asked, [['DEV', 'gh_1', '2026-05-31', '2026-06-03']]);
  });

  it('turn an audit event into text, leaving its details out', () => {
    const entry = auditEntry({
      time: Date.UTC(2026, 5, 1, 12),
      type: 'client.secret_rotated',
      environment: null,
      actor: { kind: 'admin_client', id: 'gh_admin' },
      subject: { kind: 'client', id: 'gh_1' },
      outcome: 'success',
      ...{ details: { secret_id: 'x' } },
    });
    assert.deepEqual(entry, {
      at: '2026-06-01T12:00:00.000Z',
      type: 'client.secret_rotated',
      environment: undefined,
      actor: 'admin_client gh_admin',
      target: 'client gh_1',
      outcome: 'success',
    });
  });

  it('show a console operator by name, keeping the recorded actor beside it', () => {
    const event = {
      time: Date.UTC(2026, 5, 1, 12),
      type: 'client.secret_revoked',
      environment: { name: 'STAGING' },
      actor: { kind: 'admin_client', id: 'gh_console/usr_1' },
      subject: { kind: 'client', id: 'gh_1' },
      outcome: 'success',
    };
    assert.equal(consoleOperatorOf(event.actor), 'usr_1');
    const entry = auditEntry(event, 'Dana Ops (dana)');
    assert.equal(entry.actor, 'Dana Ops (dana)');
    assert.equal(entry.actorId, 'admin_client gh_console/usr_1');
    assert.equal(auditEntry(event).actor, 'admin_client gh_console/usr_1', 'no name known: as recorded');
    assert.equal('actorId' in auditEntry(event), false);
    for (const actor of [
      { kind: 'admin_client', id: 'gh_adminapi' },
      { kind: 'system', id: 'console/usr_1' },
      { kind: 'admin_client', id: '/usr_1' },
      { kind: 'admin_client', id: 'gh_console/' },
    ]) {
      assert.equal(consoleOperatorOf(actor), undefined, `${actor.kind} ${actor.id} is no console operator`);
    }
  });
});
