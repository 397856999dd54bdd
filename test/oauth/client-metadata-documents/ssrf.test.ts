import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../../src/domain/clock.ts';
import type { CoreEvent } from '../../../src/domain/events.ts';
import type { Environment } from '../../../src/domain/model.ts';
import type { HostResolver, ResolvedAddress } from '../../../src/oauth/client-metadata-documents/address-policy.ts';
import { DocumentCache } from '../../../src/oauth/client-metadata-documents/document-cache.ts';
import { MetadataDocumentClients } from '../../../src/oauth/client-metadata-documents/document-clients.ts';
import { type FetchLimits, fetchMetadataDocument } from '../../../src/oauth/client-metadata-documents/fetcher.ts';
import { validateKeySet } from '../../../src/oauth/client-metadata-documents/key-set.ts';
import { parseMetadataDocumentSettings } from '../../../src/oauth/client-metadata-documents/settings.ts';
import { validateMetadataDocument } from '../../../src/oauth/client-metadata-documents/validator.ts';
import { DOCUMENT_CACHE_POLICY } from '../../../src/oauth/client-metadata-documents/wiring.ts';
import { makeCertificates, startHttpsServer, type TestCertificates } from '../../helpers/tls-fixture.ts';

const NAMES: Record<string, ResolvedAddress[]> = {
  'client.example.test': [{ address: '127.0.0.1', family: 4 }],
  'internal.example.test': [{ address: '10.1.2.3', family: 4 }],
  'mixed.example.test': [
    { address: '93.184.215.14', family: 4 },
    { address: '192.168.0.10', family: 4 },
  ],
  'cloud-metadata.example.test': [{ address: '169.254.169.254', family: 4 }],
  'six.example.test': [{ address: '::1', family: 6 }],
  'mapped.example.test': [{ address: '::ffff:10.0.0.1', family: 6 }],
  'unlisted.example.test': [{ address: '127.0.0.1', family: 4 }],
};
const resolver: HostResolver = async (name) => {
  const found = NAMES[name];
  if (!found) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  return found;
};

const ENV: Environment = {
  id: 'env_test',
  name: 'DEVELOPMENT',
  createdAt: 0,
  defaultQuota: null,
  clientMetadataDocuments: parseMetadataDocumentSettings({ enabled: true, scopes: ['mcp:tools'], blocked_hosts: ['blocked.example.test'] }),
};

