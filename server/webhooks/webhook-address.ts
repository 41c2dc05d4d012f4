import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/**
 * Addresses a webhook may not reach unless `WEBHOOK_ALLOW_PRIVATE` is set: loopback, private and
 * link-local networks (a cloud's metadata service), carrier-grade NAT, "this network", multicast
 * and the reserved ranges. Otherwise an org admin could have the server call into the network it
 * runs in (and read its answers' status codes in the delivery log).
 */
const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const)
  PRIVATE.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(network, prefix, 'ipv6');

/** Whether an IP address is one a webhook may not reach (an IPv4 address written as IPv6 is judged as IPv4). */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return PRIVATE.check(mapped, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true; // not an address at all: refused
  return PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
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
    if (allowed.length === 0) {
      const refused = Object.assign(new Error(`${hostname} resolves to a private address (${addresses[0]?.address ?? 'none'})`), {
        code: 'EPRIVATE',
      });
      return callback(refused, []);
    }
    if (options.all) return callback(null, allowed);
    callback(null, allowed[0]!.address, allowed[0]!.family);
  });
}
