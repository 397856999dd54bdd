import type { Config } from './config-type.ts';

interface Field {
  env: string;
  file: string;
  doc: string;
}

/** Every setting, its environment variable and config-file key, in one place (also checked against docs/configuration.md). */
export const CONFIG_FIELDS: Record<keyof Config, Field> = {
  databaseUrl: { env: 'GATEHOUSE_DATABASE_URL', file: 'databaseUrl', doc: 'SQLite path, `sqlite:` URL or `postgres://` URL' },
  host: { env: 'GATEHOUSE_HOST', file: 'host', doc: 'address to listen on' },
  port: { env: 'GATEHOUSE_PORT', file: 'port', doc: 'port to listen on' },
  publicUrl: { env: 'GATEHOUSE_PUBLIC_URL', file: 'publicUrl', doc: 'base of every issuer URL' },
  keySecret: { env: 'GATEHOUSE_KEY_SECRET', file: 'keySecret', doc: '32+ random bytes, base64url or hex' },
  dataDir: { env: 'GATEHOUSE_DATA_DIR', file: 'dataDir', doc: 'folder for the SQLite file and dev secrets' },
  logLevel: { env: 'GATEHOUSE_LOG_LEVEL', file: 'logLevel', doc: 'pino log level' },
  logFormat: { env: 'GATEHOUSE_LOG_FORMAT', file: 'logFormat', doc: 'json or pretty (default: pretty with serve --dev, else json)' },
  signingAlgorithm: { env: 'GATEHOUSE_SIGNING_ALG', file: 'signingAlgorithm', doc: 'ES256 or EdDSA' },
  accessTokenTtl: { env: 'GATEHOUSE_ACCESS_TOKEN_TTL', file: 'accessTokenTtl', doc: 'seconds' },
  maxAccessTokenTtl: { env: 'GATEHOUSE_MAX_ACCESS_TOKEN_TTL', file: 'maxAccessTokenTtl', doc: 'seconds' },
  secretRotationOverlap: { env: 'GATEHOUSE_SECRET_ROTATION_OVERLAP', file: 'secretRotationOverlap', doc: 'seconds' },
  bodyLimit: { env: 'GATEHOUSE_BODY_LIMIT', file: 'bodyLimit', doc: 'bytes' },
  cacheTtl: { env: 'GATEHOUSE_CACHE_TTL', file: 'cacheTtl', doc: 'seconds' },
  jwksMaxAge: { env: 'GATEHOUSE_JWKS_MAX_AGE', file: 'jwksMaxAge', doc: 'seconds, 0..3600 (default 60)' },
  authFailureLimit: { env: 'GATEHOUSE_AUTH_FAILURE_LIMIT', file: 'authFailureLimit', doc: 'failures per window per client id and source address' },
  authFailureSourceLimit: { env: 'GATEHOUSE_AUTH_FAILURE_SOURCE_LIMIT', file: 'authFailureSourceLimit', doc: 'failures per window per source address' },
  authFailureClientLimit: { env: 'GATEHOUSE_AUTH_FAILURE_CLIENT_LIMIT', file: 'authFailureClientLimit', doc: 'failures per window per client id, all sources' },
  authFailureWindow: { env: 'GATEHOUSE_AUTH_FAILURE_WINDOW', file: 'authFailureWindow', doc: 'seconds' },
  databaseTimeout: { env: 'GATEHOUSE_DATABASE_TIMEOUT', file: 'databaseTimeout', doc: 'seconds, 1..60 (default 5)' },
  cacheStaleIfError: { env: 'GATEHOUSE_CACHE_STALE_IF_ERROR', file: 'cacheStaleIfError', doc: 'seconds, 0 disables (default 600)' },
  warmStartClients: {
    env: 'GATEHOUSE_WARM_START_CLIENTS',
    file: 'warmStartClients',
    doc: 'clients used within a day loaded before listening, 0..10000 (default 5000)',
  },
  warmStartTimeout: { env: 'GATEHOUSE_WARM_START_TIMEOUT', file: 'warmStartTimeout', doc: 'seconds, 1..120 (default 10)' },
  drainPeriod: { env: 'GATEHOUSE_DRAIN_PERIOD', file: 'drainPeriod', doc: 'seconds (default 5; 0 with serve --dev)' },
  shutdownTimeout: { env: 'GATEHOUSE_SHUTDOWN_TIMEOUT', file: 'shutdownTimeout', doc: 'seconds (default 30)' },
  quotaWindow: { env: 'GATEHOUSE_QUOTA_WINDOW', file: 'quotaWindow', doc: 'seconds (default 60)' },
  quotaSyncInterval: { env: 'GATEHOUSE_QUOTA_SYNC_INTERVAL', file: 'quotaSyncInterval', doc: 'milliseconds, 50..60000 (default 1000)' },
  assertionMaxLifetime: { env: 'GATEHOUSE_ASSERTION_MAX_LIFETIME', file: 'assertionMaxLifetime', doc: 'seconds' },
  clockSkew: { env: 'GATEHOUSE_CLOCK_SKEW', file: 'clockSkew', doc: 'seconds' },
  dpopProofWindow: { env: 'GATEHOUSE_DPOP_PROOF_WINDOW', file: 'dpopProofWindow', doc: 'seconds (default 60)' },
  authorizationCodeTtl: { env: 'GATEHOUSE_AUTHORIZATION_CODE_TTL', file: 'authorizationCodeTtl', doc: 'seconds, at most 600' },
  deviceCodeTtl: { env: 'GATEHOUSE_DEVICE_CODE_TTL', file: 'deviceCodeTtl', doc: 'seconds, 10..1800 (default 600)' },
  deviceCodeInterval: { env: 'GATEHOUSE_DEVICE_CODE_INTERVAL', file: 'deviceCodeInterval', doc: 'seconds, 1..60 (default 5)' },
  pushedRequestTtl: { env: 'GATEHOUSE_PUSHED_REQUEST_TTL', file: 'pushedRequestTtl', doc: 'seconds, at most 599' },
  clientMetadataDocumentsAllowLoopback: {
    env: 'GATEHOUSE_CLIENT_METADATA_DOCUMENTS_ALLOW_LOOPBACK',
    file: 'clientMetadataDocumentsAllowLoopback',
    doc: 'true or false (default false; development only)',
  },
  clientMetadataDocumentsTimeout: {
    env: 'GATEHOUSE_CLIENT_METADATA_DOCUMENTS_TIMEOUT',
    file: 'clientMetadataDocumentsTimeout',
    doc: 'milliseconds, 100..30000 (default 5000)',
  },
  clientMetadataDocumentsMaxBytes: {
    env: 'GATEHOUSE_CLIENT_METADATA_DOCUMENTS_MAX_BYTES',
    file: 'clientMetadataDocumentsMaxBytes',
    doc: 'bytes, 1024..65536 (default 5120)',
  },
  refreshTokenIdleTtl: { env: 'GATEHOUSE_REFRESH_TOKEN_IDLE_TTL', file: 'refreshTokenIdleTtl', doc: 'seconds' },
  refreshTokenAbsoluteTtl: { env: 'GATEHOUSE_REFRESH_TOKEN_ABSOLUTE_TTL', file: 'refreshTokenAbsoluteTtl', doc: 'seconds' },
  refreshRetryGrace: { env: 'GATEHOUSE_REFRESH_RETRY_GRACE', file: 'refreshRetryGrace', doc: 'seconds, 0..60, 0 disables (default 10)' },
  idTokenTtl: { env: 'GATEHOUSE_ID_TOKEN_TTL', file: 'idTokenTtl', doc: 'seconds, 60..86400 (default 3600)' },
  sessionTtl: { env: 'GATEHOUSE_SESSION_TTL', file: 'sessionTtl', doc: 'seconds' },
  passwordHashCost: { env: 'GATEHOUSE_PASSWORD_HASH_COST', file: 'passwordHashCost', doc: 'scrypt log2(N), 10..20 (default 17)' },
  loginUsernameLimit: { env: 'GATEHOUSE_LOGIN_USERNAME_LIMIT', file: 'loginUsernameLimit', doc: 'attempts per window' },
  loginAddressLimit: { env: 'GATEHOUSE_LOGIN_ADDRESS_LIMIT', file: 'loginAddressLimit', doc: 'attempts per window' },
  loginWindow: { env: 'GATEHOUSE_LOGIN_WINDOW', file: 'loginWindow', doc: 'seconds' },
  trustProxy: { env: 'GATEHOUSE_TRUST_PROXY', file: 'trustProxy', doc: 'comma-separated proxy addresses or CIDR ranges' },
  surfaces: { env: 'GATEHOUSE_SURFACES', file: 'surfaces', doc: 'JSON array of surfaces (see Compatibility surfaces)' },
  // Audit events.
  auditRetention: { env: 'GATEHOUSE_AUDIT_RETENTION', file: 'auditRetention', doc: 'days an audit event is kept, 1..3650 (default 90)' },
  auditWebhookUrl: { env: 'GATEHOUSE_AUDIT_WEBHOOK_URL', file: 'auditWebhookUrl', doc: 'http(s) URL audit events are POSTed to (optional)' },
  auditWebhookSecret: {
    env: 'GATEHOUSE_AUDIT_WEBHOOK_SECRET',
    file: 'auditWebhookSecret',
    doc: 'webhook signing secret, `whsec_` + base64 or 32+ characters; required with the URL',
  },
  // Prometheus metrics (docs/operations.md › Metrics).
  metricsPort: {
    env: 'GATEHOUSE_METRICS_PORT',
    file: 'metricsPort',
    doc: 'port of the /metrics listener, 0..65535 (0 picks one; off by default, 9464 with serve --dev)',
  },
  metricsHost: { env: 'GATEHOUSE_METRICS_HOST', file: 'metricsHost', doc: 'address of the /metrics listener (default 127.0.0.1)' },
  metricsMaxClients: { env: 'GATEHOUSE_METRICS_MAX_CLIENTS', file: 'metricsMaxClients', doc: 'client ids labelled individually, 0..10000 (default 100)' },
  // Usage records: last-used times and daily token counts.
  usageFlushInterval: { env: 'GATEHOUSE_USAGE_FLUSH_INTERVAL', file: 'usageFlushInterval', doc: 'seconds, 1..300 (default 5)' },
  // Admin API
  adminHost: { env: 'GATEHOUSE_ADMIN_HOST', file: 'adminHost', doc: 'address the admin API listens on (default 127.0.0.1)' },
  adminPort: { env: 'GATEHOUSE_ADMIN_PORT', file: 'adminPort', doc: 'port of the admin API; unset: no admin API' },
  adminEnvironment: {
    env: 'GATEHOUSE_ADMIN_ENV',
    file: 'adminEnvironment',
    doc: 'management environment whose tokens the admin API accepts (default gatehouse-admin)',
  },
  adminRateLimit: { env: 'GATEHOUSE_ADMIN_RATE_LIMIT', file: 'adminRateLimit', doc: 'admin API requests per admin client per minute, per node (default 600)' },
  // Web console
  consoleClientSecret: { env: 'GATEHOUSE_CONSOLE_CLIENT_SECRET', file: 'consoleClientSecret', doc: 'the console client secret, the same on every node' },
  consoleSessionTtl: { env: 'GATEHOUSE_CONSOLE_SESSION_TTL', file: 'consoleSessionTtl', doc: 'seconds, 60..86400 (default 3600)' },
};
