import { randomBytes, randomUUID } from 'node:crypto';
import { importPKCS8, SignJWT } from 'jose';
import pg from 'pg';
import type { AdminService } from '../../src/admin/admin-service.ts';
import { loadConfig } from '../../src/config/config.ts';
import { systemClock } from '../../src/domain/clock.ts';
import { JWT_BEARER_GRANT_TYPE } from '../../src/oauth/assertions.ts';
import { createAdminServices } from '../../src/server/admin.ts';
import { openStore } from '../../src/store/open.ts';
import { type Started, startServer } from './processes.ts';

export const BENCH_ENV = 'BENCH';
/** The registered (loopback) redirect URI of the authorization_code client. */
export const BENCH_REDIRECT_URI = 'http://127.0.0.1/bench/callback';
/** RFC 8628 §3.4, written out: a revision measured by `--ab` may have no module that names it. */
export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

export interface Credentials {
  id: string;
  secret: string;
}

/** What the bench knows of a prepared Gatehouse database and the URLs of the server that will serve it. */
export interface GatehouseTarget {
  databaseUrl: string;
  /** Id of the BENCH environment, for rows written straight into the database. */
  envId: string;
  tokenUrl: string;
  introspectUrl: string;
  revokeUrl: string;
  jwtClient: Credentials;
  /** Like `jwtClient`, with a request quota far above what the benchmark sends: the cost of quota accounting. */
  quotaClient: Credentials;
  opaqueClient: Credentials;
  resourceServer: Credentials;
  /** Confidential, grant types authorization_code + refresh_token, redirect URI `BENCH_REDIRECT_URI`. */
  codeClient: Credentials;
  /**
   * Like `codeClient`, allowed `openid`: its codes give an RS256 ID Token (the default), and
   * `oidcEs256Client`'s an ES256 one. Absent when the server measured predates OpenID Connect.
   */
  oidcClient?: Credentials;
  oidcEs256Client?: Credentials;
  /** A confidential client allowed the device authorization grant (RFC 8628). Absent when the server measured predates it. */
  deviceClient?: Credentials;
  /** An enabled end user, the subject of pre-minted codes and token families. */
  userId: string;
  serviceAccount: { id: string; kid: string; alg: string; privateKeyPem: string };
}

/** A prepared database and the settings `gatehouse serve` needs to serve it. */
export interface PreparedGatehouse extends GatehouseTarget {
  port: number;
  /** GATEHOUSE_* settings of the server (database, public URL, key secret, port). */
  env: Record<string, string>;
}

export interface GatehouseFixture extends GatehouseTarget {
  server: Started;
}

export const basicHeader = (c: Credentials) => `Basic ${Buffer.from(`${c.id}:${c.secret}`).toString('base64')}`;

