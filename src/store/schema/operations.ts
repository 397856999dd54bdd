/** One audit event (migration 009); `details` is a JSON object. */
export interface AuditEventTable {
  id: string;
  type: string;
  time: number;
  env_id: string | null;
  env_name: string | null;
  actor_kind: 'cli' | 'admin_client' | 'system' | 'registration';
  actor_id: string;
  subject_kind: string;
  subject_id: string;
  outcome: 'success' | 'failure';
  details: string;
}

/** The webhook delivery of one audit event (migration 009). */
export interface AuditOutboxTable {
  event_id: string;
  attempts: number;
  next_attempt_at: number;
  lease_until: number | null;
  delivered_at: number | null;
  last_error: string | null;
}

/** Access tokens issued to a client on one UTC day (migration 010). */
export interface TokenCountTable {
  env_id: string;
  client_id: string;
  /** YYYY-MM-DD, UTC. */
  day: string;
  count: number;
}

/** Migration 011: the admin API's idempotency keys. */
export interface IdempotencyKeyTable {
  key_hash: string;
  request_hash: string;
  status: number | null;
  response: string | null;
  created_at: number;
  expires_at: number;
}

/** Import (migration 012): a source record and the Gatehouse record it became. */
export interface ImportMappingTable {
  env_id: string;
  /** The source the row came from (migration 013); `legacy` for rows written before sources were recorded. */
  source_id: string;
  kind: 'client' | 'user' | 'refresh_token' | 'access_token';
  /** The client id, the user's source id, or a token's Gatehouse hash (never a token in clear). */
  source_key: string;
  target_id: string;
  source_version: string | null;
  imported_at: number;
  updated_at: number;
}

/** Back-Channel Logout's outbox (migration 019): what a logout token is signed from, never the token. */
export interface BackchannelLogoutTable {
  /** Also the logout token's `jti`. */
  id: string;
  env_id: string;
  client_id: string;
  subject: string;
  sid: string | null;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
  lease_until: number | null;
  last_error: string | null;
}
