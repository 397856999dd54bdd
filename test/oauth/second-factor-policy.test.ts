import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { amrOf } from '../../src/accounts/passkeys.ts';
import { withPolicyChanges } from '../../src/admin/sign-in-policy.ts';
import { DEFAULT_SIGN_IN_POLICY } from '../../src/domain/second-factors.ts';
import { policyRequires } from '../../src/oauth/authorization/second-factor-gate.ts';
import { ACR_MFA, ACR_PASSWORD, acrOf, asksForMultiFactor, prefersMultiFactor, withSecondFactor } from '../../src/oauth/openid/acr.ts';

describe('acr and amr of a sign-in', () => {
  it('RFC 8176: a second factor adds its method and mfa, once each', () => {
    assert.deepEqual(withSecondFactor(['pwd'], 'otp'), ['pwd', 'otp', 'mfa']);
    assert.deepEqual(withSecondFactor(undefined, 'hwk'), ['pwd', 'hwk', 'mfa']);
    assert.deepEqual(withSecondFactor(['pwd', 'otp', 'mfa'], 'otp'), ['pwd', 'otp', 'mfa']);
  });

  it('a passkey is hwk when device-bound, swk when it may be synced, and two factors with user verification', () => {
    assert.deepEqual(amrOf({ backupEligible: false }), ['hwk', 'user', 'mfa']);
    assert.deepEqual(amrOf({ backupEligible: true }), ['swk', 'user', 'mfa']);
  });

  it('Core §2: the acr is the multi-factor class only when mfa is among the methods', () => {
    assert.equal(acrOf(['pwd']), ACR_PASSWORD);
    assert.equal(acrOf(undefined), ACR_PASSWORD);
    assert.equal(acrOf(['pwd', 'otp', 'mfa']), ACR_MFA);
  });

  it('Core §3.1.2.1: acr_values in order of preference', () => {
    assert.equal(asksForMultiFactor([ACR_MFA]), true);
    assert.equal(asksForMultiFactor([ACR_MFA, ACR_PASSWORD]), false);
    assert.equal(prefersMultiFactor([ACR_MFA, ACR_PASSWORD]), true);
    assert.equal(prefersMultiFactor([ACR_PASSWORD, ACR_MFA]), false);
    assert.equal(asksForMultiFactor([]), false);
    assert.equal(asksForMultiFactor(['urn:other']), false);
  });
});

describe('sign-in policy', () => {
  const pending = { clientId: 'gh_pay', scope: ['openid', 'payments'] };

  it('required applies to everyone, or only to the named clients or scopes', () => {
    assert.equal(policyRequires({ ...DEFAULT_SIGN_IN_POLICY, secondFactor: 'required' }, pending), true);
    assert.equal(policyRequires({ ...DEFAULT_SIGN_IN_POLICY, secondFactor: 'required', requiredClients: ['gh_other'] }, pending), false);
    assert.equal(policyRequires({ ...DEFAULT_SIGN_IN_POLICY, secondFactor: 'required', requiredClients: ['gh_pay'] }, pending), true);
    assert.equal(policyRequires({ ...DEFAULT_SIGN_IN_POLICY, secondFactor: 'required', requiredScopes: ['payments'] }, pending), true);
    assert.equal(policyRequires({ ...DEFAULT_SIGN_IN_POLICY, secondFactor: 'optional' }, pending), false);
    assert.equal(policyRequires({ ...DEFAULT_SIGN_IN_POLICY, secondFactor: 'password_only' }, pending), false);
  });

  it('changes are checked: known modes, a host name as relying-party id, https origins', () => {
    assert.throws(() => withPolicyChanges(DEFAULT_SIGN_IN_POLICY, { secondFactor: 'always' as never }), /second_factor/);
    assert.throws(() => withPolicyChanges(DEFAULT_SIGN_IN_POLICY, { webauthnRpId: 'https://example.com' }), /webauthn_rp_id/);
    assert.throws(() => withPolicyChanges(DEFAULT_SIGN_IN_POLICY, { webauthnOrigins: ['http://example.com'] }), /webauthn_origins/);
    assert.throws(() => withPolicyChanges(DEFAULT_SIGN_IN_POLICY, { webauthnOrigins: ['https://example.com/path'] }), /webauthn_origins/);
    const next = withPolicyChanges(DEFAULT_SIGN_IN_POLICY, {
      webauthnRpId: 'example.com',
      webauthnOrigins: ['https://login.example.com', 'http://localhost:8080'],
    });
    assert.equal(next.webauthnRpId, 'example.com');
    assert.equal(next.secondFactor, 'optional', 'what a change leaves out is kept');
  });
});
