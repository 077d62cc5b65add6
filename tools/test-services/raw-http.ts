import { request } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A plain HTTP request with full control of headers (fetch forbids setting Host), used to
 * test what the server does with requests a browser or an attacker could send.
 */
export const rawRequest = (url: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    // The path is sent exactly as given: `new URL()` would normalise `..` and encodings away.
    const origin = /^(https?:\/\/[^/]+)(.*)$/.exec(url);
    const { hostname, port } = new URL(origin?.[1] ?? url);
    const target = { hostname, port, path: origin?.[2] || '/', method: options.method ?? 'GET', headers: options.headers };
    const req = request(target, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
