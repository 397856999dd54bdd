import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { webhookKey } from '../domain/audit.ts';
import { ConfigError } from '../domain/config-error.ts';
import type { SigningAlgorithm } from '../domain/model.ts';
import { BUILT_IN_PROFILES } from '../surfaces/profiles/index.ts';
import { parseSurfaces, type SurfaceSettings } from './surfaces.ts';

export type { SigningAlgorithm };

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
   * (README › Compatibility surfaces). The standard one is added when not listed.
   */
  readonly surfaces: readonly SurfaceSettings[];
  // Audit events (README › Audit events).
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
  // Admin API (README › Admin API)
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

export { ConfigError };

interface Field {
  env: string;
  file: string;
  doc: string;
}

/** Every setting, its environment variable and config-file key, in one place (also used by the README). */
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
  // Prometheus metrics (README › Metrics).
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

type Raw = Record<string, unknown>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * Reads configuration from an optional JSON file (`GATEHOUSE_CONFIG` or `configPath`) and
 * `GATEHOUSE_*` variables (which win), validates every value and returns a frozen object.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, configPath?: string): Config {
  const path = configPath ?? env.GATEHOUSE_CONFIG;
  const file = path ? readConfigFile(path) : {};
  const config = readSettings(settingSource(env, file, path));
  checkAccessTokenCeiling(config);
  checkMetricsPort(config);
  checkAdminListener(config);
  return Object.freeze(config);
}

/** Where one setting comes from: its raw value and the name an error message gives it. */
type SettingSource = (key: keyof Config) => { value: unknown; name: string };

/** The JSON object of a configuration file. */
function readConfigFile(path: string): Raw {
  let file: Raw;
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as Raw;
  } catch (error) {
    throw new ConfigError('GATEHOUSE_CONFIG', `cannot read ${path}: ${(error as Error).message}`);
  }
  if (typeof file !== 'object' || file === null || Array.isArray(file)) {
    throw new ConfigError('GATEHOUSE_CONFIG', `${path} must hold a JSON object`);
  }
  return file;
}

/** A non-empty `GATEHOUSE_*` variable wins over the file's key. */
function settingSource(env: NodeJS.ProcessEnv, file: Raw, path: string | undefined): SettingSource {
  return (key) => {
    const field = CONFIG_FIELDS[key];
    const fromEnv = env[field.env];
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, name: field.env };
    return { value: file[field.file], name: path ? `${field.file} (in ${path})` : field.env };
  };
}

