/**
 * The address classifier and the guard's decisions, on address strings only: no test here opens a
 * connection, and none resolves anything but `localhost` and a `.invalid` name (which never exists).
 */
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  AddressGuard,
  bareHost,
  isBlockedAddress,
  REFUSED_MESSAGE,
  RefusedAddressError,
} from '../../src/webhooks/address-guard.js';
import { hostAsWritten } from '../../src/webhooks/host-as-written.js';

describe('isBlockedAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback /8'],
    ['0.0.0.0', 'unspecified'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.254', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'CGNAT'],
    ['100.127.255.255', 'CGNAT'],
    ['169.254.169.254', 'link-local (metadata)'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['198.18.0.1', 'benchmarking'],
    ['192.0.2.10', 'documentation'],
    ['::', 'IPv6 unspecified'],
    ['::1', 'IPv6 loopback'],
    ['fc00::1', 'unique local'],
    ['fd12:3456::1', 'unique local'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['::ffff:8.8.8.8', 'IPv4-mapped (any)'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex'],
    ['64:ff9b::a00:1', 'NAT64'],
    ['2002:7f00:1::', '6to4'],
    ['not-an-address', 'not an address'],
    ['', 'empty'],
  ])('%s is blocked (%s)', (address) => {
    expect(isBlockedAddress(address)).toBe(true);
  });

  it.each([
    ['8.8.8.8'],
    ['1.1.1.1'],
    ['100.63.255.255'],
    ['100.128.0.0'],
    ['172.15.255.255'],
    ['172.32.0.0'],
    ['11.0.0.1'],
    ['2606:4700:4700::1111'],
    ['2001:4860:4860::8888'],
  ])('%s (public) is not', (address) => {
    expect(isBlockedAddress(address)).toBe(false);
  });
});

describe('AddressGuard', () => {
  it('allows listed hosts by their name as written in the URL, brackets and case aside', () => {
    const guard = new AddressGuard(['127.0.0.1', ' Hooks.Internal ', '[::1]']);
    expect(guard.allowsUrl('http://127.0.0.1:8080/hook')).toBe(true);
    expect(guard.allowsUrl('https://user:pw@HOOKS.internal/x?y#z')).toBe(true);
    expect(guard.allowsUrl('http://[::1]:9/')).toBe(true);
    expect(guard.allowsUrl('http://localhost/')).toBe(false);
    expect(guard.allowsUrl('http://127.0.0.2/')).toBe(false);
    expect(bareHost('[FE80::1]')).toBe('fe80::1');
  });

  it.each([
    'http://2130706433/',
    'http://0x7f000001/',
    'http://0x7f.1/',
    'http://127.1/',
    'http://0177.0.0.1/',
    'http://127.0.0.1./',
    'http://127%2E0.0.1/',
    'http://[0:0:0:0:0:0:0:1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://hooks.internal./',
    'http://127.0.0.1@127.0.0.2/',
  ])('%s is not an allowed spelling, and goes through the address check', (url) => {
    const guard = new AddressGuard(['127.0.0.1', '[::1]', 'hooks.internal']);
    expect(guard.allowsUrl(url)).toBe(false);
    const host = new URL(url).hostname;
    if (isIP(bareHost(host)) !== 0) {
      expect(() => guard.checkLiteral(host, guard.allowsUrl(url))).toThrow(RefusedAddressError);
    }
  });

  it('hostAsWritten reads the authority as the URL parser does, or not at all', () => {
    expect(hostAsWritten('http://a:b@Example.COM:80/p')).toBe('example.com');
    expect(hostAsWritten('http://127.0.0.1\\@10.0.0.1/')).toBe('127.0.0.1');
    expect(hostAsWritten('http://[::1]/')).toBe('[::1]');
    expect(hostAsWritten('http://2130706433/')).toBe('2130706433');
    // a string the parser reads differently (leading blank, a tab in the host) is never "as written"
    expect(hostAsWritten(' http://127.0.0.1/')).toBeUndefined();
    expect(hostAsWritten('http://127.0.\t0.1/')).toBeUndefined();
    expect(hostAsWritten('http://127%2E0.0.1/')).toBeUndefined();
  });

  it('refuses blocked literal addresses unless allowed, and lets public ones through', () => {
    const guard = new AddressGuard(['127.0.0.1']);
    expect(() => guard.checkLiteral('127.0.0.1', true)).not.toThrow();
    expect(() => guard.checkLiteral('127.0.0.2', false)).toThrow(RefusedAddressError);
    expect(() => guard.checkLiteral('[::1]', false)).toThrow(REFUSED_MESSAGE);
    expect(() => guard.checkLiteral('169.254.169.254', false)).toThrow(RefusedAddressError);
    expect(() => guard.checkLiteral('8.8.8.8', false)).not.toThrow();
    // a name is checked after DNS, by lookup
    expect(() => guard.checkLiteral('example.com', false)).not.toThrow();
  });

  it('lookup refuses a name that resolves to loopback and one that does not resolve, alike', async () => {
    const guard = new AddressGuard(['127.0.0.1']);
    const refusal = (name: string) =>
      new Promise<Error | null>((resolve) => guard.lookup(name, {}, (err) => resolve(err)));
    const [loopback, unknown] = await Promise.all([
      refusal('localhost'),
      refusal('levinv-no-such-name.invalid'),
    ]);
    for (const error of [loopback, unknown]) {
      expect(error).toBeInstanceOf(RefusedAddressError);
      expect(error?.message).toBe(REFUSED_MESSAGE);
    }
    // the operator's detail says what happened
    expect((loopback as RefusedAddressError).detail).toMatch(/^localhost resolves to (127\.0\.0\.1|::1)/);
    expect((unknown as RefusedAddressError).detail).toBe('levinv-no-such-name.invalid: ENOTFOUND');
  });
});
