import { lookup } from 'node:dns/promises';
import { DomainError } from '@trainyard/core';
import ipaddr from 'ipaddr.js';

/**
 * Address ranges a registry URL (or a presigned URL a registry hands out) may never reach:
 * link-local (incl. the cloud metadata service 169.254.169.254 and fd00:ec2::254),
 * unspecified, multicast, broadcast and reserved space. Loopback and private LAN addresses
 * stay allowed: a user may run a registry on this machine or on their network on purpose.
 */
const FORBIDDEN_RANGES = new Set(['linkLocal', 'unspecified', 'multicast', 'broadcast', 'reserved', 'carrierGradeNat']);
const METADATA_ADDRESSES = new Set(['169.254.169.254', 'fd00:ec2::254', '100.100.100.200']);

export const isForbiddenAddress = (address: string): boolean => {
  if (!ipaddr.isValid(address)) return true;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return METADATA_ADDRESSES.has(parsed.toNormalizedString()) || METADATA_ADDRESSES.has(parsed.toString()) || FORBIDDEN_RANGES.has(parsed.range());
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
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new DomainError('INVALID_ARGUMENT', `Only http and https URLs are allowed, got ${parsed.protocol}`);
  if (parsed.username || parsed.password) throw new DomainError('INVALID_ARGUMENT', 'Put the token in the token field, not in the URL');
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const addresses = ipaddr.isValid(host) ? [host] : await resolve(host).catch(() => {
    throw new DomainError('UNAVAILABLE', `Cannot resolve ${host}`);
  });
  const forbidden = addresses.find(isForbiddenAddress);
  if (forbidden) throw new DomainError('FORBIDDEN', `Refusing ${parsed.origin}: it resolves to ${forbidden}, a link-local/metadata or reserved address`);
  return parsed;
};