/** Every setting, validated with its default and bounds; the first bad one throws. */
function readSettings(pick: SettingSource): Config {
  const dataDir = str(pick('dataDir'), './data');
  return {
    dataDir,
    databaseUrl: databaseUrl(pick('databaseUrl'), `${dataDir}/gatehouse.db`),
    host: str(pick('host'), '127.0.0.1'),
    port: int(pick('port'), 8080, 0, 65535),
    publicUrl: publicUrl(pick('publicUrl')),
    keySecret: keySecret(pick('keySecret')),
    logLevel: oneOf(pick('logLevel'), LOG_LEVELS, 'info'),
    logFormat: pick('logFormat').value === undefined ? undefined : oneOf(pick('logFormat'), LOG_FORMATS, 'json'),
    signingAlgorithm: oneOf(pick('signingAlgorithm'), ['ES256', 'EdDSA'] as const, 'ES256'),
    accessTokenTtl: int(pick('accessTokenTtl'), 3600, 1, 86_400),
    maxAccessTokenTtl: int(pick('maxAccessTokenTtl'), 86_400, 60, 31 * 86_400),
    secretRotationOverlap: int(pick('secretRotationOverlap'), 86_400, 0, 90 * 86_400),
    bodyLimit: int(pick('bodyLimit'), 16_384, 1024, 10 * 1024 * 1024),
    cacheTtl: int(pick('cacheTtl'), 5, 0, 300),
    jwksMaxAge: int(pick('jwksMaxAge'), 60, 0, 3600),
    authFailureLimit: int(pick('authFailureLimit'), 20, 1, 100_000),
    authFailureSourceLimit: int(pick('authFailureSourceLimit'), 100, 1, 1_000_000),
    authFailureClientLimit: int(pick('authFailureClientLimit'), 200, 1, 1_000_000),
    authFailureWindow: int(pick('authFailureWindow'), 60, 1, 86_400),
    databaseTimeout: int(pick('databaseTimeout'), 5, 1, 60),
    cacheStaleIfError: int(pick('cacheStaleIfError'), 600, 0, 86_400),
    warmStartClients: int(pick('warmStartClients'), 5000, 0, 10_000),
    warmStartTimeout: int(pick('warmStartTimeout'), 10, 1, 120),
    drainPeriod: optionalInt(pick('drainPeriod'), 0, 300),
    shutdownTimeout: int(pick('shutdownTimeout'), 30, 1, 3600),
    quotaWindow: int(pick('quotaWindow'), 60, 1, 86_400),
    quotaSyncInterval: int(pick('quotaSyncInterval'), 1000, 50, 60_000),
    ...protocolSettings(pick),
    sessionTtl: int(pick('sessionTtl'), 8 * 3600, 60, 30 * 86_400),
    passwordHashCost: int(pick('passwordHashCost'), 17, 10, 20),
    loginUsernameLimit: int(pick('loginUsernameLimit'), 5, 1, 10_000),
    loginAddressLimit: int(pick('loginAddressLimit'), 100, 1, 100_000),
    loginWindow: int(pick('loginWindow'), 900, 1, 86_400),
    trustProxy: proxyList(pick('trustProxy')),
    surfaces: parseSurfaces(pick('surfaces')),
    ...auditSettings(pick),
    // Prometheus metrics.
    metricsPort: optionalInt(pick('metricsPort'), 0, 65535),
    metricsHost: str(pick('metricsHost'), '127.0.0.1'),
    metricsMaxClients: int(pick('metricsMaxClients'), 100, 0, 10_000),
    // Usage records: last-used times and daily token counts.
    usageFlushInterval: int(pick('usageFlushInterval'), 5, 1, 300),
    // Admin API
    adminHost: str(pick('adminHost'), '127.0.0.1'),
    adminPort: optionalInt(pick('adminPort'), 0, 65535),
    adminEnvironment: environmentName(pick('adminEnvironment'), 'gatehouse-admin'),
    adminRateLimit: int(pick('adminRateLimit'), 600, 1, 1_000_000),
    // Web console
    consoleClientSecret: pick('consoleClientSecret').value === undefined ? undefined : str(pick('consoleClientSecret'), ''),
    consoleSessionTtl: int(pick('consoleSessionTtl'), 3600, 60, 86_400),
  };
}

/** The lifetimes and windows of the protocols' credentials: assertions, proofs, codes, refresh and ID tokens. */
function protocolSettings(pick: SettingSource) {
  return {
    assertionMaxLifetime: int(pick('assertionMaxLifetime'), 3600, 60, 86_400),
    clockSkew: int(pick('clockSkew'), 30, 0, 300),
    dpopProofWindow: int(pick('dpopProofWindow'), 60, 1, 600),
    authorizationCodeTtl: int(pick('authorizationCodeTtl'), 60, 1, 600),
    // FAPI 2.0 Security Profile §5.3.2.2: a request_uri lives less than 600 seconds.
    pushedRequestTtl: int(pick('pushedRequestTtl'), 60, 1, 599),
    deviceCodeTtl: int(pick('deviceCodeTtl'), 600, 10, 1800),
    deviceCodeInterval: int(pick('deviceCodeInterval'), 5, 1, 60),
    refreshTokenIdleTtl: int(pick('refreshTokenIdleTtl'), 14 * 86_400, 60, 365 * 86_400),
    refreshTokenAbsoluteTtl: int(pick('refreshTokenAbsoluteTtl'), 90 * 86_400, 60, 5 * 365 * 86_400),
    refreshRetryGrace: int(pick('refreshRetryGrace'), 10, 0, 60),
    idTokenTtl: int(pick('idTokenTtl'), 3600, 60, 86_400),
    clientMetadataDocumentsAllowLoopback: oneOf(pick('clientMetadataDocumentsAllowLoopback'), ['true', 'false'], 'false') === 'true',
    clientMetadataDocumentsTimeout: int(pick('clientMetadataDocumentsTimeout'), 5000, 100, 30_000),
    // draft-ietf-oauth-client-id-metadata-document §8.7: 5 kilobytes is the recommended maximum.
    clientMetadataDocumentsMaxBytes: int(pick('clientMetadataDocumentsMaxBytes'), 5120, 1024, 65_536),
  } satisfies Partial<Config>;
}