describe('Client ID Metadata Documents: SSRF and document checks, refused row by row', () => {
  let certificates: TestCertificates;
  let server: Awaited<ReturnType<typeof startHttpsServer>>;
  let base: string;
  const url = (path: string, host = 'client.example.test') => `https://${host}:${server.port}${path}`;

  before(async () => {
    certificates = makeCertificates(['client.example.test']);
    server = await startHttpsServer(certificates, (request, response) => answer(request.url ?? '', response, (p) => url(p)));
    base = url('');
  });
  after(() => server.close());

  /** The pipeline the server runs, with the loopback switch as given and short time limits. */
  function pipeline(allowLoopback: boolean, limits: Partial<FetchLimits> = {}) {
    const events: CoreEvent[] = [];
    const fetchLimits: FetchLimits = { maxBytes: 5120, connectTimeoutMs: 2000, totalTimeoutMs: 2000, allowLoopback, ...limits };
    const fetch = (u: URL) => fetchMetadataDocument(u, fetchLimits, { resolve: resolver, ca: certificates.ca });
    const clock = new ManualClock();
    const documents = new DocumentCache(fetch, clock, DOCUMENT_CACHE_POLICY, validateMetadataDocument);
    const keySets = new DocumentCache(fetch, clock, DOCUMENT_CACHE_POLICY, validateKeySet);
    const clients = new MetadataDocumentClients(documents, keySets, clock, { emit: (event) => events.push(event) });
    return { clients, events };
  }

  async function refusal(clientId: string, allowLoopback: boolean, limits: Partial<FetchLimits> = {}): Promise<string> {
    const { clients, events } = pipeline(allowLoopback, limits);
    assert.equal(await clients.find(ENV, clientId), undefined, `${clientId} was accepted`);
    const refused = events.find((e) => e.type === 'client.metadata_document_refused');
    assert.ok(refused && refused.type === 'client.metadata_document_refused', `no refusal event for ${clientId}`);
    return refused.reason;
  }

  const rows: [string, () => string, boolean, string, Partial<FetchLimits>?][] = [
    ['10.0.0.0/8', () => 'https://10.0.0.5/client.json', true, 'non-public address'],
    ['172.16.0.0/12', () => 'https://172.20.1.1/client.json', true, 'non-public address'],
    ['192.168.0.0/16', () => 'https://192.168.1.1/client.json', true, 'non-public address'],
    ['CGNAT 100.64.0.0/10', () => 'https://100.64.0.1/client.json', true, 'non-public address'],
    ['unspecified 0.0.0.0', () => 'https://0.0.0.0/client.json', true, 'non-public address'],
    ['multicast 224.0.0.1', () => 'https://224.0.0.1/client.json', true, 'non-public address'],
    ['link-local 169.254.169.254', () => 'https://169.254.169.254/latest/meta-data', true, 'non-public address'],
    ['IPv6 unique local fc00::/7', () => 'https://[fd00::1]/client.json', true, 'non-public address'],
    ['IPv6 link-local fe80::/10', () => 'https://[fe80::1]/client.json', true, 'non-public address'],
    ['127.0.0.1 without the development switch', () => url('/client.json').replace('client.example.test', '127.0.0.1'), false, 'loopback address'],
    ['::1 without the development switch', () => 'https://[::1]/client.json', false, 'loopback address'],
    ['IPv4-mapped IPv6 literal', () => 'https://[::ffff:7f00:1]/client.json', true, 'IPv4-mapped address'],
    ['a name resolving to ::ffff:10.0.0.1', () => 'https://mapped.example.test/client.json', true, 'IPv4-mapped address'],
    ['a name resolving to a private address', () => 'https://internal.example.test/client.json', true, 'non-public address'],
    ['a name resolving to a public and a private address', () => 'https://mixed.example.test/client.json', true, 'non-public address'],
    ['a name resolving to 169.254.169.254', () => 'https://cloud-metadata.example.test/client.json', true, 'non-public address'],
    ['a name resolving to ::1 without the switch', () => 'https://six.example.test/client.json', false, 'loopback address'],
    ['a name resolving to 127.0.0.1 without the switch', () => url('/client.json'), false, 'loopback address'],
    ['a name that does not resolve', () => 'https://nowhere.example.test/client.json', true, 'host name does not resolve'],
    ['the http scheme', () => url('/client.json').replace('https:', 'http:'), true, 'client_id URL is not https'],
    ['a fragment', () => `${url('/client.json')}#frag`, true, 'client_id URL has a fragment'],
    ['credentials', () => url('/client.json').replace('https://', 'https://user:pw@'), true, 'client_id URL has credentials'],
    ['no path', () => url('/'), true, 'client_id URL has no path'],
    ['a dot segment', () => url('/a/../client.json').replace('/a/../', '/a/%2e%2e/'), true, 'client_id URL has dot segments'],
    ['a blocked host', () => 'https://blocked.example.test/client.json', true, 'host is blocked'],
    ['redirect 301', () => url('/redirect/301'), true, 'redirect refused (301)'],
    ['redirect 302', () => url('/redirect/302'), true, 'redirect refused (302)'],
    ['redirect 307', () => url('/redirect/307'), true, 'redirect refused (307)'],
    ['a huge document (Content-Length)', () => url('/huge'), true, 'document too large'],
    ['a huge document (chunked, no length)', () => url('/huge-chunked'), true, 'document too large'],
    ['a slow document', () => url('/slow'), true, 'time limit exceeded', { totalTimeoutMs: 300 }],
    ['a wrong content type', () => url('/html'), true, 'content type is not JSON'],
    ['a status other than 200', () => url('/missing'), true, 'status 404'],
    ['a body that is not JSON', () => url('/broken'), true, 'document is not JSON'],
    ['a mismatched client_id', () => url('/mismatch'), true, 'client_id does not match the document URL'],
    ['a document with client_secret', () => url('/secret'), true, 'document contains client_secret'],
    ['a shared-secret auth method', () => url('/basic'), true, 'token_endpoint_auth_method must be none or private_key_jwt'],
    ['a redirect URI on plain http', () => url('/http-redirect'), true, 'redirect_uris holds an invalid URI'],
    ['no redirect URIs', () => url('/no-redirects'), true, 'redirect_uris missing or empty'],
    ['a certificate for another name', () => url('/client.json', 'unlisted.example.test'), true, 'fetch failed (ERR_TLS_CERT_ALTNAME_INVALID)'],
  ];
  for (const [name, clientId, allowLoopback, reason, limits] of rows) {
    it(`refuses ${name}: ${reason}`, async () => {
      assert.equal(await refusal(clientId(), allowLoopback, limits), reason);
    });
  }

  it('accepts a valid document over TLS verified against the injected CA, with Host and SNI of the name', async () => {
    const { clients, events } = pipeline(true);
    const client = await clients.find(ENV, url('/client.json'));
    assert.ok(client, JSON.stringify(events));
    assert.equal(client.clientId, url('/client.json'));
    assert.equal(client.kind, 'public');
    assert.equal(client.name, 'Test MCP client');
    assert.deepEqual(client.scopes, ['mcp:tools']);
    assert.deepEqual(client.metadataDocument?.host, `client.example.test:${server.port}`);
    const fetched = events.find((e) => e.type === 'client.metadata_document_fetched');
    assert.ok(fetched);
    assert.equal(base.startsWith('https://client.example.test:'), true);
  });

  it('refuses the same server without the CA (verification is never disabled)', async () => {
    const outcome = await fetchMetadataDocument(
      new URL(url('/client.json')),
      { maxBytes: 5120, connectTimeoutMs: 2000, totalTimeoutMs: 2000, allowLoopback: true },
      { resolve: resolver },
    );
    assert.deepEqual(outcome, { ok: false, reason: 'fetch failed (UNABLE_TO_VERIFY_LEAF_SIGNATURE)' });
  });

  it('resolves the name once and connects to the address it checked (no DNS rebinding)', async () => {
    const answers: ResolvedAddress[][] = [[{ address: '127.0.0.1', family: 4 }], [{ address: '10.0.0.1', family: 4 }]];
    let calls = 0;
    const rebinding: HostResolver = async () => answers[Math.min(calls++, 1)] as ResolvedAddress[];
    const outcome = await fetchMetadataDocument(
      new URL(url('/client.json')),
      { maxBytes: 5120, connectTimeoutMs: 2000, totalTimeoutMs: 2000, allowLoopback: true },
      { resolve: rebinding, ca: certificates.ca },
    );
    assert.equal(outcome.ok, true);
    assert.equal(calls, 1);
  });
});

