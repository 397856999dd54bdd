import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { UserService } from '../../src/admin/users.ts';
import { s256Challenge } from '../../src/oauth/pkce.ts';
import { form, type TestApp } from './fixtures.ts';

export const ENV = 'DEVELOPMENT';
export const REDIRECT_URI = 'https://app.example.test/callback';
export const PASSWORD = 'correct horse battery staple';

/** A PKCE pair (RFC 7636): 43-character verifier and its S256 challenge. */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: s256Challenge(verifier) };
}

export interface CodeFlowFixture {
  clientId: string;
  clientSecret: string;
  publicClientId: string;
  username: string;
}

/** Creates the environment, a confidential and a public code-flow client and a user. */
export async function setUpCodeFlow(
  t: TestApp,
  options: { scopes?: string[]; username?: string; env?: string; grantTypes?: string[]; allowMissingPkce?: boolean } = {},
): Promise<CodeFlowFixture> {
  const env = options.env ?? ENV;
  const grantTypes = options.grantTypes ?? ['authorization_code', 'refresh_token'];
  await t.admin.createEnvironment(env).catch(() => undefined);
  const scopes = options.scopes ?? ['invoices:read', 'invoices:write'];
  const confidential = await t.admin.createClient({
    env,
    name: 'Invoice App',
    grantTypes,
    allowMissingPkce: options.allowMissingPkce ?? false,
    scopes,
    redirectUris: [REDIRECT_URI, 'http://127.0.0.1/native-callback'],
  });
  const publicClient = await t.admin.createClient({
    env,
    name: 'Mobile App',
    kind: 'public',
    grantTypes,
    scopes,
    redirectUris: [REDIRECT_URI],
  });
  const username = options.username ?? `alice-${randomBytes(4).toString('hex')}`;
  await new UserService(t.config, t.store, t.clock).create({ env, username, password: PASSWORD });
  return { clientId: confidential.client_id, clientSecret: confidential.client_secret as string, publicClientId: publicClient.client_id, username };
}

/** A browser for `inject()`: keeps the session cookie and reads forms out of pages. */
export class TestBrowser {
  cookie: string | undefined;

  constructor(private readonly t: TestApp) {}

  async get(url: string): Promise<LightMyRequestResponse> {
    const res = await this.t.app.server.inject({ method: 'GET', url: localPath(url), headers: this.headers() });
    this.keepCookie(res);
    return res;
  }

  async post(url: string, fields: Record<string, string>): Promise<LightMyRequestResponse> {
    const res = await this.t.app.server.inject({
      method: 'POST',
      url: localPath(url),
      headers: { ...this.headers(), 'content-type': 'application/x-www-form-urlencoded' },
      payload: form(fields),
    });
    this.keepCookie(res);
    return res;
  }

  /** GET /authorize with these parameters; returns the response (a 303 to login, consent or the client). */
  authorize(params: Record<string, string>, path = `/envs/${ENV}/authorize`): Promise<LightMyRequestResponse> {
    return this.get(`${path}?${new URLSearchParams(params)}`);
  }

  /** Signs in on the login page the response redirects to; returns the POST's response. */
  async login(toLogin: LightMyRequestResponse, username: string, password = PASSWORD): Promise<LightMyRequestResponse> {
    assert.equal(toLogin.statusCode, 303, toLogin.body);
    assert.match(String(toLogin.headers.location), /\/login\?request=/);
    const page = await this.get(String(toLogin.headers.location));
    assert.equal(page.statusCode, 200, page.body);
    return this.post(formAction(page.body), { ...hiddenFields(page.body), username, password });
  }

  /** Answers the consent page the response redirects to. */
  async consent(toConsent: LightMyRequestResponse, decision: 'allow' | 'deny'): Promise<LightMyRequestResponse> {
    assert.equal(toConsent.statusCode, 303, toConsent.body);
    assert.match(String(toConsent.headers.location), /\/consent\?request=/);
    const page = await this.get(String(toConsent.headers.location));
    assert.equal(page.statusCode, 200, page.body);
    return this.post(formAction(page.body), { ...hiddenFields(page.body), decision });
  }

  private headers(): Record<string, string> {
    return this.cookie ? { cookie: this.cookie } : {};
  }

  private keepCookie(res: LightMyRequestResponse): void {
    const set = res.headers['set-cookie'];
    // The session cookie only: the device page also sets one for the code it shows.
    const value = [set ?? []].flat().find((cookie) => cookie.startsWith('gatehouse_session='));
    if (value) this.cookie = value.split(';')[0];
  }
}

/** Runs authorize → login → consent and returns the code from the redirect to the client. */
export async function obtainCode(
  t: TestApp,
  fixture: CodeFlowFixture,
  options: { clientId?: string; scope?: string; state?: string; redirectUri?: string; browser?: TestBrowser; authorizePath?: string; pkce?: boolean } = {},
): Promise<{ code: string; verifier: string; location: URL; browser: TestBrowser }> {
  const browser = options.browser ?? new TestBrowser(t);
  const { verifier, challenge } = pkce();
  let res = await browser.authorize(
    {
      response_type: 'code',
      client_id: options.clientId ?? fixture.clientId,
      redirect_uri: options.redirectUri ?? REDIRECT_URI,
      ...(options.pkce === false ? {} : { code_challenge: challenge, code_challenge_method: 'S256' }),
      state: options.state ?? 'xyz',
      ...(options.scope === undefined ? {} : { scope: options.scope }),
    },
    options.authorizePath,
  );
  // A surface's own /authorize hands over to a path under the issuer, where the session cookie lives.
  if (/\/authorize\/[A-Za-z0-9_-]+\?/.test(String(res.headers.location))) res = await browser.get(String(res.headers.location));
  if (/\/login\?/.test(String(res.headers.location))) res = await browser.login(res, fixture.username);
  if (/\/consent\?/.test(String(res.headers.location))) res = await browser.consent(res, 'allow');
  assert.equal(res.statusCode, 303, res.body);
  const location = new URL(String(res.headers.location));
  const code = location.searchParams.get('code');
  assert.ok(code, `no code in ${location}`);
  return { code, verifier, location, browser };
}

export function formAction(html: string): string {
  const match = /<form[^>]*action="([^"]+)"/.exec(html);
  assert.ok(match?.[1], 'the page has a form with an action');
  return decodeEntities(match[1]);
}

export function hiddenFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const tag of html.match(/<input[^>]*type="hidden"[^>]*>/g) ?? []) {
    const name = /name="([^"]+)"/.exec(tag)?.[1];
    const value = /value="([^"]*)"/.exec(tag)?.[1];
    if (name !== undefined && value !== undefined) fields[name] = decodeEntities(value);
  }
  return fields;
}

const decodeEntities = (text: string): string =>
  text
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#x27;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

const localPath = (url: string): string => {
  if (url.startsWith('/')) return url;
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
};
