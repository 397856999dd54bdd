import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { AuditRecorder, NO_AUDIT_LINES } from '../../src/audit/recorder.ts';
import { ensureConsoleClient } from '../../src/console/bootstrap.ts';
import type { ConsoleDeps, ConsoleGrant } from '../../src/console/deps.ts';
import { registerConsole } from '../../src/console/routes.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import { type AdminServices, createAdminServices } from '../../src/server/admin.ts';
import { auditWithOperators, operatorName } from '../../src/server/console.ts';
import { testDatabases } from '../helpers/databases.ts';
import { testConfig } from '../helpers/fixtures.ts';

const ISSUER = 'https://auth.example.test/envs/MANAGEMENT';
const REDIRECT = 'http://127.0.0.1:9000/console/callback';
const API = 'https://api.example.test/';

/**
 * The console as an operator sees it, over real audited admin services on each database: their
 * name, the environments their scopes allow, every change recorded with them as actor, and the
 * pages for APIs, quotas and the key-rotation schedule.
 */
for (const database of await testDatabases()) {
  describe(`web console for an operator on ${database.name}`, () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
    const config = testConfig({ passwordHashCost: 10 });
    let store: Store;
    let cleanup: () => Promise<void>;
    let system: AdminServices;
    let audit: AuditRecorder;
    let app: FastifyInstance;
    let consoleClientId: string;
    let aliceId: string;
    let webClient: string;
    const grants = new Map<string, ConsoleGrant>();
    const codes = new Map<string, string>();

    before(async () => {
      ({ store, cleanup } = await database.open());
      audit = new AuditRecorder(store.audit, clock, NO_AUDIT_LINES, { outbox: false });
      system = createAdminServices(config, store, clock, undefined, { audit, actor: { kind: 'system', id: 'console' } });
      for (const env of ['MANAGEMENT', 'STAGING', 'PROD']) await system.admin.createEnvironment(env);
      aliceId = (
        await system.users.create({ env: 'MANAGEMENT', username: 'alice', password: 'correct horse battery staple', profile: { name: 'Alice Example' } })
      ).user_id;
      webClient = (await system.admin.createClient({ env: 'STAGING', name: 'web', scopes: ['orders:read'] })).client_id;
      await system.admin.rotateClientSecret('STAGING', webClient, 3600);
      const ensured = await ensureConsoleClient(system.admin, 'MANAGEMENT', REDIRECT);
      consoleClientId = ensured.clientId;
      const deps: ConsoleDeps = {
        clock,
        issuer: ISSUER,
        client: { clientId: consoleClientId, clientSecret: ensured.clientSecret ?? '', redirectUri: REDIRECT },
        async exchangeCode(request) {
          const token = codes.get(request.code);
          if (!token) throw new Error('invalid_grant');
          return { accessToken: token };
        },
        authorize: async (token) => grants.get(token),
        cookieSecret: randomBytes(32),
        servicesFor: (operator) =>
          createAdminServices(config, store, clock, undefined, { audit, actor: { kind: 'admin_client', id: `${operator.clientId}/${operator.subject}` } }),
        operatorName: (subject) => operatorName(store, 'MANAGEMENT', subject),
        audit: auditWithOperators(store, 'MANAGEMENT'),
      };
      app = Fastify();
      await registerConsole(app, deps);
      await app.ready();
    });
    after(async () => {
      await app?.close();
      await cleanup?.();
    });

    const cookieOf = (response: LightMyRequestResponse, name: string): string | undefined =>
      [response.headers['set-cookie'] ?? []]
        .flat()
        .find((c) => c.startsWith(`${name}=`))
        ?.split(';')[0];

    async function signIn(subject: string, scopes: string[]): Promise<string> {
      const start = await app.inject({ method: 'GET', url: '/console/' });
      const state = new URL(String(start.headers.location)).searchParams.get('state') ?? '';
      const code = `code-${randomBytes(6).toString('hex')}`;
      const token = `token-${randomBytes(6).toString('hex')}`;
      codes.set(code, token);
      grants.set(token, { subject, clientId: consoleClientId, scopes });
      const back = await app.inject({
        method: 'GET',
        url: `/console/callback?code=${code}&state=${encodeURIComponent(state)}&iss=${encodeURIComponent(ISSUER)}`,
        headers: { cookie: cookieOf(start, 'gatehouse_console_signin') ?? '' },
      });
      assert.equal(back.statusCode, 303, back.body);
      const session = cookieOf(back, 'gatehouse_console');
      assert.ok(session);
      return session;
    }

    const get = (session: string, url: string) => app.inject({ method: 'GET', url, headers: { cookie: session } });
    const csrfOf = (html: string): string => /name="csrf_token" value="([^"]+)"/.exec(html)?.[1] ?? '';
    async function post(session: string, url: string, fields: Record<string, string | string[]>, csrfFrom?: string): Promise<LightMyRequestResponse> {
      const body = new URLSearchParams();
      for (const [name, value] of Object.entries(fields)) for (const v of [value].flat()) body.append(name, v);
      if (csrfFrom !== undefined) body.set('csrf_token', csrfOf((await get(session, csrfFrom)).body));
      return app.inject({ method: 'POST', url, headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' }, body: body.toString() });
    }
    const lastEvent = async (type: string) => (await store.audit.list({ type, limit: 1 } as Parameters<Store['audit']['list']>[0]))[0];

    it('shows the operator by name, not by user id', async () => {
      const session = await signIn(aliceId, ['admin:read', 'admin:write']);
      const page = await get(session, '/console/envs');
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /<span class="who">Alice Example \(alice\)<\/span>/);
      assert.doesNotMatch(page.body, new RegExp(aliceId));
      const unknown = await get(await signIn('usr_gone', ['admin:read']), '/console/envs');
      assert.match(unknown.body, /<span class="who">usr_gone \(read only\)<\/span>/, 'a subject that is no user is shown as it is');
    });

    it('shows and changes only the environment an admin:write:ENV operator is given', async () => {
      const session = await signIn(aliceId, ['admin:write:STAGING']);
      const list = await get(session, '/console/envs');
      assert.equal(list.statusCode, 200);
      assert.match(list.body, /href="\/console\/envs\/STAGING"/);
      assert.doesNotMatch(list.body, /PROD|MANAGEMENT<\/a>/);
      assert.doesNotMatch(list.body, /New environment/, 'creating an environment needs admin:write for all');
      assert.doesNotMatch(list.body, /Audit events/, 'the audit log spans every environment');
      const other = await get(session, '/console/envs/PROD/clients');
      assert.equal(other.statusCode, 403);
      assert.match(other.body, /may not see environment PROD: it needs admin:read or admin:read:PROD/);
      assert.equal((await get(session, '/console/audit')).statusCode, 403);
      const own = await get(session, '/console/envs/STAGING/quotas');
      assert.equal(own.statusCode, 200);
      assert.match(own.body, /Save default quota/);
      const csrf = csrfOf(own.body);
      const refused = await post(session, '/console/envs/PROD/quotas', { csrf_token: csrf, default_quota: '5', default_quota_was: '' });
      assert.equal(refused.statusCode, 403);
      assert.match(refused.body, /may not change environment PROD: it needs admin:write or admin:write:PROD/);
      assert.equal((await system.admin.getEnvironment('PROD')).default_quota, null);
      const create = await post(session, '/console/envs', { csrf_token: csrf, name: 'NEW' });
      assert.equal(create.statusCode, 403);
      const saved = await post(session, '/console/envs/STAGING/quotas', { csrf_token: csrf, default_quota: '500', default_quota_was: '' });
      assert.equal(saved.statusCode, 303, saved.body);
      assert.equal((await system.admin.getEnvironment('STAGING')).default_quota, 500);
    });

    it('lets an admin:read:ENV operator read that environment only, without forms', async () => {
      const session = await signIn(aliceId, ['admin:read:STAGING']);
      const page = await get(session, '/console/envs/STAGING/apis');
      assert.equal(page.statusCode, 200);
      assert.doesNotMatch(page.body, /New API/);
      const refused = await post(session, '/console/envs/STAGING/rotation', { csrf_token: csrfOf(page.body), interval_seconds: '86400', interval_was: '' });
      assert.equal(refused.statusCode, 403);
      assert.match(refused.body, /Read only/);
      assert.equal((await get(session, '/console/envs/PROD/apis')).statusCode, 403);
    });

    it('records a secret revocation, and every other change, with the operator as actor', async () => {
      const session = await signIn(aliceId, ['admin:write']);
      const page = `/console/envs/STAGING/clients/${webClient}`;
      const [older] = [...(await system.admin.listClientSecrets('STAGING', webClient))].sort((a, b) => (a.created_at < b.created_at ? -1 : 1));
      assert.ok(older);
      const done = await post(session, `${page}/secrets/revoke`, { secret_id: older.id }, page);
      assert.equal(done.statusCode, 303, done.body);
      const actor = { kind: 'admin_client', id: `${consoleClientId}/${aliceId}` };
      assert.deepEqual((await lastEvent('client.secret_revoked'))?.actor, actor);
      assert.deepEqual((await lastEvent('environment.quota_changed'))?.actor, { kind: 'admin_client', id: `${consoleClientId}/${aliceId}` });
    });

    it('names the operator on the audit page, by name and username, leaving the stored actor as recorded', async () => {
      const as = (id: string) => createAdminServices(config, store, clock, undefined, { audit, actor: { kind: 'admin_client', id } });
      const bob = (await system.users.create({ env: 'MANAGEMENT', username: 'bob', password: 'correct horse battery staple' })).user_id;
      await as(`${consoleClientId}/${aliceId}`).admin.setClientEnabled('STAGING', webClient, false);
      await as(`${consoleClientId}/${bob}`).admin.setClientEnabled('STAGING', webClient, true);
      await as(`${consoleClientId}/usr_gone`).admin.setClientEnabled('STAGING', webClient, true);
      await as('gh_adminapi').admin.setClientEnabled('STAGING', webClient, true);

      const recent = await auditWithOperators(store, 'MANAGEMENT').recent({ limit: 10, environment: 'STAGING' });
      const actors = recent.map((ev) => [ev.actor, ev.actorId]);
      assert.deepEqual(
        actors.find(([, id]) => id === `admin_client ${consoleClientId}/${aliceId}`),
        ['Alice Example (alice)', `admin_client ${consoleClientId}/${aliceId}`],
      );
      assert.deepEqual(
        actors.find(([, id]) => id === `admin_client ${consoleClientId}/${bob}`),
        ['bob', `admin_client ${consoleClientId}/${bob}`],
        'no profile name: the username',
      );
      assert.ok(
        actors.some(([actor, id]) => actor === 'admin_client gh_adminapi' && id === undefined),
        'any other actor as recorded',
      );
      assert.ok(
        actors.some(([actor, id]) => actor === `admin_client ${consoleClientId}/usr_gone` && id === undefined),
        'a user id that is no user of the management environment: the actor as recorded',
      );

      const page = await get(await signIn(aliceId, ['admin:read']), '/console/audit');
      assert.equal(page.statusCode, 200);
      assert.match(page.body, new RegExp(`<td>Alice Example \\(alice\\)<span class="mono actor-id">admin_client ${consoleClientId}/${aliceId}</span></td>`));
      assert.match(page.body, /<td>admin_client gh_adminapi<\/td>/);
      const filtered = await get(await signIn(aliceId, ['admin:read']), `/console/audit?q=${aliceId}`);
      assert.match(filtered.body, /Alice Example \(alice\)/, 'the filter still finds the recorded actor');
      assert.doesNotMatch(filtered.body, /gh_adminapi/);
      // The stored event keeps the recorded actor.
      const stored = await store.audit.list({ limit: 10, envName: 'STAGING' });
      assert.ok(stored.some((ev) => ev.actor.kind === 'admin_client' && ev.actor.id === `${consoleClientId}/${aliceId}`));
    });

    it('creates an API and changes its scopes and allowed clients, refusing a stale form', async () => {
      const session = await signIn(aliceId, ['admin:write:STAGING']);
      const list = '/console/envs/STAGING/apis';
      const noCsrf = await post(session, list, { identifier: API, name: 'Orders' });
      assert.equal(noCsrf.statusCode, 403);
      const bad = await post(session, list, { identifier: 'not a uri', name: 'Orders', scopes: '' }, list);
      assert.equal(bad.statusCode, 400);
      assert.match(bad.body, /an API identifier is an absolute URI/);
      assert.match(bad.body, /value="not a uri"/, 'the form keeps what was typed');
      const created = await post(session, list, { identifier: API, name: 'Orders', scopes: 'orders:read: Read orders\norders:write' }, list);
      assert.equal(created.statusCode, 303, created.body);
      const detailUrl = `${list}/${encodeURIComponent(API)}`;
      assert.equal(created.headers.location, `${detailUrl}?done=api-created`);
      const detail = await get(session, detailUrl);
      assert.equal(detail.statusCode, 200);
      assert.match(detail.body, /<code>orders:read<\/code> Read orders/);
      const version = /name="updated_at" value="([^"]+)"/.exec(detail.body)?.[1] ?? '';
      const fields = {
        name: 'Orders API',
        scopes: 'orders:read: Read orders',
        client: [webClient],
        token_format: 'jwt',
        access_token_ttl: '600',
        updated_at: version,
      };
      const saved = await post(session, detailUrl, fields, detailUrl);
      assert.equal(saved.statusCode, 303, saved.body);
      const api = await system.apis.show('STAGING', API);
      assert.deepEqual(
        [api.name, api.scopes, api.clients, api.access_token_ttl],
        ['Orders API', [{ name: 'orders:read', description: 'Read orders' }], [webClient], 600],
      );
      assert.deepEqual((await lastEvent('api.updated'))?.actor, { kind: 'admin_client', id: `${consoleClientId}/${aliceId}` });
      clock.advance(1000);
      const stale = await post(session, detailUrl, { ...fields, name: 'Overwritten' }, detailUrl);
      assert.equal(stale.statusCode, 409);
      assert.match(stale.body, /changed since this page was loaded/);
      assert.equal((await system.apis.show('STAGING', API)).name, 'Orders API');
    });

    it('sets quotas and the rotation schedule, naming what is wrong', async () => {
      const session = await signIn(aliceId, ['admin:write:STAGING']);
      const quotas = '/console/envs/STAGING/quotas';
      const notNumber = await post(session, `${quotas}/client`, { client_id: webClient, quota: 'lots', quota_was: '' }, quotas);
      assert.equal(notNumber.statusCode, 400);
      assert.match(notNumber.body, new RegExp(`the quota of ${webClient} must be a whole number, or empty`));
      const set = await post(session, `${quotas}/client`, { client_id: webClient, quota: '50', quota_was: '' }, quotas);
      assert.equal(set.statusCode, 303, set.body);
      assert.equal((await system.admin.getClient('STAGING', webClient)).quota, 50);
      const stale = await post(session, `${quotas}/client`, { client_id: webClient, quota: '70', quota_was: '' }, quotas);
      assert.equal(stale.statusCode, 409);
      assert.match(stale.body, /changed since this page was loaded \(now 50\)/);
      const rotation = '/console/envs/STAGING/rotation';
      const short = await post(session, rotation, { interval_seconds: '60', interval_was: '' }, rotation);
      assert.equal(short.statusCode, 400);
      assert.match(short.body, /the rotation interval must be at least 3600 s/);
      const saved = await post(session, rotation, { interval_seconds: '2592000', interval_was: '' }, rotation);
      assert.equal(saved.statusCode, 303, saved.body);
      assert.equal((await system.admin.getKeyRotation('STAGING')).key_rotation_interval, 2_592_000);
      assert.match((await get(session, rotation)).body, /every 2592000 s \(30 days\)/);
      const late = await post(session, rotation, { interval_seconds: '', interval_was: '' }, rotation);
      assert.equal(late.statusCode, 409, 'the form showed no schedule; one was saved meanwhile');
      assert.deepEqual((await lastEvent('environment.rotation_schedule_changed'))?.actor, { kind: 'admin_client', id: `${consoleClientId}/${aliceId}` });
    });
  });
}
