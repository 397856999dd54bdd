import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { signCompactJwt } from '../../src/crypto/jwt.ts';
import type { FetchFunction } from '../../src/resource-server/index.ts';

export const ISSUER = 'https://auth.example.test/envs/PRODUCTION';
export const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
export const nowSeconds = Math.floor(NOW / 1000);

export interface SigningKeyPair {
  kid: string;
  alg: 'ES256' | 'EdDSA';
  privateKey: KeyObject;
  publicJwk: Record<string, unknown>;
}

export function signingKey(kid: string, alg: 'ES256' | 'EdDSA' = 'ES256'): SigningKeyPair {
  const { privateKey, publicKey } = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  return { kid, alg, privateKey, publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } };
}

/** RFC 9068 claims of a valid token at NOW, with `overrides` on top (undefined removes a claim). */
export function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    iss: ISSUER,
    sub: 'usr_alice',
    aud: ISSUER,
    iat: nowSeconds,
    exp: nowSeconds + 3600,
    jti: '6f0c1c0e-1a1b-4c1d-8e1f-000000000001',
    client_id: 'gh_app',
    scope: 'invoices:read invoices:write',
  };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete base[name];
    else base[name] = value;
  }
  return base;
}

export function accessToken(key: SigningKeyPair, payload: Record<string, unknown> = claims(), header: Record<string, unknown> = {}): string {
  return signCompactJwt({ kid: key.kid, typ: 'at+jwt', ...header }, payload, key.privateKey, key.alg);
}

/** A scripted issuer behind an injected fetch: a JWKS, an introspection endpoint, counters and an outage switch. */
export class FakeIssuer {
  keys: SigningKeyPair[] = [];
  jwksFetches = 0;
  /** The JWKS `Cache-Control: max-age`, in seconds; none when undefined. */
  jwksMaxAge: number | undefined;
  introspections = 0;
  down = false;
  /** Introspection answers by token. */
  readonly answers = new Map<string, Record<string, unknown>>();
  /** Requests seen: URL and Authorization, never used to store tokens beyond the test. */
  readonly seen: { url: string; authorization: string | null }[] = [];
  private release: (() => void) | undefined;
  private gate: Promise<void> | undefined;

  constructor(...keys: SigningKeyPair[]) {
    this.keys = keys;
  }

  /** Holds JWKS answers until `open()`, to make lookups overlap. */
  hold(): void {
    this.gate = new Promise((resolve) => {
      this.release = resolve;
    });
  }

  open(): void {
    this.release?.();
    this.gate = undefined;
  }

  readonly fetch: FetchFunction = async (url, init) => {
    const headers = new Headers(init?.headers);
    this.seen.push({ url, authorization: headers.get('authorization') });
    if (this.down) throw new TypeError('fetch failed');
    if (url === `${ISSUER}/jwks.json`) {
      this.jwksFetches += 1;
      const keys = this.keys.map((k) => k.publicJwk);
      await this.gate;
      const headers = this.jwksMaxAge === undefined ? undefined : { 'cache-control': `public, max-age=${this.jwksMaxAge}` };
      return Response.json({ keys }, headers ? { headers } : {});
    }
    if (url === `${ISSUER}/introspect`) {
      this.introspections += 1;
      const token = new URLSearchParams(String(init?.body)).get('token') ?? '';
      return Response.json(this.answers.get(token) ?? { active: false });
    }
    return new Response('not found', { status: 404 });
  };
}
