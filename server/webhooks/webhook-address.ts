import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/**
 * Addresses a webhook may not reach unless `WEBHOOK_ALLOW_PRIVATE` is set: loopback, private and
 * link-local networks (a cloud's metadata service), carrier-grade NAT, "this network", multicast
 * and the reserved ranges; of IPv6, anything but global unicast (`2000::/3`), and within it the
 * Teredo and documentation ranges. An IPv4 address carried in an IPv6 one (mapped, NAT64, 6to4) is
 * judged as IPv4. Otherwise an org admin could have the server call into the network it runs in.
 */
const PRIVATE_V4 = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 3],
] as const)
  PRIVATE_V4.addSubnet(network, prefix, 'ipv4');
const GLOBAL_V6 = new BlockList();
GLOBAL_V6.addSubnet('2000::', 3, 'ipv6');
const PRIVATE_V6 = new BlockList();
PRIVATE_V6.addSubnet('2001::', 32, 'ipv6'); // Teredo
PRIVATE_V6.addSubnet('2001:db8::', 32, 'ipv6'); // documentation

/** Whether an IP address is one a webhook may not reach. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return PRIVATE_V4.check(address, 'ipv4');
  if (family !== 6) return true; // not an address at all: refused
  const words = ipv6Words(address);
  const carried = carriedIpv4(words);
  if (carried) return PRIVATE_V4.check(carried, 'ipv4');
  return !GLOBAL_V6.check(address, 'ipv6') || PRIVATE_V6.check(address, 'ipv6');
}

/** The IPv4 address an IPv6 one carries: mapped (`::ffff:a.b.c.d`), NAT64 (`64:ff9b::/96`) or 6to4 (`2002::/16`). */
function carriedIpv4(words: number[]): string | null {
  const v4 = (high: number, low: number) => `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  const zeros = (from: number, to: number) => words.slice(from, to).every((word) => word === 0);
  if (zeros(0, 5) && words[5] === 0xffff) return v4(words[6]!, words[7]!);
  if (words[0] === 0x64 && words[1] === 0xff9b && zeros(2, 6)) return v4(words[6]!, words[7]!);
  if (words[0] === 0x2002) return v4(words[1]!, words[2]!);
  return null;
}

/** An IPv6 address's eight 16-bit words (`::` expanded, a dotted IPv4 tail read as two). */
function ipv6Words(address: string): number[] {
  let text = address.replace(/%.*$/, ''); // a zone, as in fe80::1%eth0
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const part = (piece: string | undefined) => (piece ? piece.split(':').map((word) => Number.parseInt(word, 16)) : []);
  const [first, last] = [part(head), part(tail)];
  return tail === undefined ? first : [...first, ...Array<number>(8 - first.length - last.length).fill(0), ...last];
}

/** A URL's host as an address (`[::1]` → `::1`), or null when it is a name. */
export function hostAddress(url: URL): string | null {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return isIP(host) ? host : null;
}

/** Why a webhook's URL names a host it may not reach (an address, or `localhost`), or null. Names are checked again as they resolve. */
export function privateHostReason(url: URL): string | null {
  const address = hostAddress(url);
  if (address !== null) return isPrivateAddress(address) ? `${address} is a private address` : null;
  const name = url.hostname.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost') ? `${name} is this machine` : null;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * `dns.lookup` for a webhook's connection that refuses a name resolving to a private address: the
 * check is made on the very address connected to, so a name that resolves elsewhere the second
 * time (DNS rebinding) gains nothing.
 */
export function publicLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const allowed = addresses.filter((entry) => !isPrivateAddress(entry.address));
    if (allowed.length === 0) return callback(Object.assign(new Error(`${hostname} has no public address`), { code: 'EPRIVATE' }), []);
    if (options.all) return callback(null, allowed);
    callback(null, allowed[0]!.address, allowed[0]!.family);
  });
}
