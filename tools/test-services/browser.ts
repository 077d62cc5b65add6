import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

/** Debian's chromium (never a Playwright download); CHROMIUM_PATH overrides. */
export const chromiumPath = (): string | undefined =>
  [process.env['CHROMIUM_PATH'], ...CANDIDATES].find((path): path is string => Boolean(path && existsSync(path)));

/** Why browser tests cannot run here, or undefined. REQUIRE_BROWSER=1 (CI) turns the reason into a failure. */
export const chromiumUnavailableReason = (): string | undefined => {
  if (chromiumPath()) return undefined;
  const reason = `no Chromium found (looked at ${CANDIDATES.join(', ')}; set CHROMIUM_PATH or apt-get install chromium)`;
  if (process.env['REQUIRE_BROWSER'] === '1') throw new Error(`${reason} (REQUIRE_BROWSER=1)`);
  return reason;
};

export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-default-apps',
    ],
  });