/** The audit settings: a webhook URL and its secret go together; the secret never appears in an error. */
function auditSettings(pick: SettingSource): Pick<Config, 'auditRetention' | 'auditWebhookUrl' | 'auditWebhookSecret'> {
  const url = pick('auditWebhookUrl');
  const secret = pick('auditWebhookSecret');
  const auditWebhookUrl = url.value === undefined ? undefined : webhookUrl(url);
  if (auditWebhookUrl !== undefined && secret.value === undefined) throw new ConfigError(secret.name, `is required with ${url.name}`);
  if (auditWebhookUrl === undefined && secret.value !== undefined) throw new ConfigError(url.name, `is required with ${secret.name}`);
  let auditWebhookSecret: Buffer | undefined;
  if (secret.value !== undefined) {
    if (typeof secret.value !== 'string') throw new ConfigError(secret.name, 'must be a string');
    try {
      auditWebhookSecret = webhookKey(secret.value.trim());
    } catch (error) {
      throw new ConfigError(secret.name, (error as Error).message);
    }
  }
  return { auditRetention: int(pick('auditRetention'), 90, 1, 3650), auditWebhookUrl, auditWebhookSecret };
}

function webhookUrl(field: { value: unknown; name: string }): string {
  const value = str(field, '');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(field.name, 'is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(field.name, 'must be an http(s) URL');
  return url.href;
}

/** No access token may outlive `maxAccessTokenTtl`: not the default one, not a surface's. */
function checkAccessTokenCeiling(config: Config): void {
  for (const [i, surface] of config.surfaces.entries()) {
    const ttl = surface.accessTokenTtl ?? BUILT_IN_PROFILES.get(surface.profile)?.accessTokenTtl;
    if (ttl !== undefined && ttl > config.maxAccessTokenTtl) {
      throw new ConfigError(
        `${CONFIG_FIELDS.surfaces.env}[${i}].accessTokenTtl`,
        `${ttl} exceeds ${CONFIG_FIELDS.maxAccessTokenTtl.env} (${config.maxAccessTokenTtl})`,
      );
    }
  }
  if (config.accessTokenTtl > config.maxAccessTokenTtl) {
    throw new ConfigError(CONFIG_FIELDS.accessTokenTtl.env, `must not exceed ${CONFIG_FIELDS.maxAccessTokenTtl.env} (${config.maxAccessTokenTtl})`);
  }
}

/** Metrics have a listener of their own: never the public port. */
function checkMetricsPort(config: Config): void {
  if (config.metricsPort !== undefined && config.metricsPort !== 0 && config.metricsPort === config.port) {
    throw new ConfigError(CONFIG_FIELDS.metricsPort.env, `must differ from ${CONFIG_FIELDS.port.env}: /metrics is never served on the public port`);
  }
}

/** The admin API never shares the public listener: same port on the same address is refused. */
function checkAdminListener(config: Config): void {
  if (config.adminPort !== undefined && config.adminPort !== 0 && config.adminPort === config.port) {
    throw new ConfigError(CONFIG_FIELDS.adminPort.env, `must differ from ${CONFIG_FIELDS.port.env}: the admin API has its own listener`);
  }
}

function environmentName(field: { value: unknown; name: string }, fallback: string): string {
  const value = str(field, fallback);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) throw new ConfigError(field.name, 'must be an environment name: 1-64 letters, digits, "-" or "_"');
  return value;
}

