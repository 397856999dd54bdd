import assert from 'node:assert/strict';
import { formAction, hiddenFields, pkce } from './authorization.ts';

/**
 * A browser over real HTTP for end-to-end tests against a running `gatehouse serve`: keeps the
 * session cookie, follows nothing by itself, and signs in and consents through the real pages.
 */
export class HttpBrowser {
  private cookie: string | undefined;

  constructor(private readonly baseUrl: string) {}

  async get(url: string): Promise<Response> {
    return this.keep(await fetch(new URL(url, this.baseUrl), { redirect: 'manual', headers: this.headers() }));
  }

  async post(url: string, fields: Record<string, string>): Promise<Response> {
    return this.keep(
      await fetch(new URL(url, this.baseUrl), {
        method: 'POST',
        redirect: 'manual',
        headers: { ...this.headers(), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      }),
    );
  }

  /**
   * authorize → login → consent; returns the code and the PKCE verifier. `redirectUri` must be
   * registered for `clientId`.
   */
  async obtainCode(env: string, clientId: string, redirectUri: string, username: string, password: string, scope: string): Promise<{ code: string; verifier: string }> {
    const { verifier, challenge } = pkce();
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      scope,
      state: 's',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    let res = await this.get(`/envs/${env}/authorize?${query}`);
    for (let step = 0; step < 4; step++) {
      assert.equal(res.status, 303, await res.text());
      const location = String(res.headers.get('location'));
      if (location.startsWith(redirectUri)) {
        const code = new URL(location).searchParams.get('code');
        assert.ok(code, `no code in ${location}`);
        return { code, verifier };
      }
      const page = await this.get(location);
      const html = await page.text();
      assert.equal(page.status, 200, html);
      const fields = /\/login\?/.test(location) ? { username, password } : { decision: 'allow' };
      res = await this.post(formAction(html), { ...hiddenFields(html), ...fields });
    }
    assert.fail('the code flow did not reach the client after login and consent');
  }

  private headers(): Record<string, string> {
    return this.cookie ? { cookie: this.cookie } : {};
  }

  private keep(res: Response): Response {
    const set = res.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0];
    return res;
  }
}
