import type { LightMyRequestResponse } from 'fastify';
import { AdminAudit } from '../../src/admin/audit-trail.ts';
import { InitialAccessTokenService } from '../../src/admin/initial-access-tokens.ts';
import { type RegistrationPolicyChanges, RegistrationPolicyService } from '../../src/admin/registration-policy.ts';
import type { TestApp } from './fixtures.ts';

/** The registration admin services of a test app, recording as the CLI user `test`. */
export function registrationAdmin(t: TestApp) {
  const trail = new AdminAudit(t.app.audit.recorder, { kind: 'cli', id: 'test' });
  return {
    policies: new RegistrationPolicyService(t.config, t.store, t.clock, trail),
    tokens: new InitialAccessTokenService(t.store, t.clock, trail),
  };
}

export async function setRegistrationPolicy(t: TestApp, env: string, changes: RegistrationPolicyChanges) {
  return registrationAdmin(t).policies.set(env, changes);
}

/** POST /register with a JSON body (and a Bearer token, from a source address). */
export function register(t: TestApp, env: string, body: unknown, options: { bearer?: string; from?: string } = {}): Promise<LightMyRequestResponse> {
  return t.app.server.inject({
    method: 'POST',
    url: `/envs/${env}/register`,
    headers: { 'content-type': 'application/json', ...(options.bearer ? { authorization: `Bearer ${options.bearer}` } : {}) },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
    ...(options.from ? { remoteAddress: options.from } : {}),
  });
}

/** A request to the client configuration endpoint (RFC 7592) the registration answered with. */
export function manage(t: TestApp, method: 'GET' | 'PUT' | 'DELETE', uri: string, token: string | undefined, body?: unknown): Promise<LightMyRequestResponse> {
  return t.app.server.inject({
    method,
    url: new URL(uri).pathname,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
}
