import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Client } from '../../src/domain/model.ts';
import { REQUEST_CHECKS, type RequestUnderCheck, requestedScope, requireS256Challenge } from '../../src/oauth/authorization/validate-request.ts';

const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

const client: Client = {
  envId: 'env',
  clientId: 'app',
  name: 'App',
  kind: 'confidential',
  grantTypes: ['authorization_code'],
  scopes: ['read', 'write'],
  defaultScopes: ['read'],
  redirectUris: ['https://app.example/cb'],
  tokenFormat: 'jwt',
  accessTokenTtl: null,
  introspectAny: false,
  allowMissingPkce: true,
  quota: null,
  enabled: true,
  createdAt: 0,
  updatedAt: 0,
};

const underCheck = (params: Record<string, string>, overrides: Partial<RequestUnderCheck> = {}): RequestUnderCheck => ({
  env: { id: 'env-1', name: 'test', createdAt: 0, defaultQuota: null },
  client,
  params,
  duplicates: [],
  rawState: params.state ?? null,
  options: { pkceOptionalForConfidential: false },
  ...overrides,
});

/** The first refusal of the checks, as the endpoint sends it. */
const firstRefusal = (request: RequestUnderCheck) => REQUEST_CHECKS.map((check) => check(request)).find((refusal) => refusal !== undefined);

describe('the checks of an /authorize request', () => {
  it('pass a complete code request with an S256 challenge', () => {
    assert.equal(firstRefusal(underCheck({ response_type: 'code', code_challenge: CHALLENGE, code_challenge_method: 'S256' })), undefined);
  });

  it('refuse in order: repeated parameters, then state, then response_type, then the grant, then PKCE', () => {
    const bad = underCheck({ state: 'a\uFFFDb' }, { duplicates: ['scope'], client: { ...client, grantTypes: [] } });
    assert.deepEqual(firstRefusal(bad), { error: 'invalid_request', description: 'a parameter was given more than once' });
    assert.deepEqual(firstRefusal({ ...bad, duplicates: [] }), { error: 'invalid_request', description: 'state must be percent-encoded UTF-8' });
    assert.deepEqual(firstRefusal({ ...bad, duplicates: [], rawState: null }), { error: 'invalid_request', description: 'response_type is required' });
    const code = underCheck({ response_type: 'code' }, { client: { ...client, grantTypes: [] } });
    assert.equal(firstRefusal(code)?.error, 'unauthorized_client');
    assert.deepEqual(firstRefusal({ ...code, client }), { error: 'invalid_request', description: 'code_challenge is required (PKCE with S256)' });
  });

  it('let a confidential client omit PKCE only where the surface allows it and only with no method either', () => {
    const omitted = underCheck({ response_type: 'code' }, { options: { pkceOptionalForConfidential: true } });
    assert.equal(requireS256Challenge(omitted), undefined);
    assert.equal(requireS256Challenge({ ...omitted, params: { response_type: 'code', code_challenge_method: 'S256' } })?.error, 'invalid_request');
    assert.equal(requireS256Challenge({ ...omitted, client: { ...client, allowMissingPkce: false } })?.error, 'invalid_request');
    assert.equal(requireS256Challenge({ ...omitted, client: { ...client, kind: 'public' } })?.error, 'invalid_request');
  });

  it('refuse plain and malformed challenges (RFC 7636 §4.3, RFC 9700 §2.1.1)', () => {
    assert.equal(requireS256Challenge(underCheck({ code_challenge: CHALLENGE }))?.description, 'code_challenge_method must be S256');
    assert.equal(
      requireS256Challenge(underCheck({ code_challenge: CHALLENGE, code_challenge_method: 'plain' }))?.description,
      'code_challenge_method must be S256',
    );
    assert.equal(
      requireS256Challenge(underCheck({ code_challenge: `${CHALLENGE}x`, code_challenge_method: 'S256' }))?.description,
      'code_challenge must be 43 base64url characters (S256)',
    );
  });

  it('resolve the scope to the defaults when none is asked for, and refuse one the client may not have', () => {
    assert.deepEqual(requestedScope(underCheck({})), ['read']);
    assert.deepEqual(requestedScope(underCheck({ scope: 'write read' })), ['write', 'read']);
    assert.equal((requestedScope(underCheck({ scope: 'admin' })) as { error: string }).error, 'invalid_scope');
  });

  it('answer any parameters with a refusal or a pass, never an exception', () => {
    const params = fc.dictionary(
      fc.constantFrom('response_type', 'code_challenge', 'code_challenge_method', 'scope', 'state', 'other'),
      fc.oneof(fc.string(), fc.constantFrom('code', 'S256', 'plain', CHALLENGE, 'read write', '')),
    );
    fc.assert(
      fc.property(params, fc.boolean(), fc.constantFrom<Client['kind']>('confidential', 'public'), (p, optional, kind) => {
        const request = underCheck(p, { client: { ...client, kind }, options: { pkceOptionalForConfidential: optional } });
        const refusal = firstRefusal(request);
        if (refusal) assert.match(refusal.error, /^(invalid_request|unsupported_response_type|unauthorized_client)$/);
        const scope = requestedScope(request);
        if (!Array.isArray(scope)) assert.equal(scope.error, 'invalid_scope');
      }),
    );
  });
});
