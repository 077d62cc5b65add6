import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createTrainyardClient, type TrainyardClient } from '@trainyard/client';
import { launchChromium, type ServerProcess, startServerProcess } from '@trainyard/test-services';
import type { Browser, Page } from 'playwright-core';

/** Screenshots kept as test output (see docs/testing.md). */
export const SCREENSHOTS = resolve('test-output/screenshots');

export interface BrowserSession {
  server: ServerProcess;
  client: TrainyardClient;
  browser: Browser;
  page: Page;
  dataDir: string;
  /** Uncaught errors of the page: a browser test ends by expecting none. */
  pageErrors: string[];
  /** Signs the page in with the session token, as a user would, and waits for the app. */
  signIn(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real server process on a fresh data dir, its typed client, and a Chromium page on it:
 * what every browser test starts from. `npm test` builds the UI first; run directly, say so
 * instead of failing on a placeholder page.
 */
export const startBrowserSession = async (options: {
  name: string;
  env?: Record<string, string>;
  viewport?: { width: number; height: number };
  acceptDownloads?: boolean;
}): Promise<BrowserSession> => {
  if (!existsSync(resolve('apps/web/dist/index.html'))) throw new Error('The web UI is not built: run `npm run build:web` (npm test does) before this test');
  mkdirSync(SCREENSHOTS, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), `trainyard-${options.name}-`));
  const server = await startServerProcess({ TRAINYARD_DATA_DIR: dataDir, TRAINYARD_DEMO_DATA: 'off', ...options.env });
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: options.viewport ?? { width: 1280, height: 800 }, acceptDownloads: options.acceptDownloads ?? false });
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return {
    server,
    client: createTrainyardClient({ url: server.url, token: server.token }),
    browser,
    page,
    dataDir,
    pageErrors,
    async signIn() {
      await page.goto(server.url);
      await page.getByLabel('Session token').fill(server.token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Jobs', exact: true }).waitFor();
    },
    async close() {
      await browser.close();
      server.child.kill('SIGTERM');
      await server.exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
};
