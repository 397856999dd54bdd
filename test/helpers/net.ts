import assert from 'node:assert/strict';
import { createServer } from 'node:net';

/** A port on 127.0.0.1 that was free a moment ago, for servers whose public URL must name it. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address && typeof address === 'object');
  return address.port;
}
