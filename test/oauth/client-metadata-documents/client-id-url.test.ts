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

  it("keeps a private_key_jwt client's public signing keys, and refuses a key set it cannot trust", () => {
    const id = 'https://app.example.com/client.json';
    const base = { client_id: id, redirect_uris: ['https://app.example.com/cb'], token_endpoint_auth_method: 'private_key_jwt' };
    const ec = { kty: 'EC', crv: 'P-256', x: 'xx', y: 'yy', kid: 'a' };
    const ed = { kty: 'OKP', crv: 'Ed25519', x: 'xx', kid: 'b', alg: 'Ed25519' };
    const kept = validateMetadataDocument(id, {
      ...base,
      // Left out: an encryption key, a short RSA key, a key without kid, one naming an algorithm its type cannot sign with.
      jwks: {
        keys: [
          ec,
          ed,
          { ...ec, kid: 'enc', use: 'enc' },
          { kty: 'RSA', n: 'short', e: 'AQAB', kid: 'r' },
          { ...ec, kid: undefined },
          { ...ec, kid: 'c', alg: 'PS256' },
        ],
      },
    });
    assert.ok('document' in kept);
    assert.deepEqual(kept.document.keys, {
      jwks: [
        { kid: 'a', alg: 'ES256', publicJwk: { kty: 'EC', crv: 'P-256', x: 'xx', y: 'yy', kid: 'a', alg: 'ES256' } },
        { kid: 'b', alg: 'EdDSA', publicJwk: { kty: 'OKP', crv: 'Ed25519', x: 'xx', kid: 'b', alg: 'EdDSA' } },
      ],
    });
    const published = validateMetadataDocument(id, { ...base, jwks_uri: 'https://app.example.com/jwks.json' });
    assert.ok('document' in published);
    assert.deepEqual(published.document.keys, { jwksUri: 'https://app.example.com/jwks.json' });
    const refusals: [unknown, string][] = [
      [{ jwks: { keys: [{ ...ec, d: 'private' }] } }, 'jwks: holds a private or symmetric key'],
      [{ jwks: { keys: [{ kty: 'oct', k: 'secret', kid: 's' }] } }, 'jwks: holds a private or symmetric key'],
      [{ jwks: { keys: [ec, { ...ed, kid: 'a' }] } }, 'jwks: two keys share a kid'],
      [{ jwks: { keys: [{ ...ec, kid: undefined }] } }, 'jwks: no EC P-256, Ed25519 or RSA signing key with a kid'],
      [{ jwks: { keys: [{ ...ec, alg: 'RS256' }] } }, 'jwks: no EC P-256, Ed25519 or RSA signing key with a kid'],
      [{ jwks: { keys: [{ ...ec, use: 'enc' }] } }, 'jwks: no EC P-256, Ed25519 or RSA signing key with a kid'],
      [{ jwks: [ec] }, 'jwks: not a JWK Set'],
      [{ jwks_uri: 'http://app.example.com/jwks.json' }, 'jwks_uri is not an https URL'],
      [{ jwks: { keys: [ec] }, jwks_uri: 'https://app.example.com/jwks.json' }, 'private_key_jwt needs exactly one of jwks and jwks_uri'],
    ];
    for (const [fields, reason] of refusals) {
      assert.deepEqual(validateMetadataDocument(id, { ...base, ...(fields as object) }), { refused: reason }, reason);
    }
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
