import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { TOTP } from 'otpauth';
import { UserService } from '../../src/admin/users.ts';
import type { SignInPolicy } from '../../src/domain/second-factors.ts';
import { ACR_MFA, ACR_PASSWORD } from '../../src/oauth/openid/acr.ts';
import { ENV, formAction, hiddenFields, PASSWORD, pkce, TestBrowser } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, suiteStore, type TestApp } from '../helpers/fixtures.ts';
import { createOidcClient, OIDC_REDIRECT_URI, type OidcClient } from '../helpers/openid.ts';

const POLICY: SignInPolicy = { secondFactor: 'required', requiredClients: [], requiredScopes: [], webauthnRpId: null, webauthnOrigins: [] };

/** The secret shown on the enrolment page, as the user would type it into an app. */
const secretOf = (html: string): string => {
  const secret = /data-secret="([A-Z2-7]+)"/.exec(html)?.[1];
  assert.ok(secret, 'the enrolment page shows the secret');
  return secret;
};

const codeAt = (secret: string, timestamp: number): string => new TOTP({ secret, digits: 6, period: 30 }).generate({ timestamp });

for (const database of await testDatabases()) {
  describe(`second factor in the sign-in (${database.name})`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let rp: OidcClient;
    let envId: string;
    const username = 'mallory-mfa';

    before(async () => {
      t = await suite.build();
      await t.admin.createEnvironment(ENV).catch(() => undefined);
      rp = await createOidcClient(t, ENV);
      const env = await t.store.environments.findByName(ENV);
      assert.ok(env);
      envId = env.id;
      await new UserService(t.config, t.store, t.clock).create({ env: ENV, username, password: PASSWORD });
      await t.store.secondFactors.savePolicy(envId, POLICY, t.clock.now());
    });

    async function authorize(browser: TestBrowser, extra: Record<string, string> = {}) {
      const { verifier, challenge } = pkce();
      const res = await browser.authorize({
        response_type: 'code',
        client_id: rp.clientId,
        redirect_uri: OIDC_REDIRECT_URI,
        scope: 'openid',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        nonce: 'n-1',
        ...extra,
      });
      return { res, verifier };
    }

    async function finish(browser: TestBrowser, res: Awaited<ReturnType<TestBrowser['get']>>, verifier: string) {
      if (/\/consent\?/.test(String(res.headers.location))) res = await browser.consent(res, 'allow');
      assert.equal(res.statusCode, 303, res.body);
      const code = new URL(String(res.headers.location)).searchParams.get('code');
      assert.ok(code);
      const token = await t.app.server.inject({
        method: 'POST',
        url: `/envs/${ENV}/token`,
        headers: { authorization: basic(rp.clientId, rp.secret), 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ grant_type: 'authorization_code', code, redirect_uri: OIDC_REDIRECT_URI, code_verifier: verifier }),
      });
      assert.equal(token.statusCode, 200, token.body);
      return decodeJwt(token.json().id_token as string);
    }

    let secret = '';
    let recovery: string[] = [];

    it('a required second factor is enrolled at the first sign-in: QR code, confirmation, recovery codes once', async () => {
      const browser = new TestBrowser(t);
      const { res, verifier } = await authorize(browser);
      const afterPassword = await browser.login(res, username);
      assert.equal(afterPassword.statusCode, 303);
      assert.match(String(afterPassword.headers.location), /\/mfa\?request=/);
      const page = await browser.get(String(afterPassword.headers.location));
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /<svg [^>]*role="img"/);
      assert.doesNotMatch(page.body, /<script/);
      secret = secretOf(page.body);
      const again = await browser.get(String(afterPassword.headers.location));
      assert.equal(secretOf(again.body), secret, 'the pending enrolment keeps its secret');
      const wrong = await browser.post(formAction(page.body), { ...hiddenFields(page.body), code: '000000' });
      assert.equal(wrong.statusCode, 401);
      const confirmed = await browser.post(formAction(page.body), { ...hiddenFields(page.body), code: codeAt(secret, t.clock.now()) });
      assert.equal(confirmed.statusCode, 200, confirmed.body);
      recovery = [...confirmed.body.matchAll(/<li><code[^>]*>([a-z2-9]{5}-[a-z2-9]{5})<\/code><\/li>/g)].map((m) => m[1] as string);
      assert.equal(recovery.length, 10);
      const stored = await t.store.secondFactors.findTotp(envId, (await t.store.users.findByUsername(envId, username))?.userId ?? '');
      assert.ok(stored && !stored.secretSealed.includes(secret), 'the secret is stored sealed');
      const next = await browser.get(`${formAction(confirmed.body)}?${new URLSearchParams(hiddenFields(confirmed.body))}`);
      const claims = await finish(browser, next, verifier);
      assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
      assert.equal(claims.acr, ACR_MFA);
    });

    it('the next sign-in asks for a code; a code is accepted once, and a recovery code once', async () => {
      t.clock.advance(30_000);
      const browser = new TestBrowser(t);
      const first = await authorize(browser);
      const toMfa = await browser.login(first.res, username);
      assert.match(String(toMfa.headers.location), /\/mfa\?request=/);
      const page = await browser.get(String(toMfa.headers.location));
      assert.doesNotMatch(page.body, /data-secret/, 'no new enrolment is offered');
      const code = codeAt(secret, t.clock.now());
      const ok = await browser.post(formAction(page.body), { ...hiddenFields(page.body), code });
      assert.equal((await finish(browser, ok, first.verifier)).acr, ACR_MFA);

      const other = new TestBrowser(t);
      const second = await authorize(other);
      const toMfa2 = await other.login(second.res, username);
      const page2 = await other.get(String(toMfa2.headers.location));
      const replay = await other.post(formAction(page2.body), { ...hiddenFields(page2.body), code });
      assert.equal(replay.statusCode, 401, 'RFC 6238 §5.2: the same code is not accepted twice');
      const withRecovery = await other.post(formAction(page2.body), { ...hiddenFields(page2.body), code: recovery[0] as string });
      assert.equal(withRecovery.statusCode, 303);
      assert.deepEqual((await finish(other, withRecovery, second.verifier)).amr, ['pwd', 'otp', 'mfa']);

      const third = new TestBrowser(t);
      const flow3 = await authorize(third);
      const page3 = await third.get(String((await third.login(flow3.res, username)).headers.location));
      const reused = await third.post(formAction(page3.body), { ...hiddenFields(page3.body), code: recovery[0] as string });
      assert.equal(reused.statusCode, 401, 'a recovery code works once');
    });

    it('wrong codes are throttled per user and source, and another source is not locked out', async () => {
      t.clock.advance(15 * 60_000);
      const browser = new TestBrowser(t);
      const flow = await authorize(browser);
      const page = await browser.get(String((await browser.login(flow.res, username)).headers.location));
      const post = (code: string, remoteAddress: string) =>
        t.app.server.inject({
          method: 'POST',
          url: new URL(formAction(page.body)).pathname,
          remoteAddress,
          headers: { cookie: browser.cookie ?? '', 'content-type': 'application/x-www-form-urlencoded' },
          payload: form({ ...hiddenFields(page.body), code }),
        });
      const seen: string[] = [];
      const stop = t.app.events.listen((e) => {
        if (e.type === 'user.second_factor') seen.push(`${e.method}:${e.outcome}`);
      });
      for (let i = 0; i < 5; i++) assert.equal((await post('111111', '203.0.113.9')).statusCode, 401);
      const throttled = await post(codeAt(secret, t.clock.now()), '203.0.113.9');
      assert.equal(throttled.statusCode, 429, 'even the right code waits once the limit is passed');
      assert.ok(Number(throttled.headers['retry-after']) > 0);
      const elsewhere = await post(codeAt(secret, t.clock.now()), '198.51.100.7');
      assert.equal(elsewhere.statusCode, 303, 'the real user elsewhere still signs in');
      stop();
      assert.deepEqual(seen, [...Array(5).fill('otp:failure'), 'otp:throttled', 'otp:success'], 'each attempt is reported for the metric');
    });

    it('password_only asks for no second factor and says acr password; acr_values step up an existing session', async () => {
      await t.store.secondFactors.savePolicy(envId, { ...POLICY, secondFactor: 'password_only' }, t.clock.now());
      t.clock.advance(60_000);
      const browser = new TestBrowser(t);
      const first = await authorize(browser);
      const signedIn = await browser.login(first.res, username);
      const claims = await finish(browser, signedIn, first.verifier);
      assert.deepEqual(claims.amr, ['pwd']);
      assert.equal(claims.acr, ACR_PASSWORD);
      // Step-up: the client asks for two factors; the password is not asked again.
      const stepUp = await authorize(browser, { acr_values: ACR_MFA });
      assert.match(String(stepUp.res.headers.location), /\/mfa\?request=/);
      const page = await browser.get(String(stepUp.res.headers.location));
      const ok = await browser.post(formAction(page.body), { ...hiddenFields(page.body), code: codeAt(secret, t.clock.now()) });
      const upgraded = await finish(browser, ok, stepUp.verifier);
      assert.equal(upgraded.acr, ACR_MFA);
      assert.equal(upgraded.sid, claims.sid, 'a step-up keeps the OpenID session');
      const none = await authorize(new TestBrowser(t), { acr_values: ACR_MFA, prompt: 'none' });
      assert.equal(new URL(String(none.res.headers.location)).searchParams.get('error'), 'login_required');
    });

    it('discovery lists the acr values', async () => {
      const res = await t.app.server.inject({ method: 'GET', url: `/envs/${ENV}/.well-known/openid-configuration` });
      assert.deepEqual(res.json().acr_values_supported, [ACR_PASSWORD, ACR_MFA]);
    });
  });
}
