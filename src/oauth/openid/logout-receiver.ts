import { type LookupAddress, lookup } from 'node:dns';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP } from 'node:net';

/**
 * Where logout tokens may be sent. A `backchannel_logout_uri` is chosen by whoever registers the
 * client, so the request must not reach what only the server can: https only, and no private,
 * loopback, link-local or otherwise non-public address, checked on every address the name
 * resolves to, at connection time (so a name cannot switch to a private address after the check).
 */
export interface ReceiverPolicy {
  /** Development only: http URLs and loopback addresses are allowed too (a receiver on this machine). */
  readonly allowLoopback: boolean;
  /** The whole request, name resolution included, is abandoned after this long. */
  readonly timeoutMs: number;
}

/** The status a receiver answered, or a short reason why none was read (never a body); `refused: …` when the policy forbade the request. */
export type PostOutcome = { status: number } | { error: string };

// IANA special-purpose ranges (RFC 6890 and its updates) that are not the public internet.
const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv6');

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), checked as itself. */
function unmapped(address: string): string {
  const normal = new URL(`http://[${address}]/`).hostname;
  const match = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(normal);
  if (!match) return address;
  const high = Number.parseInt(match[1] as string, 16);
  const low = Number.parseInt(match[2] as string, 16);
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/** Why an address may not be connected to, or undefined if it may. */
export function refusedAddress(raw: string, policy: Pick<ReceiverPolicy, 'allowLoopback'>): string | undefined {
  // A zone index (`fe80::1%eth0`) only ever names a link-local address.
  if (raw.includes('%') || isIP(raw) === 0) return 'non-public address';
  const address = isIP(raw) === 6 ? unmapped(raw) : raw;
  const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
  if (LOOPBACK.check(address, family)) return policy.allowLoopback ? undefined : 'loopback address';
  if (NOT_PUBLIC.check(address, family)) return 'non-public address';
  return undefined;
}

/** Why a receiver URL may not be used at all, or undefined if it may (its addresses are checked when connecting). */
export function refusedUrl(url: URL, policy: Pick<ReceiverPolicy, 'allowLoopback'>): string | undefined {
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowLoopback)) return 'not https';
  if (url.username !== '' || url.password !== '') return 'credentials in the URL';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // A literal address is connected to without a lookup: check it here.
  return isIP(host) === 0 ? undefined : refusedAddress(host, policy);
}

const REFUSED = 'EREFUSEDADDRESS';

/** A `lookup` for node:http that refuses a name if any address it resolves to is refused. */
function guardedLookup(policy: ReceiverPolicy): NonNullable<RequestOptions['lookup']> {
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const refused = addresses.length === 0 ? 'no address' : addresses.map((a) => refusedAddress(a.address, policy)).find((r) => r !== undefined);
      if (refused !== undefined) return callback(Object.assign(new Error(`refused: ${refused}`), { code: REFUSED }), '', 0);
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, all: LookupAddress[]) => void)(null, addresses);
      const [first] = addresses as [LookupAddress];
      callback(null, first.address, first.family);
    });
  };
}

/**
 * POSTs a form to `url` under `policy`: no redirect is followed (a 3xx is just a status), the
 * answer's body is never read, and the whole exchange ends after `timeoutMs`.
 */
export function postForm(url: URL, body: string, policy: ReceiverPolicy): Promise<PostOutcome> {
  const refused = refusedUrl(url, policy);
  if (refused !== undefined) return Promise.resolve({ error: `refused: ${refused}` });
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (outcome: PostOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(
      url,
      {
        method: 'POST',
        agent: false,
        lookup: guardedLookup(policy),
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), 'user-agent': 'Gatehouse' },
      },
      (response) => {
        finish({ status: response.statusCode ?? 0 });
        response.destroy();
      },
    );
    timer = setTimeout(() => {
      finish({ error: 'timeout' });
      request.destroy();
    }, policy.timeoutMs);
    request.on('error', (error: NodeJS.ErrnoException) => finish({ error: error.code === REFUSED ? error.message : (error.code ?? error.name) }));
    request.end(body);
  });
}
