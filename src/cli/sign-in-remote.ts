import type { SignInPolicyService, SignInPolicyView } from '../admin/sign-in-policy.ts';

/** The part of the admin API client the sign-in commands use. */
export interface AdminApiCaller {
  get<T>(path: string): Promise<T>;
  call<T>(method: string, path: string, call?: { body?: unknown }): Promise<{ body: T }>;
  update<T>(method: 'PATCH' | 'PUT', path: string, body: (current: T) => unknown): Promise<T>;
}

const seg = encodeURIComponent;

/** What the sign-in commands call: the local service, or the admin API with `--server`. */
export type CliSignIn = Pick<SignInPolicyService, 'get' | 'update' | 'factors' | 'revokePasskey' | 'resetFactors'>;

/** The sign-in commands over the admin API. */
export function remoteSignIn(api: AdminApiCaller): CliSignIn {
  const user = (env: string, username: string) => `/environments/${seg(env)}/users/${seg(username)}`;
  return {
    get: (env) => api.get(`/environments/${seg(env)}/sign-in-policy`),
    // PATCH with If-Match of the version read just before, which `expect` sees first, as the service's would.
    update: (env, c, expect) => {
      const body = {
        ...(c.secondFactor === undefined ? {} : { second_factor: c.secondFactor }),
        ...(c.requiredClients === undefined ? {} : { required_clients: c.requiredClients }),
        ...(c.requiredScopes === undefined ? {} : { required_scopes: c.requiredScopes }),
        ...(c.webauthnRpId === undefined ? {} : { webauthn_rp_id: c.webauthnRpId }),
        ...(c.webauthnOrigins === undefined ? {} : { webauthn_origins: c.webauthnOrigins }),
      };
      return api.update<SignInPolicyView>('PATCH', `/environments/${seg(env)}/sign-in-policy`, (current) => {
        expect?.(current);
        return body;
      });
    },
    factors: (env, username) => api.get(`${user(env, username)}/factors`),
    revokePasskey: async (env, username, credentialId) => {
      await api.call('DELETE', `${user(env, username)}/passkeys/${seg(credentialId)}`);
    },
    resetFactors: async (env, username) => {
      const { body } = await api.call<{ totp: boolean; recovery_codes: number; passkeys: number }>('POST', `${user(env, username)}/factors/reset`);
      return { totp: body.totp, recoveryCodes: body.recovery_codes, passkeys: body.passkeys };
    },
  };
}
