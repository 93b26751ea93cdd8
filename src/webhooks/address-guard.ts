/**
 * Which addresses a webhook may reach: by default none of loopback, private, link-local, CGNAT, multicast,
 * reserved, documentation or unspecified ranges, nor IPv6 unique-local, link-local, IPv4-mapped or NAT64
 * ones (a webhook URL is the client's choice, and must not turn the worker into a probe of the network it
 * runs in). The check runs after DNS, inside the socket's own `lookup`, so the address checked is the
 * address connected to: a name that resolves to 127.0.0.1, or changes its answer between a check and the
 * connection (DNS rebinding), is refused. Hosts named in WEBHOOK_ALLOW_HOSTS skip the check, by their
 * exact name or address as written in the URL string (host-as-written.ts: allowing `127.0.0.1` allows
 * neither `localhost` nor `2130706433`).
 *
 * A refusal reads the same to the client whatever the name resolved to, and so does a name that does not
 * resolve at all: otherwise the delivery log would tell a client which internal names exist and where they
 * point. The detail is kept for the operator's log only.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { hostAsWritten } from './host-as-written.js';

const blocked = new BlockList();
const V4: [string, number][] = [
  ['0.0.0.0', 8], // "this" network, unspecified
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata services live here)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and 255.255.255.255 broadcast
];
const V6: [string, number][] = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['::', 96], // IPv4-compatible (deprecated)
  ['64:ff9b::', 96], // NAT64
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: embeds an IPv4 address
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];
for (const [net, prefix] of V4) blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of V6) blocked.addSubnet(net, prefix, 'ipv6');
// IPv4-mapped IPv6 (::ffff:a.b.c.d) would reach the IPv4 address behind it: all refused. A list of its own,
// since a BlockList matches an IPv4 address against an IPv4-mapped subnet too.
const mapped = new BlockList();
mapped.addSubnet('::ffff:0:0', 96, 'ipv6');

/** True for an address a webhook may not reach by default; anything that is not an IP address counts too. */
export function isBlockedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  try {
    if (family === 4) return blocked.check(address, 'ipv4');
    return mapped.check(address, 'ipv6') || blocked.check(address, 'ipv6');
  } catch {
    return true;
  }
}

/** What the client reads for every refusal, and for a name that does not resolve. */
export const REFUSED_MESSAGE =
  'refused: the host has no address a webhook may reach (public, or allowed by WEBHOOK_ALLOW_HOSTS)';

/** lookup errors that mean "no such name" (not a DNS outage, which is retried as a network error) */
const UNKNOWN_NAME = new Set(['ENOTFOUND', 'ENODATA']);

/** A delivery refused because of where it would go, or because its name does not resolve: final. */
export class RefusedAddressError extends Error {
  readonly code = 'WEBHOOK_ADDRESS_REFUSED';
  /** for the operator's log only: what the name resolved to, or why it did not */
  readonly detail: string;
  constructor(host: string, found: { address: string } | { lookupError: string }) {
    super(REFUSED_MESSAGE);
    this.name = 'RefusedAddressError';
    this.detail =
      'address' in found
        ? host === found.address
          ? `${host} is a blocked address`
          : `${host} resolves to ${found.address}, a blocked address`
        : `${host}: ${found.lookupError}`;
  }
}

/** A URL's hostname as a plain name or address: lower case, IPv6 without its brackets. */
export function bareHost(hostname: string): string {
  const host = hostname.toLowerCase();
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

export class AddressGuard {
  private readonly allowed: Set<string>;

  constructor(allowHosts: readonly string[] = []) {
    this.allowed = new Set(allowHosts.map((h) => bareHost(h.trim())).filter((h) => h !== ''));
  }

  /** The URL's host, as its string spells it, is in WEBHOOK_ALLOW_HOSTS: no address check. */
  allowsUrl(url: string): boolean {
    const host = hostAsWritten(url);
    return host !== undefined && this.allowed.has(bareHost(host));
  }

  /**
   * Throws RefusedAddressError for a URL whose host is a blocked literal address (the socket does no lookup
   * for those, so `lookup` below never sees them). `hostname` is the parsed URL's (normalised: `127.1` is
   * `127.0.0.1` here); `allowed` is allowsUrl's answer for the URL.
   */
  checkLiteral(hostname: string, allowed: boolean): void {
    const host = bareHost(hostname);
    if (!allowed && isIP(host) !== 0 && isBlockedAddress(host)) {
      throw new RefusedAddressError(host, { address: host });
    }
  }

  /**
   * The `lookup` option of http.request: resolves, refuses the name when any of its addresses is blocked,
   * and hands the checked addresses to the socket, which connects to exactly those.
   */
  readonly lookup = (hostname: string, options: object, callback: LookupCallback): void => {
    const all: LookupAllOptions = { ...(options as LookupAllOptions), all: true };
    dnsLookup(hostname, all, (error, addresses) => {
      if (error) {
        // an unknown name reads as a refusal: the client must not tell it from an internal one
        const code = error.code ?? '';
        callback(
          UNKNOWN_NAME.has(code) ? new RefusedAddressError(hostname, { lookupError: code }) : error,
          '',
          0,
        );
        return;
      }
      const bad = addresses.find((a) => isBlockedAddress(a.address));
      if (bad) {
        callback(new RefusedAddressError(hostname, bad), '', 0);
        return;
      }
      if (addresses.length === 0) {
        callback(new RefusedAddressError(hostname, { lookupError: 'no address' }), '', 0);
        return;
      }
      if ((options as { all?: boolean }).all) callback(null, addresses);
      else callback(null, addresses[0].address, addresses[0].family);
    });
  };
}