/** The documents and misbehaviours the test server serves, by path. */
function answer(path: string, response: ServerResponse, url: (path: string) => string) {
  const json = (body: unknown, headers: Record<string, string> = {}) => {
    response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300', ...headers });
    response.end(JSON.stringify(body));
  };
  const document = (extra: Record<string, unknown> = {}) => ({
    client_id: url(path),
    client_name: 'Test MCP client',
    redirect_uris: ['http://127.0.0.1/callback', 'https://client.example.test/callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'none',
    ...extra,
  });
  const redirect = /^\/redirect\/(\d{3})$/.exec(path);
  if (redirect) {
    response.writeHead(Number(redirect[1]), { location: url('/client.json') });
    response.end();
    return;
  }
  switch (path) {
    case '/client.json':
      return json(document());
    case '/huge':
      return json(document({ padding: 'x'.repeat(10_000) }));
    case '/huge-chunked':
      response.writeHead(200, { 'content-type': 'application/json' });
      for (let i = 0; i < 10; i++) response.write(' '.repeat(1024));
      response.end(JSON.stringify(document()));
      return;
    case '/slow':
      // Headers at once, then nothing: only the total time limit ends it.
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{');
      return;
    case '/html':
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end(JSON.stringify(document()));
      return;
    case '/broken':
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"client_id":');
      return;
    case '/mismatch':
      return json(document({ client_id: url('/client.json') }));
    case '/secret':
      return json(document({ client_secret: 'shh' }));
    case '/basic':
      return json(document({ token_endpoint_auth_method: 'client_secret_basic' }));
    case '/http-redirect':
      return json(document({ redirect_uris: ['http://client.example.test/callback'] }));
    case '/no-redirects':
      return json(document({ redirect_uris: [] }));
    default:
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end('{}');
  }
}
