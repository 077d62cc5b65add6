import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { WEB_CONTENT_SECURITY_POLICY } from '@trainyard/contracts';
import { type Route, sendJson } from './http-host';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const SECURITY_HEADERS = {
  'content-security-policy': WEB_CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

interface StaticFile {
  path: string;
  size: number;
  type: string;
}

/** Every file of the built UI, keyed by its URL path; computed once, so no path is ever built from a request. */
const indexFiles = (root: string): Map<string, StaticFile> => {
  const files = new Map<string, StaticFile>();
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const urlPath = `/${relative(root, path).split(sep).join('/')}`;
    files.set(urlPath, { path, size: statSync(path).size, type: CONTENT_TYPES[extname(path)] ?? 'application/octet-stream' });
  }
  return files;
};

const NOT_BUILT = `<!doctype html><title>Trainyard</title><p>The web UI is not built. Run <code>npm run build:web</code> and reload.</p>`;

/**
 * GET / and everything not claimed by another route: the React UI (apps/web/dist). Unknown
 * paths without a file extension get index.html, so the UI's own routes survive a reload.
 */
export const staticRoute = (webDir: string): Route => {
  const files = existsSync(join(webDir, 'index.html')) ? indexFiles(webDir) : new Map<string, StaticFile>();
  return {
    prefix: '/',
    isPublic: true,
    bodyTypes: [],
    maxBodyBytes: 0,
    handle(request, response) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return sendJson(response, 405, { error: { message: 'Not found' } });
      const path = (request.url ?? '/').split('?')[0] ?? '/';
      const index = files.get('/index.html');
      if (!index) {
        response.writeHead(503, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8' });
        return void response.end(NOT_BUILT);
      }
      const file = files.get(path) ?? (extname(path) === '' ? index : undefined);
      if (!file) return sendJson(response, 404, { error: { message: 'Not found' } });
      // Hashed asset names never change content; index.html must always be revalidated.
      const cache = path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
      response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': file.type, 'content-length': file.size, 'cache-control': cache });
      if (request.method === 'HEAD') return void response.end();
      createReadStream(file.path).pipe(response);
    },
  };
};
