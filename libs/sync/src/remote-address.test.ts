import { describe, expect, it } from 'vitest';
import { assertSafeRemoteUrl, isForbiddenAddress } from './remote-address';

describe('remote address policy', () => {
  it('refuses link-local, metadata, unspecified and multicast addresses, in every spelling', () => {
    for (const address of ['169.254.169.254', '169.254.0.1', 'fe80::1', 'fd00:ec2::254', '::ffff:169.254.169.254', '0.0.0.0', '::', '224.0.0.1', '255.255.255.255', 'not-an-ip']) {
      expect(isForbiddenAddress(address), address).toBe(true);
    }
  });

  it('allows public, loopback and LAN addresses', () => {
    for (const address of ['93.184.216.34', '127.0.0.1', '::1', '10.1.2.3', '192.168.1.20', '2606:4700::1111']) {
      expect(isForbiddenAddress(address), address).toBe(false);
    }
  });

  it('checks what a host name resolves to, and refuses other schemes and credentials', async () => {
    const resolver = async (host: string) => (host === 'metadata.internal' ? ['169.254.169.254'] : ['93.184.216.34']);
    await expect(assertSafeRemoteUrl('http://metadata.internal/latest', resolver)).rejects.toThrow(/resolves to 169.254.169.254/);
    await expect(assertSafeRemoteUrl('http://169.254.169.254/', resolver)).rejects.toThrow(/link-local\/metadata/);
    await expect(assertSafeRemoteUrl('http://[fe80::1]:4777/', resolver)).rejects.toThrow(/fe80::1/);
    await expect(assertSafeRemoteUrl('file:///etc/passwd', resolver)).rejects.toThrow(/Only http and https/);
    await expect(assertSafeRemoteUrl('https://user:pw@registry.example/', resolver)).rejects.toThrow(/not in the URL/);
    await expect(assertSafeRemoteUrl('https://registry.example/', resolver)).resolves.toBeInstanceOf(URL);
  });
});
