import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { SignJWT } from 'jose';
import { recordSpan, resetTracingForTests, withSpan } from '../../src/observability/tracing.ts';
import { operationOf } from '../../src/store/query-tracing.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, suiteStore } from '../helpers/fixtures.ts';

// An SDK registered before any app is built, as `node --import ./otel.mjs` would.
const exporter = new InMemorySpanExporter();
const contextManager = new AsyncLocalStorageContextManager().enable();
context.setGlobalContextManager(contextManager);
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
trace.setGlobalTracerProvider(provider);
resetTracingForTests();

// Left registered to the end of the file: a root-level after() would run before the suites
// declared after the top-level await below.

const FORM = 'application/x-www-form-urlencoded';
const START_MS = Date.UTC(2026, 5, 1, 12, 0, 0);

/** Everything a span carries as text: its name, attributes, status and events. */
const spanText = (span: ReadableSpan): string => JSON.stringify([span.name, span.attributes, span.status, span.events]);

const childrenOf = (spans: readonly ReadableSpan[], parent: ReadableSpan) => spans.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);

describe('withSpan and recordSpan', () => {
  it('nests spans, records a failure by its type only, and rethrows', async () => {
    exporter.reset();
    const failure = Object.assign(new Error('secret-in-message'), { code: 'SQLITE_BUSY' });
    await assert.rejects(
      withSpan('outer', { a: 1, skipped: undefined }, async () => {
        recordSpan('inner', { b: true }, START_MS, START_MS + 5);
        throw failure;
      }),
      (error) => error === failure,
    );
    const [inner, outer] = exporter.getFinishedSpans();
    assert.ok(inner && outer);
    assert.equal(outer.name, 'outer');
    assert.deepEqual(outer.attributes, { a: 1 });
    assert.equal(outer.status.code, SpanStatusCode.ERROR);
    assert.equal(outer.status.message, 'SQLITE_BUSY');
    assert.equal(inner.parentSpanContext?.spanId, outer.spanContext().spanId);
    assert.deepEqual(inner.startTime, [START_MS / 1000, 0]);
    assert.deepEqual(inner.endTime, [START_MS / 1000, 5_000_000]);
    assert.doesNotMatch(spanText(outer), /secret-in-message/);
  });

  it('names a statement by its first keyword, from a bounded set', () => {
    assert.equal(operationOf(' select * from clients where id = ?'), 'SELECT');
    assert.equal(operationOf('insert into x values ($1)'), 'INSERT');
    assert.equal(operationOf("'; drop table x"), 'OTHER');
    assert.equal(operationOf('VACUUM'), 'OTHER');
  });
});

for (const database of await testDatabases()) {
  describe(`token endpoint spans on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });

    async function setup() {
      const t = await suite.build();
      const env = `trace-${database.name}-${Math.random().toString(36).slice(2, 8)}`;
      await t.admin.createEnvironment(env);
      const client = await t.admin.createClient({ env, name: 'svc', scopes: ['read'] });
      const post = (payload: string, headers: Record<string, string> = {}) =>
        t.app.server.inject({ method: 'POST', url: `/envs/${env}/token`, headers: { 'content-type': FORM, ...headers }, payload });
      return { env, id: client.client_id, secret: client.client_secret ?? '', post };
    }

    it('a client_credentials request gives gatehouse.token with its database statements as children, and no secret', async () => {
      const { env, id, secret, post } = await setup();
      exporter.reset();
      const res = await post(form({ grant_type: 'client_credentials' }), { authorization: basic(id, secret) });
      assert.equal(res.statusCode, 200, res.body);
      const accessToken = res.json().access_token as string;
      const spans = exporter.getFinishedSpans();
      const token = spans.find((s) => s.name === 'gatehouse.token');
      assert.ok(token, `spans: ${spans.map((s) => s.name).join(', ')}`);
      assert.deepEqual(token.attributes, { surface: 'standard', environment: env, grant_type: 'client_credentials', client_id: id, outcome: 'issued' });
      assert.equal(token.status.code, SpanStatusCode.UNSET);
      // Below it: the grant span once the core opens one, and database statements.
      const below = spans.filter((s) => s !== token && s.spanContext().traceId === token.spanContext().traceId);
      const queries = below.filter((s) => s.name === 'db.query');
      assert.ok(queries.length > 0, 'at least one db.query span');
      for (const q of queries) {
        assert.equal(q.attributes['db.system'], database.name === 'postgres' ? 'postgresql' : 'sqlite');
        assert.match(String(q.attributes['db.operation.name']), /^(SELECT|INSERT|UPDATE|DELETE|WITH|OTHER)$/);
        assert.equal(q.attributes['db.query.text'], undefined, 'SQL text is off by default');
      }
      assert.ok(childrenOf(spans, token).length > 0, 'the token span has children');
      const grant = below.find((s) => s.name === 'gatehouse.grant');
      assert.ok(grant, 'a gatehouse.grant span');
      assert.equal(grant.parentSpanContext?.spanId, token.spanContext().spanId);
      assert.equal(grant.attributes.grant_type, 'client_credentials');
      for (const span of spans) {
        assert.ok(!spanText(span).includes(secret), `${span.name} carries the client secret`);
        assert.ok(!spanText(span).includes(accessToken), `${span.name} carries the access token`);
      }
    });

    it('a refused request records its error code, an unknown grant type as other, and no secret or assertion', async () => {
      const { id, post } = await setup();
      exporter.reset();
      const wrongSecret = 'wrong-secret-value-1234567890';
      const refused = await post(form({ grant_type: 'client_credentials', client_id: id, client_secret: wrongSecret }));
      assert.equal(refused.statusCode, 401);
      const unknown = await post(form({ grant_type: 'made-up-grant' }), { authorization: basic(id, wrongSecret) });
      assert.equal(unknown.statusCode, 400);
      const { privateKey } = await import('jose').then((jose) => jose.generateKeyPair('ES256'));
      const assertion = await new SignJWT({ iss: 'sa', sub: 'sa' }).setProtectedHeader({ alg: 'ES256', kid: 'unknown' }).sign(privateKey);
      const grant = await post(form({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }));
      assert.equal(grant.statusCode, 400);
      const tokens = exporter.getFinishedSpans().filter((s) => s.name === 'gatehouse.token');
      assert.deepEqual(
        tokens.map((s) => [s.attributes.outcome, s.attributes.grant_type, s.status.code]),
        [
          ['invalid_client', 'client_credentials', SpanStatusCode.ERROR],
          ['unsupported_grant_type', 'other', SpanStatusCode.ERROR],
          ['invalid_grant', 'urn:ietf:params:oauth:grant-type:jwt-bearer', SpanStatusCode.ERROR],
        ],
      );
      for (const span of exporter.getFinishedSpans()) {
        const text = spanText(span);
        assert.ok(!text.includes(wrongSecret) && !text.includes(assertion) && !text.includes('made-up-grant'), `${span.name}: ${text}`);
      }
    });
  });
}
