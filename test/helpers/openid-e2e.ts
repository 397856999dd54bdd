import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type createRemoteJWKSet, decodeJwt, type JWTPayload, jwtVerify } from 'jose';
import pg from 'pg';
import type { Page } from 'playwright-core';
import { POSTGRES_URL } from './databases.ts';
import { BIN, ROOT, startDevServer, within } from './dev-server.ts';
import { productionServer } from './production-server.ts';

/*
 * What the OpenID Connect end-to-end tests share: the relying party's own HTTP endpoints (redirect
 * URI, post-logout redirect URI, back-channel logout URI) on 127.0.0.1, Chromium, and a browser
 * over plain HTTP that walks Gatehouse's login and consent pages.
 */

export { CHROMIUM, launchChromium, WAIT_MS } from './chromium.ts';

import { WAIT_MS } from './chromium.ts';
/** Back-Channel Logout 1.0 §2.6: the `events` member that makes a JWT a logout token. */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** The claims of an ID Token (Core §2) a test looks at. */
export interface IdTokenClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  auth_time?: number;
  nonce?: string;
  at_hash?: string;
  acr?: string;
  amr?: string[];
  azp?: string;
  sid?: string;
  [claim: string]: unknown;
}

/** One request the relying party received. */
export interface Received {
  method: string;
  url: URL;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * The relying party's endpoints: `/callback` (redirect URI), `/post-logout` (post-logout redirect
 * URI) and `/backchannel-logout` (Back-Channel Logout §2.5: answers 200 with no-store). Every
 * request is recorded; `next(path)` waits for the next one to a path.
 */
export class RelyingPartyServer {
  readonly received: Received[] = [];
  private waiters: { path: string; resolve: (r: Received) => void }[] = [];
  private listeners: (() => void)[] = [];
  private readonly server: Server;
  url = '';

