import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CoreEvent, EventEnvironment } from '../domain/events.ts';
import type { SelfRegistration } from '../domain/model.ts';
import { CountedSeries, HandCountedHistogram } from './hand-counted.ts';

/**
 * Gatehouse's Prometheus metrics (prefix `gatehouse_`). Every label value comes from a bounded
 * set, so no request can grow the registry: client ids up to `maxClients` (then `other`), grant
 * types from the known grants (any other, attacker-chosen value is `other`), environments only
 * once resolved, error codes only when they look like one. No user id, username or secret is
 * ever a label.
 */
export interface MetricsOptions {
  /** Distinct client ids labelled per process; later ones count as `other`. */
  readonly maxClients: number;
  /** The grant types the token endpoint knows (also settable later, see `knowGrantTypes`). */
  readonly grantTypes?: readonly string[];
  /** Process metrics (CPU, memory, event-loop delay, GC); off in tests that count series. */
  readonly processMetrics?: boolean;
}

/** What a scrape reads from the connection pool (PostgreSQL; SQLite has none). */
export interface PoolStats {
  inUse: number;
  idle: number;
  waiting: number;
}

/** Told of every database statement and of the pool, by the store. */
export interface DatabaseObserver {
  /** One statement ran for `seconds`; `failed` if it threw. */
  observeQuery(seconds: number, failed: boolean): void;
  /** The pool to read at each scrape. */
  watchPool(read: () => PoolStats): void;
}

/** When each environment's signing key started signing (epoch ms), for the key-age gauge. */
export type SigningKeyActivations = ReadonlyMap<string, number>;

export const METRIC_PREFIX = 'gatehouse_';
export const OTHER = 'other';
export const UNKNOWN = 'unknown';
const NONE = 'none';
const ERROR_CODE = /^[a-z][a-z_]{0,39}$/;

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const QUERY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];

/** Client ids as labels: the first `max` seen keep their id, every later one is `other`. */
export class ClientLabels {
  private readonly seen = new Set<string>();

  constructor(private readonly max: number) {}

  of(clientId: string | undefined): string {
    if (clientId === undefined) return NONE;
    if (this.seen.has(clientId)) return clientId;
    if (this.seen.size >= this.max) return OTHER;
    this.seen.add(clientId);
    return clientId;
  }
}

export class GatehouseMetrics implements DatabaseObserver {
  readonly registry = new Registry();
  private readonly clients: ClientLabels;
  private grantTypes: ReadonlySet<string>;
  private readonly tables: HandTables = { requests: new CountedSeries(), issued: new CountedSeries() };
  private pools: (() => PoolStats)[] = [];
  private keyActivations: SigningKeyActivations = new Map();
  private readonly m: ReturnType<typeof defineMetrics>;

  constructor(
    options: MetricsOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.clients = new ClientLabels(options.maxClients);
    this.grantTypes = new Set(options.grantTypes ?? []);
    this.m = defineMetrics(this.registry, { pool: () => this.poolTotals(), keyAges: () => this.keyAges() }, this.tables);
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
  }

  /** The grant types labelled by name, once the token endpoint is built (before any request). */
  knowGrantTypes(grantTypes: readonly string[]): void {
    this.grantTypes = new Set(grantTypes);
  }

  /** The grant type as a label: a known grant, `none` when absent, else `other`. */
  grantLabel(grantType: string | undefined): string {
    if (grantType === undefined || grantType === '') return NONE;
    return this.grantTypes.has(grantType) ? grantType : OTHER;
  }

  /** The CoreEvent listener: give it to the node's EventBus. */
  readonly onEvent = (event: CoreEvent): void => {
    if (event.type === 'token.issued') this.countIssued(event);
    else if (event.type === 'client.metadata_document_fetched' || event.type === 'client.metadata_document_refused') this.countDocument(event);
    else this.eventSeries(event)?.inc();
  };

