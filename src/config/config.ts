import { readFileSync } from 'node:fs';
import { webhookKey } from '../domain/audit.ts';
import { ConfigError } from '../domain/config-error.ts';
import type { SigningAlgorithm } from '../domain/model.ts';
import { BUILT_IN_PROFILES } from '../surfaces/profiles/index.ts';
import { CONFIG_FIELDS } from './config-fields.ts';
import { type Config, LOG_FORMATS } from './config-type.ts';
import { databaseUrl, environmentName, int, keySecret, oneOf, optionalInt, proxyList, publicUrl, str, webhookUrl } from './config-values.ts';
import { parseSurfaces } from './surfaces.ts';

export type { SigningAlgorithm };

export { ConfigError };

type Raw = Record<string, unknown>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

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

export * from './config-fields.ts';
export * from './config-type.ts';
export { decodeKeySecret } from './config-values.ts';