/** Production mode needs an explicit public URL and key secret; dev mode fills them in. */
export function requireProductionSettings(config: Config): asserts config is Config & { publicUrl: string; keySecret: Buffer } {
  if (!config.publicUrl) {
    throw new ConfigError(CONFIG_FIELDS.publicUrl.env, 'is required by `gatehouse serve` (or use `serve --dev`)');
  }
  const url = new URL(config.publicUrl);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new ConfigError(CONFIG_FIELDS.publicUrl.env, 'must use https (http is allowed only on a loopback host)');
  }
  if (!config.keySecret) {
    throw new ConfigError(CONFIG_FIELDS.keySecret.env, 'is required by `gatehouse serve` (32+ random bytes, base64url or hex)');
  }
}

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** `10.0.0.1, 10.1.0.0/16, ::1` (or a JSON array of the same) → a frozen list; each entry checked. */
function proxyList({ value, name }: { value: unknown; name: string }): readonly string[] {
  if (value === undefined || value === '') return Object.freeze([]);
  const entries = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : undefined;
  if (!entries) throw new ConfigError(name, 'must be a comma-separated list of addresses or CIDR ranges');
  const list = entries.map((entry) => String(entry).trim()).filter((entry) => entry !== '');
  for (const entry of list) {
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
    if (family === 0 || extra !== undefined || !prefixOk) throw new ConfigError(name, `${JSON.stringify(entry)} is not an IP address or CIDR range`);
  }
  return Object.freeze(list);
}

function str({ value, name }: { value: unknown; name: string }, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.trim() === '') throw new ConfigError(name, 'must be a non-empty string');
  return value.trim();
}

function int({ value, name }: { value: unknown; name: string }, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^\d+$/.test(text.trim())) throw new ConfigError(name, `must be a whole number, got ${JSON.stringify(value)}`);
  const n = Number(text);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function optionalInt(field: { value: unknown; name: string }, min: number, max: number): number | undefined {
  return field.value === undefined ? undefined : int(field, min, min, max);
}

function oneOf<T extends string>({ value, name }: { value: unknown; name: string }, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

function databaseUrl(field: { value: unknown; name: string }, fallback: string): string {
  const value = str(field, fallback);
  if (/^postgres(ql)?:\/\//.test(value)) {
    try {
      new URL(value);
    } catch {
      throw new ConfigError(field.name, 'is not a valid postgres:// URL');
    }
    return value;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) && !value.startsWith('sqlite:')) {
    throw new ConfigError(field.name, 'must be a SQLite file path, a sqlite: URL or a postgres:// URL');
  }
  return value;
}

function publicUrl(field: { value: unknown; name: string }): string | undefined {
  if (field.value === undefined) return undefined;
  const value = str(field, '');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(field.name, `is not a valid URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(field.name, 'must be an http(s) URL');
  if (url.search || url.hash || /[?#]/.test(value)) throw new ConfigError(field.name, 'must not have a query or fragment');
  if (url.username || url.password) throw new ConfigError(field.name, 'must not hold credentials');
  return url.href.replace(/\/+$/, '');
}

/** Decodes a key secret given as hex or base64url; it must hold at least 32 bytes. */
export function decodeKeySecret(value: string, name: string): Buffer {
  const text = value.trim();
  let bytes: Buffer;
  if (/^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0) bytes = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9_-]+$/.test(text)) bytes = Buffer.from(text, 'base64url');
  else throw new ConfigError(name, 'must be base64url or hex');
  if (bytes.length < 32) throw new ConfigError(name, `must hold at least 32 bytes, got ${bytes.length}`);
  return bytes;
}

function keySecret(field: { value: unknown; name: string }): Buffer | undefined {
  if (field.value === undefined) return undefined;
  if (typeof field.value !== 'string') throw new ConfigError(field.name, 'must be a string');
  return decodeKeySecret(field.value, field.name);
}
