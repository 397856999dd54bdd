import type { SigningAlgorithm } from '../domain/model.ts';
import type { SurfaceSettings } from './surfaces.ts';

/** The validated, frozen configuration every part of Gatehouse reads. */
export interface Config {
  /** `sqlite:` path or `postgres://` URL. */
  readonly databaseUrl: string;
  readonly host: string;
  readonly port: number;
  /** Base of every issuer URL, without a trailing slash. Undefined only in dev mode before defaults apply. */
  readonly publicUrl: string | undefined;
  /** 32+ bytes used to encrypt private signing keys at rest. */
  readonly keySecret: Buffer | undefined;
  readonly dataDir: string;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** `json` (one object per line) or `pretty` (for people); undefined: pretty with `serve --dev`, else json. */
  readonly logFormat: LogFormat | undefined;
  readonly signingAlgorithm: SigningAlgorithm;
  /** Default access-token lifetime in seconds, used when a client sets none. */
  readonly accessTokenTtl: number;
  /** Upper bound for any access-token lifetime; also how long a rotated key stays published. */
  readonly maxAccessTokenTtl: number;
  /** How long an old client secret keeps working after `rotate-secret`, in seconds. */
  readonly secretRotationOverlap: number;
  /** Largest request body accepted, in bytes. */
  readonly bodyLimit: number;
  /** How long a node may serve a cached signing key or client before re-reading storage, in seconds. */
  readonly cacheTtl: number;
  /** `Cache-Control: max-age` of each JWKS, in seconds; with `cacheTtl`, the lead time of a scheduled key rotation. */
  readonly jwksMaxAge: number;
  /** Failed client authentications allowed per (client id, source address) in one window. */
  readonly authFailureLimit: number;
  /** Failed client authentications allowed per source address, whatever the client id, in one window. */
  readonly authFailureSourceLimit: number;
  /** Failed client authentications allowed per client id from all sources together, in one window. */
  readonly authFailureClientLimit: number;
  readonly authFailureWindow: number;
  /** Longest wait for the database (a connection, a statement, SQLite's write lock), in seconds. */
  readonly databaseTimeout: number;
  /** How long a cached client, signing key or environment may still be served while the database is unavailable, in seconds. */
  readonly cacheStaleIfError: number;
  /** Most clients (used within a day) a node loads before it listens; 0: none. */
  readonly warmStartClients: number;
  /** Longest a node spends loading them, in seconds. */
  readonly warmStartTimeout: number;
  /** After SIGTERM/SIGINT: seconds during which new requests are still served while /readyz says 503. */
  readonly drainPeriod: number | undefined;
  /** After the drain period: longest wait for requests in flight, in seconds. */
  readonly shutdownTimeout: number;
  /** Length of a request-quota window, in seconds; quotas are requests per window. */
  readonly quotaWindow: number;
  /** How often each node adds its quota counts to the shared ones, in milliseconds. */
  readonly quotaSyncInterval: number;
  /** Longest accepted distance from now to a jwt-bearer or client assertion's `exp`, in seconds. */
  readonly assertionMaxLifetime: number;
  /** Tolerated clock difference when checking assertion `exp`, `nbf` and `iat`, in seconds. */
  readonly clockSkew: number;
  /** RFC 9449 §4.3: how far a DPoP proof's `iat` may lie from now (before the clock skew), in seconds. */
  readonly dpopProofWindow: number;
  /** Authorization-code lifetime in seconds (at most 600). */
  readonly authorizationCodeTtl: number;
  /** RFC 8628 device code (and user code) lifetime in seconds: `expires_in`. */
  readonly deviceCodeTtl: number;
  /** RFC 8628 §3.2 `interval`: seconds a device waits between polls, until told to slow down. */
  readonly deviceCodeInterval: number;
  /** RFC 9126 §2.2: lifetime of a pushed authorization request's request_uri, in seconds (below 600). */
  readonly pushedRequestTtl: number;
  /** Client ID Metadata Documents: development only, documents may be served from 127.0.0.0/8 and ::1. */
  readonly clientMetadataDocumentsAllowLoopback: boolean;
  /** Client ID Metadata Documents: the whole fetch must end within this many milliseconds. */
  readonly clientMetadataDocumentsTimeout: number;
  /** Client ID Metadata Documents: largest document read, in bytes. */
  readonly clientMetadataDocumentsMaxBytes: number;
  /** A refresh token unused for this many seconds expires. */
  readonly refreshTokenIdleTtl: number;
  /** No refresh token of a family works this many seconds after the user's authorization. */
  readonly refreshTokenAbsoluteTtl: number;
  /** Seconds during which an exact retry of a refresh gets the same answer instead of revoking the family; 0: never. */
  readonly refreshRetryGrace: number;
  /** Lifetime of an ID Token in seconds (OpenID Connect Core §2 `exp`). */
  readonly idTokenTtl: number;
  /** How long a browser stays signed in to the login pages, in seconds. */
  readonly sessionTtl: number;
  /** scrypt cost for new password hashes, as log2(N) (r=8, p=1). */
  readonly passwordHashCost: number;
  /** Login attempts allowed per username, and per source address, in one window. */
  readonly loginUsernameLimit: number;
  readonly loginAddressLimit: number;
  readonly loginWindow: number;
  /**
   * Addresses or CIDR ranges of reverse proxies whose `X-Forwarded-For` is believed. Empty: the
   * peer address is the client's (behind a proxy every caller then shares the proxy's address).
   */
  readonly trustProxy: readonly string[];
  /**
   * The route sets Gatehouse serves: the standard surface plus any compatibility profiles
   * (docs/compatibility-surfaces.md). The standard one is added when not listed.
   */
  readonly surfaces: readonly SurfaceSettings[];
  // Audit events (docs/audit.md).
  /** Days an audit event is kept (and its webhook delivery retried). */
  readonly auditRetention: number;
  /** Where audit events are POSTed; undefined: no webhook. */
  readonly auditWebhookUrl: string | undefined;
  /** The HMAC key signing each webhook request (decoded); set exactly when the URL is. */
  readonly auditWebhookSecret: Buffer | undefined;
  // Prometheus metrics.
  /** Port of the separate `/metrics` listener; undefined: none (`serve --dev` picks 9464). */
  readonly metricsPort: number | undefined;
  /** Address the metrics listener binds (loopback by default: never the public port's). */
  readonly metricsHost: string;
  /** Client ids labelled individually per process; the rest count as `other`. */
  readonly metricsMaxClients: number;
  // Usage records: last-used times and daily token counts.
  /** Seconds between two writes of a node's usage records (and one more at shutdown). */
  readonly usageFlushInterval: number;
  // Admin API (docs/admin-api.md)
  /** Address of the admin API's own listener; loopback unless set otherwise. */
  readonly adminHost: string;
  /** Port of the admin API's listener; undefined: no admin API on this node. */
  readonly adminPort: number | undefined;
  /** The management environment whose tokens the admin API accepts. */
  readonly adminEnvironment: string;
  /** Admin API requests allowed per admin client per minute, on each node. */
  readonly adminRateLimit: number;
  // Web console
  /** The console client's secret, shared by every node; absent: a single node gives its console client a new one at start. */
  readonly consoleClientSecret: string | undefined;
  /** How long a console sign-in lasts, in seconds (never longer than its access token verifies). */
  readonly consoleSessionTtl: number;
}
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
