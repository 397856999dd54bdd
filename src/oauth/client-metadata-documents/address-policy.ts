import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { refusedAddress } from '../openid/logout-receiver.ts';

/** One address a name resolves to. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has; injected so tests can make a name point anywhere. */
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** The system resolver (getaddrinfo), every address of every family. */
export const systemResolver: HostResolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

/**
 * The address a metadata document may be fetched from, or why none may. Draft §8.6 (SSRF): the
 * server must not be made to reach what only it can reach, so every address the name resolves
 * to must be public — no private, loopback, link-local, CGNAT, multicast, unspecified,
 * documentation or IPv4-mapped form of those (the IANA special-purpose registries, RFC 6890) —
 * and the connection is then made to the checked address itself, so a second resolution (DNS
 * rebinding) cannot switch it. `allowLoopback` is a development switch: 127.0.0.0/8 and ::1 pass.
 */
export async function checkedAddress(
  hostname: string,
  resolve: HostResolver,
  allowLoopback: boolean,
): Promise<{ address: ResolvedAddress } | { refused: string }> {
  const literal = hostname.replace(/^\[|\]$/g, '');
  let addresses: ResolvedAddress[];
  if (isIP(literal) !== 0) addresses = [{ address: literal, family: isIP(literal) === 6 ? 6 : 4 }];
  else {
    try {
      addresses = await resolve(hostname);
    } catch {
      return { refused: 'host name does not resolve' };
    }
  }
  if (addresses.length === 0) return { refused: 'host name does not resolve' };
  for (const { address } of addresses) {
    if (isIpv4Mapped(address)) return { refused: 'IPv4-mapped address' };
    const refused = refusedAddress(address, { allowLoopback });
    if (refused !== undefined) return { refused };
  }
  return { address: addresses[0] as ResolvedAddress };
}

/** `::ffff:a.b.c.d` in any spelling: a name has no reason to resolve to one, so it is refused whatever it maps. */
function isIpv4Mapped(address: string): boolean {
  if (isIP(address) !== 6 || address.includes('%')) return false;
  return new URL(`http://[${address}]/`).hostname.startsWith('[::ffff:');
}
