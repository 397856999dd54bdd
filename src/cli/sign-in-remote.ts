import type { SignInPolicyService } from '../admin/sign-in-policy.ts';

/** The part of the admin API client the sign-in commands use. */
export interface AdminApiCaller {
  get<T>(path: string): Promise<T>;
  call<T>(method: string, path: string, call?: { body?: unknown }): Promise<{ body: T }>;
}

const seg = encodeURIComponent;

/** What the sign-in commands call: the local service, or the admin API with `--server`. */
export type CliSignIn = Pick<SignInPolicyService, 'get' | 'update' | 'factors' | 'revokePasskey' | 'resetFactors'>;

/** The sign-in commands over the admin API. */
export function remoteSignIn(api: AdminApiCaller): CliSignIn {
  const user = (env: string, username: string) => `/environments/${seg(env)}/users/${seg(username)}`;
  return {
    get: (env) => api.get(`/environments/${seg(env)}/sign-in-policy`),
    update: async (env, c) => {
      const body = {
        ...(c.secondFactor === undefined ? {} : { second_factor: c.secondFactor }),
        ...(c.requiredClients === undefined ? {} : { required_clients: c.requiredClients }),
        ...(c.requiredScopes === undefined ? {} : { required_scopes: c.requiredScopes }),
        ...(c.webauthnRpId === undefined ? {} : { webauthn_rp_id: c.webauthnRpId }),
        ...(c.webauthnOrigins === undefined ? {} : { webauthn_origins: c.webauthnOrigins }),
      };
      return (await api.call<Awaited<ReturnType<SignInPolicyService['update']>>>('PATCH', `/environments/${seg(env)}/sign-in-policy`, { body })).body;
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
