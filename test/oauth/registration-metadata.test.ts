import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { signCompactJwt } from '../../src/crypto/jwt.ts';
import { defaultRegistrationPolicy, type RegistrationPolicy } from '../../src/domain/registration.ts';
import { OAuthError } from '../../src/oauth/errors.ts';
import { checkClientMetadata } from '../../src/oauth/registration/client-metadata.ts';
import { verifySoftwareStatement } from '../../src/oauth/registration/software-statement.ts';

const POLICY: RegistrationPolicy = {
  ...defaultRegistrationPolicy('env'),
  mode: 'open',
  allowedScopes: ['read', 'write'],
  allowedAuthMethods: ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'],
};
const HTTPS = 'https://app.example/cb';

function refused(input: Record<string, unknown>, code: string, description: RegExp, policy = POLICY): void {
  assert.throws(
    () => checkClientMetadata(input, policy),
    (error: unknown) => {
      assert.ok(error instanceof OAuthError, String(error));
      assert.equal(error.code, code, error.description);
      assert.equal(error.status, 400);
      assert.match(error.description, description);
      return true;
    },
  );
}

describe('RFC 7591 §2 client metadata: each bad redirect URI kind is invalid_redirect_uri', () => {
  const rows: [string, unknown, RegExp, string?][] = [
    ['a fragment', 'https://app.example/cb#frag', /fragment/],
    ['http on a public host', 'http://app.example/cb', /https/],
    ['a relative URI', '/callback', /absolute/],
    ['javascript:', 'javascript:alert(1)', /scheme/],
    ['data:', 'data:text/html,hi', /scheme/],
    ['credentials in the URI', 'https://user:pw@app.example/cb', /credentials/],
    ['a response parameter in the query', 'https://app.example/cb?code=1', /code parameter/],
    ['a non-canonical form', 'https://APP.example/cb', /canonical/],
    ['a private-use scheme without a dot', 'myapp:/cb', /private-use/],
    ['a private-use scheme for a confidential client', 'com.example.app:/cb', /native/, 'client_secret_basic'],
    ['not a string', 42, /string/],
    ['an empty string', '', /string/],
  ];
  for (const [kind, uri, description, method] of rows) {
    it(`refuses ${kind}`, () => {
      refused({ redirect_uris: [uri], token_endpoint_auth_method: method ?? 'none' }, 'invalid_redirect_uri', description);
    });
  }
  it('refuses a missing redirect_uris with the authorization_code grant', () => {
    refused({ token_endpoint_auth_method: 'none' }, 'invalid_redirect_uri', /redirect_uris is required/);
  });
  it('refuses redirect_uris that is not an array', () => {
    refused({ redirect_uris: HTTPS, token_endpoint_auth_method: 'none' }, 'invalid_redirect_uri', /array/);
  });
  it('accepts https, loopback http (RFC 8252 §7.3) and a reverse-domain private-use scheme for a native app (§7.1)', () => {
    const ok = checkClientMetadata(
      { redirect_uris: [HTTPS, 'http://127.0.0.1/cb', 'http://[::1]:8080/cb', 'com.example.app:/oauth'], token_endpoint_auth_method: 'none' },
      POLICY,
    );
    assert.equal(ok.redirect_uris.length, 4);
  });
});

