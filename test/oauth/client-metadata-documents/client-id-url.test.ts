import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseClientIdUrl } from '../../../src/oauth/client-metadata-documents/client-id-url.ts';
import { parseMetadataDocumentSettings, refusedHost } from '../../../src/oauth/client-metadata-documents/settings.ts';
import { validateMetadataDocument } from '../../../src/oauth/client-metadata-documents/validator.ts';

describe('Client ID Metadata Documents: the client_id URL, the document and the host rules', () => {
  it('accepts https URLs with a path, a port or a query, exactly as written', () => {
    for (const id of ['https://app.example.com/client.json', 'https://app.example.com:8443/oauth/client', 'https://app.example.com/c?v=1']) {
      assert.ok('url' in parseClientIdUrl(id), id);
    }
  });

  it('refuses what draft §3 forbids, and anything the parser would rewrite', () => {
    const refused: [string, string][] = [
      ['http://app.example.com/client.json', 'client_id URL is not https'],
      ['https://app.example.com', 'client_id URL has no path'],
      ['https://app.example.com/', 'client_id URL has no path'],
      ['https://app.example.com/client.json#x', 'client_id URL has a fragment'],
      ['https://u:p@app.example.com/client.json', 'client_id URL has credentials'],
      ['https://u@app.example.com/client.json', 'client_id URL has credentials'],
      ['https://app.example.com/./client.json', 'client_id URL has dot segments'],
      ['https://app.example.com/a/../client.json', 'client_id URL has dot segments'],
      ['https://App.Example.com/client.json', 'client_id URL is not in normal form'],
      ['https://app.example.com:443/client.json', 'client_id URL is not in normal form'],
    ];
    for (const [id, reason] of refused) assert.deepEqual(parseClientIdUrl(id), { refused: reason }, id);
  });

  it('never throws on arbitrary input (property)', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        parseClientIdUrl(`https://${s}`);
        validateMetadataDocument('https://a.example/c', { client_id: 'https://a.example/c', redirect_uris: [s] });
      }),
    );
  });

  it('accepts a document whose client_id is its URL, with loopback or https redirect URIs', () => {
    const id = 'https://app.example.com/client.json';
    const result = validateMetadataDocument(id, {
      client_id: id,
      redirect_uris: ['http://127.0.0.1/cb', 'http://[::1]:8080/cb', 'https://app.example.com/cb'],
    });
    assert.ok('document' in result);
    assert.deepEqual(result.document.grantTypes, ['authorization_code']);
    assert.equal(result.document.tokenEndpointAuthMethod, 'none');
  });

  it('refuses secrets, symmetric methods and a private_key_jwt without keys', () => {
    const id = 'https://app.example.com/client.json';
    const base = { client_id: id, redirect_uris: ['https://app.example.com/cb'] };
    assert.deepEqual(validateMetadataDocument(id, { ...base, client_secret_expires_at: 0 }), { refused: 'document contains client_secret_expires_at' });
    assert.deepEqual(validateMetadataDocument(id, { ...base, token_endpoint_auth_method: 'client_secret_jwt' }), {
      refused: 'token_endpoint_auth_method must be none or private_key_jwt',
    });
    assert.deepEqual(validateMetadataDocument(id, { ...base, token_endpoint_auth_method: 'private_key_jwt' }), {
      refused: 'private_key_jwt needs exactly one of jwks and jwks_uri',
    });
    assert.deepEqual(validateMetadataDocument(id, { ...base, redirect_uris: ['http://localhost/cb'] }), { refused: 'redirect_uris holds an invalid URI' });
    assert.deepEqual(validateMetadataDocument(id, { ...base, redirect_uris: ['https://app.example.com/cb#f'] }), {
      refused: 'redirect_uris holds an invalid URI',
    });
    assert.deepEqual(validateMetadataDocument(id, { ...base, grant_types: ['client_credentials'] }), {
      refused: 'grant_types may hold only authorization_code and refresh_token',
    });
    assert.deepEqual(validateMetadataDocument(id, { ...base, client_id: `${id}/` }), { refused: 'client_id does not match the document URL' });
  });

  it('applies allowed and blocked hosts, blocked first, with *.subtree rules', () => {
    const settings = parseMetadataDocumentSettings({ enabled: true, allowed_hosts: ['*.example.com', 'claude.ai'], blocked_hosts: ['bad.example.com'] });
    assert.equal(refusedHost(settings, 'app.example.com'), undefined);
    assert.equal(refusedHost(settings, 'claude.ai'), undefined);
    assert.equal(refusedHost(settings, 'example.com'), 'host is not allowed');
    assert.equal(refusedHost(settings, 'bad.example.com'), 'host is blocked');
    assert.equal(refusedHost(settings, 'evil.test'), 'host is not allowed');
    assert.throws(() => parseMetadataDocumentSettings({ allowed_hosts: ['https://x'] }), /client_metadata_documents\.allowed_hosts/);
    assert.throws(() => parseMetadataDocumentSettings({ access_token_ttl: 0 }), /client_metadata_documents\.access_token_ttl/);
  });
});
