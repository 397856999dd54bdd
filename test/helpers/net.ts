import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The lowest port the kernel hands out by itself (to `listen(0)` and to outgoing connections). */
function ephemeralLow(): number | undefined {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 11_000 ? low : undefined;
  } catch {
    return undefined;
  }
}

const EPHEMERAL_LOW = ephemeralLow();

/** Whether `port` (0: any) can be listened on at 127.0.0.1 now; the port listened on, or undefined. */
async function tryListen(port: number): Promise<number | undefined> {
  const server = createServer();
  const listening = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (!listening) return undefined;
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address && typeof address === 'object');
  return address.port;
}

/**
 * A port on 127.0.0.1 that was free a moment ago, for servers whose public URL must name it.
 * It is drawn at random below the kernel's ephemeral range, so that between this check and the
 * server's own listen no `listen(0)` and no outgoing connection of another test file can take it
 * (a port from `listen(0)` could be handed out again at once: EADDRINUSE under parallel files).
 */
export async function freePort(): Promise<number> {
  if (EPHEMERAL_LOW !== undefined) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = await tryListen(randomInt(10_000, EPHEMERAL_LOW));
      if (port !== undefined) return port;
    }
  }
  const port = await tryListen(0);
  assert.ok(port !== undefined, 'no free port on 127.0.0.1');
  return port;
}