  constructor() {
    this.server = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => {
        body += chunk;
      });
      request.on('end', () => {
        const url = new URL(request.url ?? '/', this.url);
        const entry: Received = { method: request.method ?? 'GET', url, headers: request.headers, body };
        if (url.pathname === '/backchannel-logout') {
          response.writeHead(200, { 'cache-control': 'no-store' }).end();
        } else if (url.pathname === '/callback' || url.pathname === '/post-logout') {
          response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('done');
        } else {
          response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
          return;
        }
        this.received.push(entry);
        const ready = this.waiters.filter((w) => w.path === url.pathname);
        this.waiters = this.waiters.filter((w) => w.path !== url.pathname);
        for (const waiter of ready) waiter.resolve(entry);
        for (const listener of this.listeners) listener();
      });
    });
  }

  get redirectUri(): string {
    return `${this.url}/callback`;
  }

  get postLogoutRedirectUri(): string {
    return `${this.url}/post-logout`;
  }

  get backchannelLogoutUri(): string {
    return `${this.url}/backchannel-logout`;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The next request to `path` from now on, or an error after `ms`. */
  next(path: '/callback' | '/post-logout' | '/backchannel-logout', ms = WAIT_MS): Promise<Received> {
    return within(new Promise<Received>((resolve) => this.waiters.push({ path, resolve })), ms, () => `a request to ${path}`);
  }

  /** The first request received (before or after now) that `matches`, or an error after `ms`. */
  until(what: string, matches: (r: Received) => boolean, ms = WAIT_MS): Promise<Received> {
    return within(
      new Promise<Received>((resolve) => {
        const check = () => {
          const found = this.received.find(matches);
          if (!found) return;
          this.listeners = this.listeners.filter((l) => l !== check);
          resolve(found);
        };
        this.listeners.push(check);
        check();
      }),
      ms,
      () => what,
    );
  }

  /** The logout tokens POSTed to `/backchannel-logout` so far (the form field, §2.5). */
  logoutTokens(): string[] {
    return this.received
      .filter((r) => r.url.pathname === '/backchannel-logout' && r.method === 'POST')
      .map((r) => new URLSearchParams(r.body).get('logout_token') ?? '');
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Opens `url` (an authentication request) in `page` and answers whatever Gatehouse shows: the
 * login page (username and password), the consent page (Allow), until the browser reaches the
 * relying party's `/callback`. Returns the callback URL, the pages shown on the way and the
 * consent page's text (when one was shown).
 */
export async function browserSignIn(
  page: Page,
  url: URL,
  rp: RelyingPartyServer,
  user: { username: string; password: string },
): Promise<{ callback: URL; pages: ('login' | 'consent')[]; consentText?: string }> {
  const arrived = rp.next('/callback');
  arrived.catch(() => {});
  const pages: ('login' | 'consent')[] = [];
  let consentText: string | undefined;
  await page.goto(url.href);
  for (let step = 0; step < 4; step++) {
    if (page.url().startsWith(rp.redirectUri)) break;
    if (/\/login\?/.test(page.url()) || /\/login$/.test(new URL(page.url()).pathname)) {
      pages.push('login');
      await page.getByLabel('Username').fill(user.username);
      await page.getByLabel('Password').fill(user.password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    } else if (/\/consent\?/.test(page.url())) {
      pages.push('consent');
      consentText = (await page.locator('body').textContent()) ?? '';
      await page.getByRole('button', { name: 'Allow' }).click();
    } else {
      assert.fail(`unexpected page ${page.url()}: ${(await page.locator('body').textContent())?.slice(0, 500)}`);
    }
    await page.waitForURL((current) => current.href.startsWith(rp.redirectUri) || /\/(login|consent)\?/.test(current.href), { timeout: WAIT_MS });
  }
  return { callback: (await arrived).url, pages, consentText };
}

/** What walking an authorization request over HTTP ended with. */
export interface Walked {
  /** Where Gatehouse finally sent the browser outside itself (the redirect URI), if it did. */
  location?: URL;
  /** A page Gatehouse answered with instead (an error page), if it did not redirect. */
  page?: { status: number; html: string };
  /** The pages answered on the way, in order. */
  pages: ('login' | 'consent')[];
  /** The HTML of the last login page shown (login_hint, ui_locales are read from it). */
  loginHtml?: string;
}

/**
 * A browser over plain HTTP (fetch, redirects followed by hand): keeps Gatehouse's cookies,
 * signs in on the login page and answers the consent page by their forms, like a person would.
 */
export class FormBrowser {
  private readonly cookies = new Map<string, string>();

  constructor(private readonly issuer: string) {}

  /** Forgets every cookie (a new browser). */
  clear(): void {
    this.cookies.clear();
  }

  async request(url: string | URL, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(url, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      redirect: 'manual',
      headers,
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    });
    for (const set of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = set.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(at + 1).trim());
    }
    return response;
  }

  /**
   * Follows an authorization request (GET `url`, or POST `form` to `url`) through Gatehouse: signs
   * in as `user` when the login page shows, answers the consent page with `decision`, until a
   * redirect leaves the issuer or Gatehouse answers with a page of its own.
   */
  async authorize(
    url: URL,
    options: { user?: { username: string; password: string }; decision?: 'allow' | 'deny'; form?: Record<string, string> } = {},
  ): Promise<Walked> {
    const walked: Walked = { pages: [] };
    let response = await this.request(url, options.form ? { form: options.form } : {});
    for (let step = 0; step < 8; step++) {
      if (response.status !== 303 && response.status !== 302) {
        const html = await response.text();
        walked.page = { status: response.status, html };
        return walked;
      }
      const location = new URL(String(response.headers.get('location')), url);
      if (!location.href.startsWith(this.issuer)) {
        walked.location = location;
        return walked;
      }
      await response.body?.cancel();
      const page = await this.request(location);
      const html = await page.text();
      if (page.status !== 200) {
        walked.page = { status: page.status, html };
        return walked;
      }
      if (/\/login$/.test(location.pathname)) {
        walked.pages.push('login');
        walked.loginHtml = html;
        assert.ok(options.user, `the login page showed, and no user was given to sign in: ${location}`);
        response = await this.request(new URL(formAction(html), location), {
          form: { ...hiddenFields(html), username: options.user.username, password: options.user.password },
        });
      } else if (/\/consent$/.test(location.pathname)) {
        walked.pages.push('consent');
        response = await this.request(new URL(formAction(html), location), { form: { ...hiddenFields(html), decision: options.decision ?? 'allow' } });
      } else {
        walked.page = { status: page.status, html };
        return walked;
      }
    }
    assert.fail(`the authorization request did not end after 8 steps: ${url}`);
  }
}

/** The action of the first form of `html`. */
export function formAction(html: string): string {
  const match = /<form[^>]*action="([^"]+)"/.exec(html);
  assert.ok(match?.[1], `the page has a form with an action: ${html.slice(0, 500)}`);
  return decodeEntities(match[1]);
}

/** The hidden fields of `html`'s forms. */
export function hiddenFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const tag of html.match(/<input[^>]*type="hidden"[^>]*>/g) ?? []) {
    const name = /name="([^"]+)"/.exec(tag)?.[1];
    const value = /value="([^"]*)"/.exec(tag)?.[1];
    if (name !== undefined && value !== undefined) fields[name] = decodeEntities(value);
  }
  return fields;
}

/** The name and value of the first named submit button of `html`, which a browser posts with the form. */
export function submitButton(html: string): Record<string, string> {
  const tag = /<button[^>]*type="submit"[^>]*name="[^"]+"[^>]*>/.exec(html)?.[0];
  const name = tag && /name="([^"]+)"/.exec(tag)?.[1];
  return name ? { [decodeEntities(name)]: decodeEntities(/value="([^"]*)"/.exec(tag)?.[1] ?? '') } : {};
}