describe('RFC 7591 §2 client metadata: invalid_client_metadata with a description', () => {
  const base = { redirect_uris: [HTTPS], token_endpoint_auth_method: 'none' };
  const rows: [string, Record<string, unknown>, RegExp, RegistrationPolicy?][] = [
    ['an unknown auth method', { token_endpoint_auth_method: 'tls_client_auth' }, /token_endpoint_auth_method must be/],
    [
      'an auth method the policy does not allow',
      { token_endpoint_auth_method: 'client_secret_post' },
      /not allowed here/,
      { ...POLICY, allowedAuthMethods: ['none'] },
    ],
    ['a grant type the policy does not allow', { grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic' }, /not allowed here/],
    ['grant_types without response_types code (§2.1)', { grant_types: ['authorization_code'], response_types: [] }, /go together/],
    ['response_types code without authorization_code (§2.1)', { grant_types: ['refresh_token'], response_types: ['code'] }, /go together|not allowed/],
    ['the implicit response type', { response_types: ['token'] }, /only code/],
    ['refresh_token alone', { grant_types: ['refresh_token'], response_types: [] }, /refresh_token/],
    ['a scope outside the policy', { scope: 'admin' }, /scope not allowed/],
    ['a malformed scope', { scope: 'a"b' }, /invalid scope/],
    ['a scope that is not a string', { scope: ['read'] }, /space-separated/],
    ['client_uri over http', { client_uri: 'http://app.example' }, /https/],
    ['logo_uri not a URL', { logo_uri: 'not a url' }, /absolute/],
    ['an empty client_name', { client_name: ' ' }, /client_name/],
    ['contacts not strings', { contacts: [1] }, /contacts/],
    ['jwks and jwks_uri together', { jwks: { keys: [] }, jwks_uri: 'https://x', token_endpoint_auth_method: 'private_key_jwt' }, /both/],
    ['jwks_uri (not fetched)', { jwks_uri: 'https://app.example/jwks', token_endpoint_auth_method: 'private_key_jwt' }, /jwks_uri is not supported/],
    ['private_key_jwt without keys', { token_endpoint_auth_method: 'private_key_jwt' }, /needs the public keys/],
    ['a private key in jwks', { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ kty: 'EC', kid: 'k', d: 'secret' }] } }, /public keys only/],
    ['a key without kid', { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ kty: 'EC' }] } }, /kid/],
  ];
  for (const [kind, change, description, policy] of rows) {
    it(`refuses ${kind}`, () => refused({ ...base, ...change }, 'invalid_client_metadata', description, policy));
  }
  it('fills RFC 7591 defaults, ignores unknown fields and substitutes an allowed auth method', () => {
    const ok = checkClientMetadata({ redirect_uris: [HTTPS], whatever: 1 }, { ...POLICY, allowedAuthMethods: ['none'] });
    assert.deepEqual(ok, {
      redirect_uris: [HTTPS],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      scope: 'read write',
    });
  });
});

describe('RFC 7591 §2.3 software statements', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1' } as Record<string, unknown>;
  const policy: RegistrationPolicy = { ...POLICY, softwareStatementIssuers: [{ issuer: 'https://vendor.example', jwks: { keys: [jwk] } }] };
  const now = Date.UTC(2026, 0, 1);
  const sign = (claims: Record<string, unknown>, key = privateKey) =>
    signCompactJwt({ alg: 'ES256', typ: 'JWT', kid: 'k1' }, { iat: now / 1000, ...claims }, key, 'ES256');
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      return (error as OAuthError).code;
    }
    return 'accepted';
  };

  it('returns the client metadata claims of a statement from a trusted issuer', () => {
    const claims = verifySoftwareStatement(sign({ iss: 'https://vendor.example', client_name: 'Vendor app', software_id: 'v1' }), policy, now, 30);
    assert.deepEqual(claims, { client_name: 'Vendor app', software_id: 'v1' });
  });
  it('answers unapproved_software_statement for an issuer not trusted here', () => {
    assert.equal(
      code(() => verifySoftwareStatement(sign({ iss: 'https://other.example' }), policy, now, 30)),
      'unapproved_software_statement',
    );
  });
  it('answers invalid_software_statement for a bad signature, an expired statement, garbage and a missing iss', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    assert.equal(
      code(() => verifySoftwareStatement(sign({ iss: 'https://vendor.example' }, other), policy, now, 30)),
      'invalid_software_statement',
    );
    assert.equal(
      code(() => verifySoftwareStatement(sign({ iss: 'https://vendor.example', exp: now / 1000 - 600 }), policy, now, 30)),
      'invalid_software_statement',
    );
    assert.equal(
      code(() => verifySoftwareStatement('not.a.jwt', policy, now, 30)),
      'invalid_software_statement',
    );
    assert.equal(
      code(() => verifySoftwareStatement(42, policy, now, 30)),
      'invalid_software_statement',
    );
    assert.equal(
      code(() => verifySoftwareStatement(sign({ client_name: 'x' }), policy, now, 30)),
      'invalid_software_statement',
    );
  });
});
