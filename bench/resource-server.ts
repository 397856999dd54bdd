import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { signCompactJwt } from '../src/crypto/jwt.ts';
import { type BearerRequest, createVerifier, jwkThumbprint, MemoryReplayStore } from '../src/resource-server/index.ts';

/**
 * `node --import tsx bench/resource-server.ts [--iterations N] [--trials T]`: the resource-server
 * library in process, no HTTP: `verifier.authenticate` of a request with an ES256 JWT presented as
 * Bearer against the same with a DPoP-bound token and an ES256 proof (RFC 9449 §4.3: one more
 * signature verification, a JWK import, a thumbprint, two SHA-256 and a replay-store write). Both
 * run in the same process, interleaved ABBA per trial; proofs are signed beforehand, one per
 * request (each jti is single use), so only checking is timed.
 */
const { values } = parseArgs({ options: { iterations: { type: 'string', default: '5000' }, trials: { type: 'string', default: '3' } } });
const iterations = Number(values.iterations);
const trials = Number(values.trials);

const issuer = 'https://auth.example.test/envs/PRODUCTION';
const htu = 'https://api.example.test/invoices';
const signing = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwks = { keys: [{ ...signing.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' }] };
const client = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const clientJwk = client.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
const jkt = jwkThumbprint(clientJwk) as string;
// A fixed clock: proofs signed before a long run stay within their accepted age.
const clock = Date.now();
const now = Math.floor(clock / 1000);
const claims = { iss: issuer, sub: 'usr_1', aud: issuer, iat: now, exp: now + 3600, jti: 'j1', client_id: 'gh_1', scope: 'read' };
const bearerToken = signCompactJwt({ kid: 'k1', typ: 'at+jwt' }, claims, signing.privateKey, 'ES256');
const boundToken = signCompactJwt({ kid: 'k1', typ: 'at+jwt' }, { ...claims, cnf: { jkt } }, signing.privateKey, 'ES256');
const tokenHash = createHash('sha256').update(boundToken).digest('base64url');

const verifier = createVerifier({
  issuer,
  audience: issuer,
  fetch: async () => Response.json(jwks),
  now: () => clock,
  dpop: { mode: 'allowed', publicOrigin: 'https://api.example.test', replayStore: new MemoryReplayStore(iterations * trials * 2 + 1) },
});

const bearerRequest: BearerRequest = { method: 'GET', authorization: `Bearer ${bearerToken}`, url: htu };
function dpopRequests(count: number): BearerRequest[] {
  return Array.from({ length: count }, () => {
    const proof = signCompactJwt(
      { typ: 'dpop+jwt', jwk: clientJwk },
      { htm: 'GET', htu, iat: now, jti: randomUUID(), ath: tokenHash },
      client.privateKey,
      'ES256',
    );
    return { method: 'GET', authorization: `DPoP ${boundToken}`, dpop: proof, url: htu };
  });
}

/** Requests per second of `authenticate` over `requests`, one after the other. */
async function rate(requests: readonly BearerRequest[]): Promise<number> {
  const start = process.hrtime.bigint();
  for (const request of requests) await verifier.authenticate(request, ['read']);
  return requests.length / (Number(process.hrtime.bigint() - start) / 1e9);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const bearerRequests = Array.from({ length: iterations }, () => bearerRequest);
// Warm-up: the JWKS is fetched once, code is compiled.
await rate(bearerRequests.slice(0, 2000));
await rate(dpopRequests(2000));
const bearer: number[] = [];
const dpop: number[] = [];
for (let trial = 0; trial < trials; trial++) {
  const proofs = [dpopRequests(iterations), dpopRequests(iterations)];
  bearer.push(await rate(bearerRequests));
  dpop.push(await rate(proofs[0] as BearerRequest[]));
  dpop.push(await rate(proofs[1] as BearerRequest[]));
  bearer.push(await rate(bearerRequests));
}
const [b, d] = [median(bearer), median(dpop)];
const round = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(`| check | authenticate/s (median of ${bearer.length}) | ratio |`);
console.log('|---|---|---|');
console.log(`| Bearer, ES256 JWT | ${round(b)} | 1 |`);
console.log(`| DPoP, ES256 JWT + ES256 proof | ${round(d)} | ${(d / b).toFixed(3)} |`);
console.log(`node ${process.version}, ${iterations} requests per run, ${trials} ABBA trials`);
