import assert from 'node:assert/strict';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { signCompactJwt } from '../../src/crypto/jwt.ts';
import { decryptPrivateKey } from '../../src/crypto/key-encryption.ts';
import type { FetchFunction } from '../../src/resource-server/index.ts';
import { basic, form, KEY_SECRET, PUBLIC_URL, type TestApp } from '../helpers/fixtures.ts';

export interface Credentials {
  id: string;
  secret: string;
}

/** A Gatehouse app built in-process (manual clock, `inject`), with the helpers the resource-server tests need. */
export class InProcessIssuer {
  constructor(readonly t: TestApp) {}

  issuer(env: string): string {
    return `${PUBLIC_URL}/envs/${env}`;
  }

  /** A `fetch` that sends the verifier's requests to the app through `inject`. */
  readonly fetch: FetchFunction = async (url, init) => {
    const target = new URL(url);
    assert.equal(target.origin, PUBLIC_URL);
    const res = await this.t.app.server.inject({
      method: (init?.method ?? 'GET') as 'GET',
      url: target.pathname + target.search,
      headers: Object.fromEntries(new Headers(init?.headers)),
      ...(init?.body === undefined ? {} : { payload: String(init.body) }),
    });
    return new Response(res.body, { status: res.statusCode, headers: { 'content-type': String(res.headers['content-type'] ?? 'text/plain') } });
  };

  async client(env: string, options: { format?: 'jwt' | 'opaque'; resourceServer?: boolean } = {}): Promise<Credentials> {
    const created = await this.t.admin.createClient({
      env,
      name: 'svc',
      scopes: ['read', 'write'],
      defaultScopes: ['read'],
      tokenFormat: options.format ?? 'jwt',
      introspectAny: options.resourceServer === true,
    });
    assert.ok(created.client_secret);
    return { id: created.client_id, secret: created.client_secret };
  }

  private post(env: string, path: string, client: Credentials, params: Record<string, string>) {
    return this.t.app.server.inject({
      method: 'POST',
      url: `/envs/${env}/${path}`,
      headers: { authorization: basic(client.id, client.secret), 'content-type': 'application/x-www-form-urlencoded' },
      payload: form(params),
    });
  }

  async token(env: string, client: Credentials, scope = 'read'): Promise<string> {
    const res = await this.post(env, 'token', client, { grant_type: 'client_credentials', scope });
    assert.equal(res.statusCode, 200, res.body);
    return (res.json() as { access_token: string }).access_token;
  }

  async revoke(env: string, client: Credentials, token: string): Promise<void> {
    const res = await this.post(env, 'revoke', client, { token });
    assert.equal(res.statusCode, 200, res.body);
  }

  async introspect(env: string, client: Credentials, token: string): Promise<Record<string, unknown>> {
    const res = await this.post(env, 'introspect', client, { token });
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as Record<string, unknown>;
  }

  /** The environment's active signing key with its private half: to sign tokens only the issuer could have signed. */
  async activeKey(env: string): Promise<{ kid: string; privateKey: KeyObject; publicJwk: Record<string, unknown> }> {
    const record = await this.t.store.environments.findByName(env);
    const key = record && (await this.t.store.signingKeys.findActive(record.id));
    assert.ok(record && key);
    const pem = decryptPrivateKey(key.privateKeySealed, KEY_SECRET, `${record.id}/${key.kid}`);
    return { kid: key.kid, privateKey: createPrivateKey(pem), publicJwk: key.publicJwk };
  }

  /** `payload` signed by the environment's real key (ES256) with header `typ` and the real `kid`. */
  async signed(env: string, payload: Record<string, unknown>, typ = 'at+jwt'): Promise<string> {
    const key = await this.activeKey(env);
    return signCompactJwt({ kid: key.kid, typ }, payload, key.privateKey, 'ES256');
  }
}
