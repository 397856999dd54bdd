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

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    if (!params.get('grant_type')) {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_request"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', pragma: 'no-cache' }).end(body);
  });
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : ''}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
