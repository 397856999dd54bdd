import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ImportRecordError, parseRecord, parseRecordLine } from '../../src/import/records.ts';

const client = {
  kind: 'client',
  client_id: 'abc',
  name: 'App',
  confidential: true,
  secret: { format: 'plain', value: 's3cret' },
  redirect_uris: ['https://app.example/cb'],
  scopes: ['read'],
  grant_types: ['authorization_code'],
};

const refusal = (value: unknown): string => {
  try {
    parseRecord(value);
  } catch (error) {
    assert.ok(error instanceof ImportRecordError);
    return error.message;
  }
  assert.fail('accepted');
};

describe('import records', () => {
  it('parses each kind and keeps optional fields only when present', () => {
    assert.deepEqual(parseRecord(client), client);
    assert.deepEqual(parseRecord({ ...client, access_token_ttl: 3600, source_version: 'v1', audience: ['https://api.example'] }), {
      ...client,
      access_token_ttl: 3600,
      source_version: 'v1',
      audience: ['https://api.example'],
    });
    const token = {
      kind: 'access_token',
      token: { format: 'sha256-hex', value: 'ab' },
      client_id: 'abc',
      user_source_id: null,
      scopes: [],
      issued_at: '2026-01-01T00:00:00Z',
      expires_at: '2026-01-01T02:00:00Z',
      revoked: false,
    };
    assert.deepEqual(parseRecord(token), token);
    assert.deepEqual(parseRecord({ kind: 'skipped', what: 'grants', reason: 'short-lived' }), { kind: 'skipped', what: 'grants', reason: 'short-lived' });
  });

  it('names the field at fault, never its value', () => {
    assert.equal(
      refusal({ ...client, secret: { format: 'md5', value: 'topsecret' } }),
      '"secret.format" must be one of plain, sha256-hex, sha256-base64url, bcrypt, pbkdf2-sha256, argon2id',
    );
    assert.equal(refusal({ ...client, confidential: 'yes' }), '"confidential" must be true or false');
    assert.equal(refusal({ ...client, scopes: ['read', ''] }), '"scopes" must be an array of non-empty strings');
    assert.equal(refusal({ ...client, access_token_ttl: -1 }), '"access_token_ttl" must be a positive whole number of seconds');
    assert.equal(refusal({ kind: 'user', source_id: '1', username: 'a', enabled: true, password: 'topsecret' }), '"password" must be an object');
    assert.equal(refusal({ kind: 'token' }), '"kind" must be one of client, user, refresh_token, access_token, skipped');
    assert.equal(refusal([]), '"record" must be an object');
    assert.throws(() => parseRecordLine('{"kind": "client", "secret": "topsecret"', 3), /^ImportRecordError: line 3: not valid JSON$/);
    assert.equal(parseRecordLine('   ', 4), undefined);
  });

  it('refuses any input with an ImportRecordError and nothing else, never echoing it', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (line) => {
        try {
          parseRecordLine(line, 1);
        } catch (error) {
          assert.ok(error instanceof ImportRecordError, String(error));
          if (line.length > 12) assert.ok(!error.message.includes(line));
        }
      }),
      { numRuns: 500 },
    );
  });
});
