/** The tables of second factors and passkeys (migrations 026 and 027). */
export interface SecondFactorDatabase {
  user_totp: {
    env_id: string;
    user_id: string;
    secret_sealed: string;
    created_at: number | string;
    confirmed_at: number | string | null;
    last_used_step: number | string | null;
  };
  user_recovery_codes: {
    env_id: string;
    user_id: string;
    code_hash: string;
    created_at: number | string;
    consumed_at: number | string | null;
  };
  sign_in_policies: {
    env_id: string;
    second_factor: string;
    required_clients: string;
    required_scopes: string;
    updated_at: number | string;
    webauthn_rp_id: string | null;
    webauthn_origins: string | null;
  };
  passkeys: {
    env_id: string;
    credential_id: string;
    user_id: string;
    public_key: string;
    counter: number | string;
    transports: string;
    backup_eligible: number;
    backed_up: number;
    name: string;
    created_at: number | string;
    last_used_at: number | string | null;
  };
  webauthn_challenges: {
    challenge_hash: string;
    env_id: string;
    session_hash: string;
    purpose: string;
    user_id: string | null;
    expires_at: number | string;
  };
}