export const decodeEntities = (text: string): string =>
  text
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#x27;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** A Gatehouse server started from the CLI for the end-to-end tests, and its CLI. */
export interface CliServer {
  readonly database: 'sqlite' | 'postgres';
  /** The environment the tests use. */
  readonly env: string;
  readonly issuer: string;
  /** Runs `gatehouse …` against the server's database (`input` on stdin); resolves with stdout. */
  cli(args: string[], input?: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * `gatehouse serve --dev` on SQLite (environment DEVELOPMENT), or `gatehouse serve` on PostgreSQL
 * in a schema of its own (environment OIDC, created by the CLI), on 127.0.0.1.
 */
export async function startCliServer(database: 'sqlite' | 'postgres'): Promise<CliServer> {
  const settings = { GATEHOUSE_PASSWORD_HASH_COST: '10', GATEHOUSE_LOG_LEVEL: 'warn' };
  if (database === 'sqlite') {
    const server = await startDevServer(settings);
    const banner = new RegExp(`Gatehouse is listening on (http://127\\.0\\.0\\.1:${server.port}) \\(development mode\\)[\\s\\S]*curl `);
    const match = await server.waitFor(banner, 'the banner');
    return {
      database,
      env: 'DEVELOPMENT',
      issuer: `${match[1]}/envs/DEVELOPMENT`,
      cli: (args, input) => runGatehouse(server.env, args, input),
      stop: () => server.stop(),
    };
  }
  const schema = `gh_oidc_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const server = await productionServer({ ...settings, GATEHOUSE_DATABASE_URL: url.href, GATEHOUSE_DRAIN_PERIOD: '0' });
  try {
    await server.cli(['env', 'create', 'OIDC']);
    await server.start(1);
  } catch (error) {
    await server.dispose();
    throw error;
  }
  return {
    database,
    env: 'OIDC',
    issuer: `${server.baseUrl}/envs/OIDC`,
    cli: (args, input) =>
      server.cli(args, input).catch((error: Error & { stderr?: string }) => {
        throw new Error(`gatehouse ${args.join(' ')} failed: ${error.stderr ?? error.message}`);
      }),
    async stop() {
      try {
        await server.dispose();
      } finally {
        const dropper = new pg.Client({ connectionString: POSTGRES_URL });
        await dropper.connect();
        await dropper.query(`drop schema if exists ${schema} cascade`);
        await dropper.end();
      }
    },
  };
}

/** Runs the built CLI with `env`, `input` on stdin; rejects with its stderr on a non-zero exit. */
export function runGatehouse(env: NodeJS.ProcessEnv, args: string[], input = ''): Promise<string> {
  return within(
    new Promise<string>((resolve, reject) => {
      const cli = spawn(process.execPath, [BIN, ...args], { env, cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      cli.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
      });
      cli.stderr.on('data', (chunk: Buffer) => {
        err += chunk.toString();
      });
      cli.once('error', reject);
      cli.once('exit', (code) => {
        if (code === 0) resolve(out);
        else reject(new Error(`gatehouse ${args.join(' ')} exited ${code}: ${err}`));
      });
      cli.stdin.end(input);
    }),
    30_000,
    () => `gatehouse ${args.join(' ')}`,
  );
}

/** The profile every OpenID test user gets (Core §5.1), as CLI flags and as the claims expected back. */
export const PROFILE = {
  email: 'ada@example.test',
  email_verified: true,
  name: 'Ada Lovelace',
  given_name: 'Ada',
  family_name: 'Lovelace',
  locale: 'en-GB',
  zoneinfo: 'Europe/London',
  phone_number: '+441632960001',
  phone_number_verified: true,
  address: { street_address: '12 St James Square', locality: 'London', postal_code: 'SW1Y 4JH', country: 'GB' },
} as const;

export const PROFILE_FLAGS = [
  '--email',
  PROFILE.email,
  '--email-verified',
  '--name',
  PROFILE.name,
  '--given-name',
  PROFILE.given_name,
  '--family-name',
  PROFILE.family_name,
  '--locale',
  PROFILE.locale,
  '--zoneinfo',
  PROFILE.zoneinfo,
  '--phone-number',
  PROFILE.phone_number,
  '--phone-number-verified',
  '--address-street-address',
  PROFILE.address.street_address,
  '--address-locality',
  PROFILE.address.locality,
  '--address-postal-code',
  PROFILE.address.postal_code,
  '--address-country',
  PROFILE.address.country,
];

/** The OpenID scopes a test client is allowed. */
export const OPENID_CLIENT_SCOPES = 'openid profile email address phone offline_access';

/**
 * Creates, with the CLI, a user with PROFILE and a confidential code-flow client registered for
 * `rp`'s redirect, post-logout and back-channel logout URIs; `alg` sets id_token_signed_response_alg.
 */
export async function createOidcClientAndUser(
  server: CliServer,
  rp: RelyingPartyServer,
  options: { username: string; password: string; clientName: string; alg?: 'RS256' | 'ES256'; withUser?: boolean },
): Promise<{ clientId: string; clientSecret: string; userId?: string }> {
  let userId: string | undefined;
  if (options.withUser !== false) {
    const user = JSON.parse(
      await server.cli(
        ['user', 'create', '--env', server.env, '--username', options.username, '--password-stdin', ...PROFILE_FLAGS, '--json'],
        options.password,
      ),
    ) as { user_id: string };
    userId = user.user_id;
  }
  const client = JSON.parse(
    await server.cli([
      'client',
      'create',
      '--env',
      server.env,
      '--name',
      options.clientName,
      '--scope',
      OPENID_CLIENT_SCOPES,
      '--grant-type',
      'authorization_code',
      '--grant-type',
      'refresh_token',
      '--redirect-uri',
      rp.redirectUri,
      '--post-logout-redirect-uri',
      rp.postLogoutRedirectUri,
      '--backchannel-logout-uri',
      rp.backchannelLogoutUri,
      '--backchannel-logout-session-required',
      ...(options.alg ? ['--id-token-signed-response-alg', options.alg] : []),
      '--json',
    ]),
  ) as { client_id: string; client_secret: string };
  return { clientId: client.client_id, clientSecret: client.client_secret, ...(userId ? { userId } : {}) };
}

/**
 * The logout token (received at or after index `from`) whose `aud` names `clientId` and, when
 * `sid` is given, whose `sid` is that session's: delivery is asynchronous, so a token for an
 * earlier session of the same client may arrive in between.
 */
export async function logoutTokenFor(rp: RelyingPartyServer, clientId: string, options: { from?: number; sid?: string; ms?: number } = {}): Promise<string> {
  const claimsOf = (token: string): { aud: string[]; sid?: unknown } => {
    try {
      const claims = decodeJwt(token);
      return { aud: typeof claims.aud === 'string' ? [claims.aud] : (claims.aud ?? []), sid: claims.sid };
    } catch {
      return { aud: [] };
    }
  };
  const tokenOf = (r: Received) => (r.method === 'POST' ? (new URLSearchParams(r.body).get('logout_token') ?? '') : '');
  const request = await rp.until(
    `a logout token for ${clientId}${options.sid ? ` and session ${options.sid}` : ''} at the back-channel logout URI`,
    (r) => {
      if (rp.received.indexOf(r) < (options.from ?? 0) || r.url.pathname !== '/backchannel-logout') return false;
      const claims = claimsOf(tokenOf(r));
      return claims.aud.includes(clientId) && (options.sid === undefined || claims.sid === options.sid);
    },
    options.ms ?? 30_000,
  );
  assert.match(String(request.headers['content-type']), /^application\/x-www-form-urlencoded/, 'Back-Channel Logout §2.5: a form POST');
  assert.deepEqual([...new URLSearchParams(request.body).keys()], ['logout_token'], 'the request carries the logout token alone');
  return tokenOf(request);
}

/**
 * Back-Channel Logout 1.0 §2.4 and §2.6, as a relying party checks a logout token: signed by a
 * key of the issuer's JWKS with `typ` logout+jwt, `iss`, `aud`, `iat`, `jti`, the logout event
 * (an empty object), `sid` and/or `sub`, and never a `nonce`.
 */
export async function verifyLogoutToken(
  token: string,
  jwks: ReturnType<typeof createRemoteJWKSet>,
  issuer: string,
  clientId: string,
  currentDate = new Date(),
): Promise<JWTPayload & { sid?: string }> {
  const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer, audience: clientId, typ: 'logout+jwt', maxTokenAge: '2 minutes', currentDate });
  assert.ok(protectedHeader.kid, 'the logout token names its key');
  assert.notEqual(protectedHeader.alg, 'none');
  assert.equal(typeof payload.iat, 'number');
  assert.equal(typeof payload.jti, 'string');
  assert.ok(String(payload.jti).length >= 16, 'jti is unique enough');
  assert.deepEqual(payload.events, { [BACKCHANNEL_LOGOUT_EVENT]: {} });
  assert.ok(payload.sid !== undefined || payload.sub !== undefined, 'a sid or a sub');
  assert.equal(payload.nonce, undefined, 'a logout token has no nonce (§2.4)');
  return payload as JWTPayload & { sid?: string };
}