  /**
   * Client ID Metadata Documents: `accepted` (fetched and valid), `failed` (fetched, or tried,
   * and refused) or `refused` (by the URL or host rules, nothing fetched); fetch latency by the
   * same outcome. The URL is never a label (anyone can send one).
   */
  private countDocument(event: Extract<CoreEvent, { type: 'client.metadata_document_fetched' | 'client.metadata_document_refused' }>): void {
    const outcome = event.type === 'client.metadata_document_fetched' ? 'accepted' : event.durationMs === undefined ? 'refused' : 'failed';
    this.m.documents.metadataDocuments.labels(envLabel(event.env), METADATA_DOCUMENT, outcome).inc();
    if (event.durationMs !== undefined) this.m.documents.metadataDocumentSeconds.labels(outcome).observe(event.durationMs / 1000);
  }

  /**
   * One issued token, counted by hand (the per-request event). The key holds the labels, not the
   * raw values: the client cap and the grant types bound them, so the table is as bounded as the
   * metric's series.
   */
  private countIssued(event: Extract<CoreEvent, { type: 'token.issued' }>): void {
    const environment = envLabel(event.env);
    const client = this.clientLabel(event);
    const grant = this.grantLabel(event.grantType);
    // RFC 9449 §5: `DPoP` for a token bound to a proof's key, `Bearer` otherwise.
    const tokenType = event.dpopBound === true ? 'DPoP' : 'Bearer';
    const registration = event.registration ?? ADMIN;
    this.tables.issued.add(`${environment}\u0000${client}\u0000${grant}\u0000${tokenType}\u0000${registration}`, () => ({
      environment,
      client,
      grant_type: grant,
      token_type: tokenType,
      registration,
    }));
  }

  /**
   * The `client` label: the id of an operator's client (within the cap), `other` for a client
   * that registered itself (RFC 7591 or a metadata document): anyone can make those, so they
   * must not use up the cap and push the operator's clients into `other`.
   */
  private clientLabel(event: { clientId?: string | undefined; registration?: SelfRegistration | undefined }): string {
    return event.registration === undefined ? this.clients.of(event.clientId) : OTHER;
  }

  /** The counter child an event increments (token.issued is counted by hand). */
  private eventSeries(event: CoreEvent): Counter.Internal | undefined {
    const env = envLabel(event.env);
    switch (event.type) {
      case 'token.issued':
        return undefined;
      case 'refresh_token.retried':
        return this.m.refreshRetries.labels(env, this.clientLabel(event));
      case 'token.refused':
        return this.m.tokensRefused.labels(env, this.grantLabel(event.grantType), codeLabel(event.code));
      case 'client.authentication_failed':
        return this.m.authFailures.labels(env, this.clientLabel(event), String(event.throttled));
      case 'client.quota_exceeded':
        return this.m.quotaRefusals.labels(env, this.clientLabel(event));
      case 'refresh_token.reused':
        return this.m.refreshReuse.labels(env, this.clientLabel(event));
      case 'authorization_code.reused':
        return this.m.codeReuse.labels(env, this.clientLabel(event));
      case 'user.login':
        return this.m.logins.labels(env, event.outcome);
      case 'user.second_factor':
        return this.m.secondFactors.labels(env, event.method, event.outcome);
      case 'user.locked_out':
        // The username stays out: it is personal data and unbounded.
        return this.m.lockouts.labels(env);
      case 'signing_key.rotated':
        return this.m.keyRotations.labels(env, event.trigger);
      case 'session.ended':
      case 'authorization_request.pushed':
      case 'authorization_request.refused':
        // Counted as requests of the pushed authorization request endpoint.
        return undefined;
      case 'client.registration':
        // RFC 7591: registered clients are labelled as such; their ids stay out (anyone can make one).
        return this.m.clientRegistrations.labels(env, event.operation, 'dynamic');
      case 'device.verification':
        return this.m.deviceVerifications.labels(env, event.outcome);
      case 'device_authorization.approved':
        return this.m.deviceVerifications.labels(env, 'approved');
      case 'device_authorization.denied':
        return this.m.deviceVerifications.labels(env, 'denied');
      case 'backchannel_logout.delivered':
        return this.m.backchannelLogouts.labels(env, this.clientLabel(event), 'delivered');
      case 'backchannel_logout.failed':
        return this.m.backchannelLogouts.labels(env, this.clientLabel(event), event.retry ? 'retry' : 'failed');
      case 'client.metadata_document_fetched':
      case 'client.metadata_document_refused':
        return undefined;
    }
  }

