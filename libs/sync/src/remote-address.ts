import { lookup } from 'node:dns/promises';
import { DomainError } from '@trainyard/core';
import ipaddr from 'ipaddr.js';

/**
 * Address ranges a remote URL (or a presigned URL a shared server hands out) may never reach:
 * link-local (incl. the cloud metadata service 169.254.169.254 and fd00:ec2::254),
 * unspecified, multicast, broadcast and reserved space. Loopback and private LAN addresses
 * stay allowed: a user may run a shared server on this machine or on their network on purpose.
 */
const FORBIDDEN_RANGES = new Set(['linkLocal', 'unspecified', 'multicast', 'broadcast', 'reserved', 'carrierGradeNat']);
const METADATA_ADDRESSES = new Set(['169.254.169.254', 'fd00:ec2::254', '100.100.100.200']);

const ipv4From = (high: number, low: number): ipaddr.IPv4 => new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);

/**
 * The IPv4 addresses an IPv6 address carries and may be routed to: IPv4-mapped (::ffff:a.b.c.d),
 * IPv4-compatible (::a.b.c.d), SIIT (::ffff:0:a.b.c.d), NAT64 (64:ff9b::/96 and the local-use
 * 64:ff9b:1::/48), 6to4 (2002:AABB:CCDD::/48) and Teredo (server, and the client XOR 0xffff).
 * A gateway on the path turns these into the IPv4 address, so they are judged by it.
 */
export const embeddedIpv4 = (address: ipaddr.IPv6): ipaddr.IPv4[] => {
  const [p0 = 0, p1 = 0, p2 = 0, p3 = 0, p4 = 0, p5 = 0, p6 = 0, p7 = 0] = address.parts;
  const last = ipv4From(p6, p7);
  const firstFourZero = p0 === 0 && p1 === 0 && p2 === 0 && p3 === 0;
  if (firstFourZero && p4 === 0 && (p5 === 0xffff || (p5 === 0 && (p6 !== 0 || p7 > 1)))) return [last];
  if (firstFourZero && p4 === 0xffff && p5 === 0) return [last];
  if (p0 === 0x64 && p1 === 0xff9b && (p2 === 0 || p2 === 1)) return [last];
  if (p0 === 0x2002) return [ipv4From(p1, p2)];
  if (p0 === 0x2001 && p1 === 0) return [ipv4From(p2, p3), ipv4From(p6 ^ 0xffff, p7 ^ 0xffff)];
  return [];
};

const isForbiddenParsed = (parsed: ipaddr.IPv4 | ipaddr.IPv6): boolean =>
  METADATA_ADDRESSES.has(parsed.toNormalizedString()) || METADATA_ADDRESSES.has(parsed.toString()) || FORBIDDEN_RANGES.has(parsed.range());

export const isForbiddenAddress = (address: string): boolean => {
  if (!ipaddr.isValid(address)) return true;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') return isForbiddenParsed(parsed);
  const embedded = embeddedIpv4(parsed as ipaddr.IPv6);
  // An address that carries an IPv4 address is judged by it (and by its own range too).
  return embedded.some(isForbiddenParsed) || (embedded.length === 0 && isForbiddenParsed(parsed));
};

export type HostResolver = (hostname: string) => Promise<string[]>;

export const systemResolver: HostResolver = async (hostname) => (await lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

/** Refuses non-http(s) URLs, credentials in URLs, and hosts that resolve to a forbidden address. */
export const assertSafeRemoteUrl = async (url: string, resolve: HostResolver = systemResolver): Promise<URL> => {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DomainError('INVALID_ARGUMENT', `Not a URL: ${url}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new DomainError('INVALID_ARGUMENT', `Only http and https URLs are allowed, got ${parsed.protocol}`);
  if (parsed.username || parsed.password) throw new DomainError('INVALID_ARGUMENT', 'Put the token in the token field, not in the URL');
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const addresses = ipaddr.isValid(host)
    ? [host]
    : await resolve(host).catch(() => {
        throw new DomainError('UNAVAILABLE', `Cannot resolve ${host}`);
      });
  const forbidden = addresses.find(isForbiddenAddress);
  if (forbidden) throw new DomainError('INVALID_ARGUMENT', `Refusing ${parsed.origin}: it resolves to ${forbidden}, a link-local/metadata or reserved address`);
  return parsed;
};