/** Creates (or recreates) the PostgreSQL database the benchmark uses. */
export async function freshPostgresDatabase(adminUrl: string, name: string): Promise<string> {
  await onPostgres(adminUrl, async (client) => {
    await client.query(`drop database if exists ${name} with (force)`);
    await client.query(`create database ${name}`);
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.href;
}

/** Drops a database made by `freshPostgresDatabase` (`databaseUrl` is its URL). */
export async function dropPostgresDatabase(adminUrl: string, databaseUrl: string): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  await onPostgres(adminUrl, (client) => client.query(`drop database if exists ${name} with (force)`));
}

async function onPostgres(adminUrl: string, work: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

/** Migrates a database and creates an environment, clients, a user and a service account in it. */
export async function prepareGatehouse(options: { databaseUrl: string; port: number }): Promise<PreparedGatehouse> {
  const publicUrl = `http://127.0.0.1:${options.port}`;
  const env = {
    GATEHOUSE_DATABASE_URL: options.databaseUrl,
    GATEHOUSE_PUBLIC_URL: publicUrl,
    GATEHOUSE_KEY_SECRET: randomBytes(32).toString('hex'),
    GATEHOUSE_PORT: String(options.port),
    // Pre-minted codes must outlive warm-up plus the measured run; 600 s is the most allowed.
    GATEHOUSE_AUTHORIZATION_CODE_TTL: '600',
  };
  // The lowest scrypt cost, so creating the bench user takes milliseconds.
  const config = Object.freeze({ ...loadConfig({ ...env, GATEHOUSE_LOG_LEVEL: 'warn', GATEHOUSE_PASSWORD_HASH_COST: '10' }), publicUrl });
  const store = openStore(config.databaseUrl);
  await store.migrate();
  const { admin, serviceAccounts: accounts, users } = createAdminServices(config, store, systemClock);
  await admin.createEnvironment(BENCH_ENV);
  const client = async (name: string, extra: Parameters<AdminService['createClient']>[0] extends infer T ? Partial<T> : never) => {
    const created = await admin.createClient({ env: BENCH_ENV, name, scopes: ['read', 'write'], ...extra });
    return { id: created.client_id, secret: created.client_secret ?? '' };
  };
  const jwtClient = await client('bench-jwt', {});
  const quotaClient = await client('bench-jwt-quota', { quota: 100_000_000 });
  const opaqueClient = await client('bench-opaque', { tokenFormat: 'opaque' });
  const resourceServer = await client('bench-resource-server', { introspectAny: true });
  const codeFlow = { grantTypes: ['authorization_code', 'refresh_token'], redirectUris: [BENCH_REDIRECT_URI] };
  const codeClient = await client('bench-code', codeFlow);
  const oidcClient = await client('bench-oidc', { ...codeFlow, scopes: ['openid', 'read'] });
  const oidcEs256Client = await client('bench-oidc-es256', { ...codeFlow, scopes: ['openid', 'read'], idTokenSignedResponseAlg: 'ES256' });
  const deviceClient = await client('bench-device', { grantTypes: [DEVICE_CODE_GRANT_TYPE, 'refresh_token'] }).catch(() => undefined);
  const user = await users.create({
    env: BENCH_ENV,
    username: 'bench-user',
    password: randomBytes(18).toString('base64url'),
  });
  const envId = (await store.environments.findByName(BENCH_ENV))?.id;
  if (envId === undefined) throw new Error(`environment ${BENCH_ENV} was not created`);
  const account = await accounts.create({ env: BENCH_ENV, name: 'bench-sa', scopes: ['read'] });
  const key = await accounts.createKey(BENCH_ENV, account.service_account_id, 'ES256');
  await store.close();
  const issuer = `${publicUrl}/envs/${BENCH_ENV}`;
  return {
    port: options.port,
    env,
    databaseUrl: options.databaseUrl,
    envId,
    tokenUrl: `${issuer}/token`,
    introspectUrl: `${issuer}/introspect`,
    revokeUrl: `${issuer}/revoke`,
    jwtClient,
    quotaClient,
    opaqueClient,
    resourceServer,
    codeClient,
    oidcClient,
    oidcEs256Client,
    ...(deviceClient ? { deviceClient } : {}),
    userId: user.user_id,
    serviceAccount: { id: account.service_account_id, kid: key.kid, alg: key.alg, privateKeyPem: key.private_key_pem },
  };
}

export interface ServeOptions {
  cpu?: string;
  workers?: number;
  /** Extra node flags for the server, such as --cpu-prof. */
  nodeArgs?: string[];
  /** Extra settings for the server only (such as GATEHOUSE_METRICS_PORT). */
  serverEnv?: Record<string, string>;
  /** What to run instead of `bin/gatehouse serve` (node arguments), such as a bench/servers script. */
  command?: string[];
  /** The source tree whose `bin/gatehouse` serves (default: this one), such as another git worktree. */
  root?: string;
  /** How long stopping waits for the server to exit before SIGKILL (default 5 s). */
  stopGraceMs?: number;
}

/** Starts `gatehouse serve` in production mode (optionally with several workers) on a prepared database. */
export async function serveGatehouse(prepared: PreparedGatehouse, options: ServeOptions = {}): Promise<GatehouseFixture> {
  const { port, env, ...target } = prepared;
  const server = await startServer(
    'node',
    [...(options.nodeArgs ?? []), ...(options.command ?? ['bin/gatehouse', 'serve', ...(options.workers ? ['--workers', String(options.workers)] : [])])],
    {
      env: { ...env, GATEHOUSE_LOG_LEVEL: 'warn', GATEHOUSE_HOST: '127.0.0.1', ...options.serverEnv },
      ready: /Gatehouse is listening/,
      port,
      ...(options.cpu === undefined ? {} : { cpu: options.cpu }),
      ...(options.root === undefined ? {} : { cwd: options.root }),
      ...(options.stopGraceMs === undefined ? {} : { stopGraceMs: options.stopGraceMs }),
    },
  );
  return { ...target, server };
}

/**
 * Prepares a database with an environment, clients and a service account, then starts
 * `gatehouse serve` in production mode on it (optionally with several workers).
 */
export async function startGatehouse(options: { databaseUrl: string; port: number } & ServeOptions): Promise<GatehouseFixture> {
  const { databaseUrl, port, ...serve } = options;
  return serveGatehouse(await prepareGatehouse({ databaseUrl, port }), serve);
}

/** Gets one access token for `client` from the running server. */
export async function mintToken(fixture: GatehouseTarget, client: Credentials): Promise<string> {
  const response = await fetch(fixture.tokenUrl, {
    method: 'POST',
    headers: { authorization: basicHeader(client), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  if (!response.ok) throw new Error(`minting a token failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** Pre-signs `count` single-use jwt-bearer request bodies (each assertion has its own jti). */
export async function presignAssertions(fixture: GatehouseTarget, count: number): Promise<string[]> {
  const { id, kid, alg, privateKeyPem } = fixture.serviceAccount;
  const key = await importPKCS8(privateKeyPem, alg);
  const now = Math.floor(Date.now() / 1000);
  const bodies: string[] = [];
  for (let i = 0; i < count; i++) {
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg, kid })
      .setIssuer(id)
      .setSubject(id)
      .setAudience(fixture.tokenUrl)
      .setIssuedAt(now)
      .setExpirationTime(now + 1800)
      .setJti(randomUUID())
      .sign(key);
    bodies.push(`grant_type=${encodeURIComponent(JWT_BEARER_GRANT_TYPE)}&assertion=${assertion}`);
  }
  return bodies;
}
