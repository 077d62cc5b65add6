import { describe, expect, it } from 'vitest';
import { assertSafeRemoteUrl, isForbiddenAddress } from './remote-address';

describe('remote address policy', () => {
  it('refuses link-local, metadata, unspecified and multicast addresses, in every spelling', () => {
    for (const address of [
      '169.254.169.254',
      '169.254.0.1',
      'fe80::1',
      'fd00:ec2::254',
      '::ffff:169.254.169.254',
      '0.0.0.0',
      '::',
      '224.0.0.1',
      '255.255.255.255',
      'not-an-ip',
    ]) {
      expect(isForbiddenAddress(address), address).toBe(true);
    }
  });

  it('judges an IPv6 address that carries an IPv4 address by the embedded address', () => {
    const metadata = [
      '64:ff9b::a9fe:a9fe',
      '64:ff9b:1::a9fe:a9fe',
      '2002:a9fe:a9fe::1',
      '::169.254.169.254',
      '::a9fe:a9fe',
      '::ffff:a9fe:a9fe',
      '::ffff:0:169.254.169.254',
      '0:0:0:0:0:ffff:169.254.169.254',
    ];
    for (const address of metadata) expect(isForbiddenAddress(address), address).toBe(true);
    // Teredo: server 169.254.169.254, or client 169.254.169.254 stored XOR 0xffff (5601:5601).
    expect(isForbiddenAddress('2001:0:a9fe:a9fe::1'), 'teredo server').toBe(true);
    expect(isForbiddenAddress('2001:0:4136:e378:8000:63bf:5601:5601'), 'teredo client').toBe(true);
    // The same forms carrying an allowed address stay allowed.
    for (const address of ['64:ff9b::5db8:d822', '2002:5db8:d822::1', '::ffff:10.1.2.3', '2001:0:4136:e378:8000:63bf:a247:ddd']) {
      expect(isForbiddenAddress(address), address).toBe(false);
    }
  });

  it('refuses URLs whose bracketed IPv6 host embeds a metadata address', async () => {
    const resolver = async (): Promise<string[]> => ['93.184.216.34'];
    for (const host of ['[64:ff9b::a9fe:a9fe]', '[2002:a9fe:a9fe::1]', '[::169.254.169.254]', '[::ffff:169.254.169.254]', '[64:ff9b::169.254.169.254]']) {
      await expect(assertSafeRemoteUrl(`http://${host}:4777/`, resolver), host).rejects.toThrow(/link-local\/metadata/);
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
    await expect(assertSafeRemoteUrl('https://user:pw@server.example/', resolver)).rejects.toThrow(/not in the URL/);
    await expect(assertSafeRemoteUrl('https://server.example/', resolver)).resolves.toBeInstanceOf(URL);
  });
});
