import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import {
  createExpressAuth,
  createFetchAuth,
  createResourceMetadataHandler,
  createResourceMetadataMiddleware,
  createVerifier,
  gatehouseAuth,
  resourceMetadataUrl,
  type Verifier,
  type VerifierOptions,
} from '../../src/resource-server/index.ts';
import { accessToken, claims, FakeIssuer, ISSUER, NOW, signingKey } from './fake-issuer.ts';

/*
 * RFC 9728 Protected Resource Metadata: every adapter serves the same document at the
 * path-suffixed well-known URL, names it in its 401 challenges (§5.1), and its 403 names the
 * scopes the route needs (RFC 6750 §3) so a client can step up.
 */

const RESOURCE = 'https://mcp.example.test/mcp';
const METADATA_PATH = '/.well-known/oauth-protected-resource/mcp';
const METADATA_URL = `https://mcp.example.test${METADATA_PATH}`;
const key = signingKey('k1');
const issuer = new FakeIssuer(key);

function verifier(overrides: Partial<VerifierOptions> = {}): Verifier {
  return createVerifier({
    issuer: ISSUER,
    audience: RESOURCE,
    fetch: issuer.fetch,
    now: () => NOW,
    resourceMetadata: { resource: RESOURCE, scopesSupported: ['invoices:read', 'invoices:write'], resourceName: 'Invoices' },
    ...overrides,
  });
}

const EXPECTED_DOCUMENT = {
  resource: RESOURCE,
  authorization_servers: [ISSUER],
  scopes_supported: ['invoices:read', 'invoices:write'],
  bearer_methods_supported: ['header'],
  resource_name: 'Invoices',
};

const token = (scope: string) => accessToken(key, claims({ aud: RESOURCE, scope }));

/** What a test reads of an answer, whichever adapter gave it. */
interface Answer {
  status: number;
  headers: Record<string, string | undefined>;
  body: string;
}

/** One adapter behind a common request function: `path` with an optional token, routes needing invoices:write. */
interface Adapter {
  name: string;
  request(method: string, path: string, token?: string): Promise<Answer>;
  close(): Promise<void>;
}

async function fastifyAdapter(v: Verifier): Promise<Adapter> {
  const app = Fastify();
  await app.register(gatehouseAuth, { verifier: v });
  app.get('/mcp', { config: { scopes: ['invoices:write'] } }, async () => ({ ok: true }));
  await app.ready();
  return {
    name: 'fastify',
    async request(method, path, bearer) {
      const reply = await app.inject({ method: method as 'GET', url: path, headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });
      return { status: reply.statusCode, headers: reply.headers as Record<string, string>, body: reply.body };
    },
    close: () => app.close(),
  };
}