  /**
   * One API request answered. `environment` is the resolved environment's name (`unknown` when
   * it did not resolve), `grantType` the raw parameter (bounded here), `outcome` the OAuth error
   * code rendered or the status class (`2xx`).
   */
  observeRequest(endpoint: string, surface: string, environment: string, grantType: string | undefined, outcome: string, seconds: number): void {
    const grant = endpoint === 'token' ? this.grantLabel(grantType) : NONE;
    const result = outcomeLabel(outcome);
    const labels = () => ({ endpoint, surface, environment, grant_type: grant, outcome: result });
    this.tables.requests.add(`${endpoint}\u0000${surface}\u0000${environment}\u0000${grant}\u0000${result}`, labels);
    this.m.requestDuration.observe(`${endpoint}\u0000${surface}`, () => ({ endpoint, surface }), seconds);
  }

  observeQuery(seconds: number, failed: boolean): void {
    (failed ? this.m.queryFailed : this.m.queryOk).observe(seconds);
  }

  watchPool(read: () => PoolStats): void {
    this.pools = [...this.pools, read];
  }

  /** Replaces the known activation times; the gauge reports `now - activation` at each scrape. */
  setSigningKeyActivations(activations: SigningKeyActivations): void {
    this.keyActivations = activations;
  }

  private poolTotals(): PoolStats | undefined {
    if (this.pools.length === 0) return undefined;
    const total = { inUse: 0, idle: 0, waiting: 0 };
    for (const read of this.pools) {
      const stats = read();
      total.inUse += stats.inUse;
      total.idle += stats.idle;
      total.waiting += stats.waiting;
    }
    return total;
  }

  private keyAges(): [string, number][] {
    const now = this.now();
    return [...this.keyActivations].map(([env, activatedAt]) => [env, Math.max(0, (now - activatedAt) / 1000)]);
  }
}

const envLabel = (env: EventEnvironment | undefined): string => env?.name ?? UNKNOWN;
const codeLabel = (code: string): string => (ERROR_CODE.test(code) ? code : OTHER);
const outcomeLabel = (outcome: string): string => (/^[1-5]xx$/.test(outcome) ? outcome : codeLabel(outcome));

interface Collected {
  pool: () => PoolStats | undefined;
  keyAges: () => [string, number][];
}

/** The per-request series counted by hand (hand-counted.ts), read by their counters at each scrape. */
interface HandTables {
  requests: CountedSeries;
  issued: CountedSeries;
}

