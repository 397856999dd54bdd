/**
 * Audit events: who changed what, and which security events happened, in one stable shape.
 * Stored, logged and optionally delivered to a webhook. An event never carries a secret,
 * password, code, token or assertion: only identifiers and small non-secret facts.
 */

/**
 * Every audit event type, in one list so the set is stable and documented (docs/audit.md).
 * A type is never renamed or reused; new ones are added at the end of their group.
 */
export const AUDIT_EVENT_TYPES = [
  // Administrative changes.
  'environment.created',
  'environment.quota_changed',
  'environment.rotation_schedule_changed',
  'environment.oidc_settings_changed',
  'environment.security_settings_changed',
  'client.created',
  'client.enabled',
  'client.disabled',
  'client.quota_changed',
  'client.secret_rotated',
  'client.secret_revoked',
  'client.updated',
  'client.deleted',
  'client.key_added',
  'client.key_revoked',
  'service_account.created',
  'service_account.enabled',
  'service_account.disabled',
  'service_account.key_added',
  'service_account.key_revoked',
  'user.created',
  'user.enabled',
  'user.disabled',
  'user.password_changed',
  'user.sessions_revoked',
  'user.profile_changed',
  'api.created',
  'api.updated',
  'api.deleted',
  'server.started',
  'environment.dpop_settings_changed',
  // RFC 7591 / 7592: the actor of these is the registration (the client), not an operator.
  'client.registered',
  'client.registration_updated',
  'client.registration_deleted',
  'environment.registration_policy_changed',
  'initial_access_token.created',
  'initial_access_token.deleted',
  'environment.client_metadata_documents_changed',
  'environment.branding_changed',
  'environment.sign_in_policy_changed',
  'user.factors_reset',
  'user.passkey_revoked',
  // Security events.
  'signing_key.rotated',
  'signing_key.revoked',
  'refresh_token.reused',
  'authorization_code.reused',
  'user.locked_out',
  'client.quota_exceeded',
  'client.authentication_failed',
  'refresh_token.retried',
  'session.ended',
  'backchannel_logout.delivered',
  'backchannel_logout.failed',
  'device_authorization.approved',
  'device_authorization.denied',
  'token.exchanged',
  'authorization_request.pushed',
  'authorization_request.refused',
  'client.metadata_document_fetched',
  'client.metadata_document_refused',
  // The admin API: every call (changes also have their own event), and refused ones.
  'admin.request',
  'admin.authentication_failed',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export const isAuditEventType = (value: string): value is AuditEventType => (AUDIT_EVENT_TYPES as readonly string[]).includes(value);

/** Who made the change: an operator at the CLI (OS user name), an admin API client, Gatehouse itself, or a client's own registration (RFC 7592). */
export interface AuditActor {
  readonly kind: 'cli' | 'admin_client' | 'system' | 'registration';
  readonly id: string;
}

export const SYSTEM_ACTOR: AuditActor = Object.freeze({ kind: 'system', id: 'gatehouse' });

/** What the event is about: `client`, `user`, `signing_key`, `environment`, `api`, `server`… and its id. */
export interface AuditSubject {
  readonly kind: string;
  readonly id: string;
}

/** Small non-secret facts about the change (a trigger, a quota, a name); never a credential. */
export type AuditDetails = Readonly<Record<string, string | number | boolean | null | readonly string[]>>;

export interface AuditEvent {
  /** Unique; also the webhook idempotency id (`webhook-id`). */
  readonly id: string;
  readonly type: AuditEventType;
  /** Milliseconds since the Unix epoch. */
  readonly time: number;
  /** The environment the event belongs to; null for server-wide events. */
  readonly environment: { readonly id: string; readonly name: string } | null;
  readonly actor: AuditActor;
  readonly subject: AuditSubject;
  readonly outcome: 'success' | 'failure';
  readonly details: AuditDetails;
}

/** An event as a caller describes it; the log adds its id and time. */
export type NewAuditEvent = Omit<AuditEvent, 'id' | 'time' | 'details' | 'outcome'> & {
  readonly outcome?: AuditEvent['outcome'];
  readonly details?: AuditDetails;
};

/** Where an event is stored: the audit store, or the same store seen through an admin change's transaction. */
export interface AuditEventSink {
  insert(event: AuditEvent, outbox: boolean): Promise<void>;
}

/**
 * What the admin services call. `record` resolves once the event is stored, through `into` when
 * given (the transaction of the change it records, so that both commit or neither does).
 */
export interface AuditLog {
  record(event: NewAuditEvent, into?: AuditEventSink): Promise<void>;
}

/** Records nothing: the default when no audit log is wired. */
export const NO_AUDIT: AuditLog = Object.freeze({ async record() {} });

/** Webhook signing secrets shorter than this (in bytes) are refused. */
export const MIN_WEBHOOK_SECRET_BYTES = 32;

/**
 * The key of a webhook signing secret: Standard Webhooks style `whsec_` + base64 (the decoded
 * bytes), or else the text itself as UTF-8. Either way at least 32 bytes. Throws a message that
 * never repeats the secret.
 */
export function webhookKey(secret: string): Buffer {
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
  if (key.length < MIN_WEBHOOK_SECRET_BYTES) {
    throw new Error(`must be whsec_ followed by base64 of at least ${MIN_WEBHOOK_SECRET_BYTES} bytes, or at least ${MIN_WEBHOOK_SECRET_BYTES} characters`);
  }
  return key;
}