async function nodeAdapter(v: Verifier): Promise<Adapter> {
  const metadata = createResourceMetadataMiddleware(v);
  const auth = createExpressAuth(v)(['invoices:write']);
  const server: Server = createServer((req, res) => {
    metadata(req, res, () =>
      auth(req, res, (error) => {
        res.statusCode = error ? 500 : 200;
        res.end(error ? 'error' : '{"ok":true}');
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    name: 'express/connect',
    async request(method, path, bearer) {
      const response = await fetch(`${base}${path}`, { method, headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });
      return { status: response.status, headers: Object.fromEntries(response.headers), body: await response.text() };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function fetchAdapter(v: Verifier): Promise<Adapter> {
  const metadata = createResourceMetadataHandler(v);
  const authenticate = createFetchAuth(v);
  const handle = async (request: Request): Promise<Response> => {
    const served = metadata(request);
    if (served) return served;
    const auth = await authenticate(request, ['invoices:write']);
    return auth.ok ? Response.json({ ok: true }) : auth.response;
  };
  return {
    name: 'fetch',
    async request(method, path, bearer) {
      const response = await handle(new Request(`https://mcp.example.test${path}`, { method, headers: bearer ? { authorization: `Bearer ${bearer}` } : {} }));
      return { status: response.status, headers: Object.fromEntries(response.headers), body: await response.text() };
    },
    close: async () => {},
  };
}

for (const build of [fastifyAdapter, nodeAdapter, fetchAdapter]) {
  describe(`RFC 9728 metadata through the ${build.name.replace('Adapter', '')} adapter`, () => {
    let adapter: Adapter;
    before(async () => {
      adapter = await build(verifier());
    });
    after(() => adapter.close());

    it('serves the document at the path-suffixed well-known URL (§3.1)', async () => {
      const answer = await adapter.request('GET', METADATA_PATH);
      assert.equal(answer.status, 200);
      assert.match(answer.headers['content-type'] ?? '', /^application\/json/);
      assert.equal(answer.headers['cache-control'], 'public, max-age=3600');
      assert.equal(answer.headers['access-control-allow-origin'], '*');
      assert.deepEqual(JSON.parse(answer.body), EXPECTED_DOCUMENT);
    });

    it('does not serve it at the root well-known URL of a resource with a path', async () => {
      const answer = await adapter.request('GET', '/.well-known/oauth-protected-resource');
      assert.notEqual(answer.status, 200);
    });

    it('names the metadata in the challenge of a 401 without a token (§5.1)', async () => {
      const answer = await adapter.request('GET', '/mcp');
      assert.equal(answer.status, 401);
      assert.equal(answer.headers['www-authenticate'], `Bearer realm="${RESOURCE}", resource_metadata="${METADATA_URL}"`);
    });

    it('names it in the challenge of an invalid token too', async () => {
      const answer = await adapter.request('GET', '/mcp', accessToken(key, claims({ aud: 'https://other.example.test' })));
      assert.equal(answer.status, 401);
      assert.match(answer.headers['www-authenticate'] ?? '', /^Bearer realm="[^"]+", resource_metadata="[^"]+", error="invalid_token"/);
    });

    it('answers 403 insufficient_scope naming the scopes the route needs (RFC 6750 §3), for a step-up', async () => {
      const answer = await adapter.request('GET', '/mcp', token('invoices:read'));
      assert.equal(answer.status, 403);
      assert.equal(
        answer.headers['www-authenticate'],
        `Bearer realm="${RESOURCE}", resource_metadata="${METADATA_URL}", error="insufficient_scope", error_description="the token lacks a required scope", scope="invoices:write"`,
      );
      assert.deepEqual(JSON.parse(answer.body), { error: 'insufficient_scope', error_description: 'the token lacks a required scope' });
    });

    it('lets a token with the scope through', async () => {
      const answer = await adapter.request('GET', '/mcp', token('invoices:read invoices:write'));
      assert.equal(answer.status, 200);
    });
  });
}

describe('RFC 9728 metadata settings', () => {
  it('puts the well-known suffix between the host and the path, without a terminating slash (§3.1)', () => {
    assert.equal(resourceMetadataUrl('https://api.example.test'), 'https://api.example.test/.well-known/oauth-protected-resource');
    assert.equal(resourceMetadataUrl('https://api.example.test/'), 'https://api.example.test/.well-known/oauth-protected-resource');
    assert.equal(resourceMetadataUrl('https://api.example.test/v1/mcp/'), 'https://api.example.test/.well-known/oauth-protected-resource/v1/mcp');
    assert.equal(resourceMetadataUrl('http://127.0.0.1:3000/mcp'), 'http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp');
  });

  it('announces DPoP per the verifier mode, and the token methods it accepts', () => {
    const document = (options: Partial<VerifierOptions>) => verifier(options).resourceMetadata?.document;
    assert.equal(document({})?.dpop_signing_alg_values_supported, undefined);
    assert.deepEqual(document({ dpop: { mode: 'allowed', algorithms: ['ES256', 'EdDSA'] } })?.dpop_signing_alg_values_supported, ['ES256', 'EdDSA']);
    assert.equal(document({ dpop: 'allowed' })?.dpop_bound_access_tokens_required, undefined);
    assert.equal(document({ dpop: 'required' })?.dpop_bound_access_tokens_required, true);
    assert.deepEqual(document({ allowBodyToken: true, allowQueryToken: true })?.bearer_methods_supported, ['header', 'body', 'query']);
    const other = verifier({
      resourceMetadata: {
        resource: RESOURCE,
        authorizationServers: ['https://a.example.test', 'https://b.example.test'],
        resourceDocumentation: 'https://docs.example.test',
      },
    });
    assert.deepEqual(other.resourceMetadata?.document, {
      resource: RESOURCE,
      authorization_servers: ['https://a.example.test', 'https://b.example.test'],
      bearer_methods_supported: ['header'],
      resource_documentation: 'https://docs.example.test',
    });
  });

  it('accepts https resources and http ones on a loopback host', () => {
    for (const resource of ['https://api.example.test', 'http://127.0.0.1:3000/mcp', 'http://localhost:3000/mcp', 'http://[::1]/mcp']) {
      assert.equal(verifier({ audience: resource, resourceMetadata: { resource } }).resourceMetadata?.document.resource, resource);
    }
  });

  const refused: [string, Partial<VerifierOptions>, RegExp][] = [
    [
      'http off loopback',
      { audience: 'http://api.example.test/mcp', resourceMetadata: { resource: 'http://api.example.test/mcp' } },
      /resourceMetadata\.resource must be an https URL/,
    ],
    [
      'a fragment',
      { audience: 'https://api.example.test/mcp#x', resourceMetadata: { resource: 'https://api.example.test/mcp#x' } },
      /resourceMetadata\.resource/,
    ],
    [
      'a query',
      { audience: 'https://api.example.test/mcp?a=1', resourceMetadata: { resource: 'https://api.example.test/mcp?a=1' } },
      /resourceMetadata\.resource/,
    ],
    ['another scheme', { audience: 'urn:example:api', resourceMetadata: { resource: 'urn:example:api' } }, /resourceMetadata\.resource/],
    ['credentials', { audience: 'https://u:p@api.example.test', resourceMetadata: { resource: 'https://u:p@api.example.test' } }, /resourceMetadata\.resource/],
    // §3.3: clients ask for tokens for `resource`; the verifier must accept them.
    [
      'a resource that is not an audience',
      { resourceMetadata: { resource: 'https://other.example.test/mcp' } },
      /resourceMetadata\.resource must be one of the verifier's audiences/,
    ],
    ['no authorization server', { resourceMetadata: { resource: RESOURCE, authorizationServers: [] } }, /resourceMetadata\.authorizationServers/],
    ['a bad scope', { resourceMetadata: { resource: RESOURCE, scopesSupported: ['a b'] } }, /resourceMetadata\.scopesSupported/],
    ['a relative documentation URL', { resourceMetadata: { resource: RESOURCE, resourceDocumentation: '/docs' } }, /resourceMetadata\.resourceDocumentation/],
    ['a negative max-age', { resourceMetadata: { resource: RESOURCE, maxAgeSeconds: -1 } }, /resourceMetadata\.maxAgeSeconds/],
  ];
  for (const [what, options, message] of refused) {
    it(`refuses ${what} at start`, () => {
      assert.throws(
        () => verifier(options),
        (error: unknown) => error instanceof TypeError && message.test(error.message),
      );
    });
  }

  it('answers HEAD without a body and refuses other methods with 405 (fetch adapter)', async () => {
    const serve = createResourceMetadataHandler(verifier());
    const head = serve(new Request(`https://mcp.example.test${METADATA_PATH}`, { method: 'HEAD' }));
    assert.equal(head?.status, 200);
    assert.equal(await head?.text(), '');
    const post = serve(new Request(`https://mcp.example.test${METADATA_PATH}`, { method: 'POST' }));
    assert.equal(post?.status, 405);
    assert.equal(post?.headers.get('allow'), 'GET, HEAD');
    assert.equal(serve(new Request('https://mcp.example.test/mcp')), undefined);
  });

  it('a verifier without metadata serves nothing and its challenges name none', async () => {
    const plain = createVerifier({ issuer: ISSUER, audience: RESOURCE, fetch: issuer.fetch, now: () => NOW });
    assert.equal(plain.resourceMetadata, undefined);
    assert.equal(createResourceMetadataHandler(plain)(new Request(`https://mcp.example.test${METADATA_PATH}`)), undefined);
    const auth = await createFetchAuth(plain)(new Request('https://mcp.example.test/mcp'));
    assert.equal(auth.ok, false);
    assert.equal(!auth.ok && auth.response.headers.get('www-authenticate'), `Bearer realm="${RESOURCE}"`);
  });
});