/** Every Gatehouse metric, registered on `registry`. Gauges that are the same in every worker take the max, not the sum. */
function defineMetrics(registry: Registry, collected: Collected, tables: HandTables) {
  const registers = [registry];
  const counter = (name: string, help: string, labelNames: string[]) => new Counter({ name: METRIC_PREFIX + name, help, labelNames, registers });
  return {
    ...defineRequestMetrics(registers, tables),
    tokensIssued: new Counter({
      name: `${METRIC_PREFIX}tokens_issued_total`,
      help: 'Access tokens issued',
      labelNames: ['environment', 'client', 'grant_type', 'token_type', 'registration'],
      registers,
      collect() {
        tables.issued.fill(this);
      },
    }),
    tokensRefused: counter('token_refusals_total', 'Token requests refused with an OAuth error', ['environment', 'grant_type', 'error']),
    authFailures: counter('client_auth_failures_total', 'Failed client authentications (throttled: refused before checking)', [
      'environment',
      'client',
      'throttled',
    ]),
    quotaRefusals: counter('quota_refusals_total', 'Requests refused because the client used up its quota', ['environment', 'client']),
    refreshReuse: counter('refresh_token_reuse_total', 'Rotated refresh tokens presented again (family revoked)', ['environment', 'client']),
    refreshRetries: counter('refresh_token_retries_total', 'Exact refresh retries answered again within the grace period (nothing issued)', [
      'environment',
      'client',
    ]),
    codeReuse: counter('authorization_code_reuse_total', 'Authorization codes redeemed twice', ['environment', 'client']),
    logins: counter('logins_total', 'Password logins by outcome', ['environment', 'outcome']),
    secondFactors: counter('second_factor_attempts_total', 'Second factors presented at sign-in, by method (otp, passkey) and outcome', [
      'environment',
      'method',
      'outcome',
    ]),
    lockouts: counter('user_lockouts_total', 'Usernames that went over their failed-login limit', ['environment']),
    keyRotations: counter('signing_key_rotations_total', 'Signing-key rotations', ['environment', 'trigger']),
    clientRegistrations: counter('client_registrations_total', 'Dynamic client registrations (RFC 7591, RFC 7592) by operation', [
      'environment',
      'operation',
      'registration',
    ]),
    deviceVerifications: counter(
      'device_verifications_total',
      'Device verification page outcomes (RFC 8628): code_accepted, wrong_code, throttled, approved, denied',
      ['environment', 'outcome'],
    ),
    backchannelLogouts: counter(
      'backchannel_logout_deliveries_total',
      'Back-channel logout token deliveries: delivered, retry (a failed attempt, tried again later) or failed (given up)',
      ['environment', 'client', 'outcome'],
    ),
    ...defineDatabaseMetrics(registers, collected.pool),
    documents: defineMetadataDocumentMetrics(registers),
    keyAge: new Gauge({
      name: `${METRIC_PREFIX}signing_key_age_seconds`,
      help: 'Seconds since the active signing key of each environment started signing',
      labelNames: ['environment'],
      registers,
      aggregator: 'max',
      collect() {
        this.reset();
        for (const [env, age] of collected.keyAges()) this.labels(env).set(age);
      },
    }),
  };
}

function defineRequestMetrics(registers: Registry[], tables: HandTables) {
  return {
    requests: new Counter({
      name: `${METRIC_PREFIX}http_requests_total`,
      help: 'API requests by endpoint, surface, environment, grant type and outcome (OAuth error code or status class)',
      labelNames: ['endpoint', 'surface', 'environment', 'grant_type', 'outcome'],
      registers,
      collect() {
        tables.requests.fill(this);
      },
    }),
    requestDuration: new HandCountedHistogram(
      `${METRIC_PREFIX}http_request_duration_seconds`,
      'API request latency by endpoint and surface',
      LATENCY_BUCKETS,
    ).register(registers[0] as Registry),
  };
}

/** The `registration` label of an operator's client. */
const ADMIN = 'admin';

/** The `registration` label of clients known by a Client ID Metadata Document. */
const METADATA_DOCUMENT = 'metadata_document';

function defineMetadataDocumentMetrics(registers: Registry[]) {
  return {
    metadataDocuments: new Counter({
      name: `${METRIC_PREFIX}client_metadata_documents_total`,
      help: 'Client ID Metadata Document look-ups: accepted, failed (fetch or validation) or refused (URL or host rules)',
      labelNames: ['environment', 'registration', 'outcome'],
      registers,
    }),
    metadataDocumentSeconds: new Histogram({
      name: `${METRIC_PREFIX}client_metadata_document_fetch_seconds`,
      help: 'Client ID Metadata Document fetch latency by outcome',
      labelNames: ['outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
  };
}

function defineDatabaseMetrics(registers: Registry[], pool: () => PoolStats | undefined) {
  const queries = new Histogram({
    name: `${METRIC_PREFIX}db_query_duration_seconds`,
    help: 'Database statement latency',
    labelNames: ['outcome'],
    buckets: QUERY_BUCKETS,
    registers,
  });
  new Gauge({
    name: `${METRIC_PREFIX}db_pool_connections`,
    help: 'Database pool connections: in_use, idle, and requests waiting for one (PostgreSQL)',
    labelNames: ['state'],
    registers,
    collect() {
      const stats = pool();
      if (!stats) return;
      this.labels('in_use').set(stats.inUse);
      this.labels('idle').set(stats.idle);
      this.labels('waiting').set(stats.waiting);
    },
  });
  return { queryOk: queries.labels('ok'), queryFailed: queries.labels('error') };
}
