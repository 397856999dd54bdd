import { generateKeyPairSync, sign } from 'node:crypto';
import { createServer } from 'node:http';

/**
 * The benchmark's yardstick: a bare node:http server that reads a small form POST, parses it
 * and answers a JSON body the size of a Gatehouse token response. Every scenario's rate is
 * reported as a ratio to this one, measured in the same run on the same machine.
 */
const body = JSON.stringify({
  access_token: 'x'.repeat(560),
  token_type: 'Bearer',
  expires_in: 3600,
  scope: 'read write',
});

// BASELINE_SIGN=ES256: the same server also signs one ES256 JWT-sized input per request, the
// one piece of work no JWT issuer can skip. Its rate is the ceiling for issuing JWTs here.
const signing = process.env.BASELINE_SIGN === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey : undefined;
const signingInput = Buffer.alloc(420, 'e');

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    if (!params.get('grant_type')) {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_request"}');
      return;
    }
    const payload = signing
      ? JSON.stringify({
          access_token: sign('sha256', signingInput, { key: signing, dsaEncoding: 'ieee-p1363' }).toString('base64url').padEnd(560, 'x'),
          token_type: 'Bearer',
          expires_in: 3600,
          scope: 'read write',
        })
      : body;
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', pragma: 'no-cache' }).end(payload);
  });
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : ''}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
