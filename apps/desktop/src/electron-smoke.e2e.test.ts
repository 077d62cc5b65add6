import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { _electron as electron } from 'playwright-core';
import { describe, expect, it } from 'vitest';

/** The Electron binary npm would have downloaded; absent when ELECTRON_SKIP_BINARY_DOWNLOAD=1 (as on CI here). */
const electronBinary = (): string | undefined => {
  const pathFile = resolve('node_modules/electron/path.txt');
  if (!existsSync(pathFile)) return undefined;
  const binary = resolve('node_modules/electron/dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary) ? binary : undefined;
};
const binary = electronBinary();
const skip = binary
  ? undefined
  : 'the Electron binary is not installed (ELECTRON_SKIP_BINARY_DOWNLOAD=1); install it with `npx install-electron` to run this test';

describe.skipIf(skip)(`Electron smoke test${skip ? ` — skipped: ${skip}` : ''}`, () => {
  it('launches the app, whose window is locked down and shows the dashboard from its child server', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'trainyard-electron-'));
    const app = await electron.launch({
      executablePath: binary,
      args: [resolve('apps/desktop')],
      env: { ...process.env, TRAINYARD_DATA_DIR: dataDir, TRAINYARD_DEMO_DATA: 'off' },
    });
    try {
      const window = await app.firstWindow();
      await window.getByRole('heading', { name: 'Jobs' }).waitFor({ timeout: 60_000 });
      // The preferences' effects, seen from the page: no Node, isolated preload, no popups, no leaving.
      await expect(window.evaluate('typeof require + typeof process')).resolves.toBe('undefinedundefined');
      await expect(window.evaluate('window.trainyardDesktop.isDesktop')).resolves.toBe(true);
      await expect(window.evaluate('window.open("https://example.com/") === null')).resolves.toBe(true);
      const appUrl = window.url();
      expect(appUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/jobs$/);
      await window.evaluate('location.href = "https://example.com/"');
      await window.waitForTimeout(500);
      expect(window.url()).toBe(appUrl);
      const sandboxed = await app.evaluate(({ BrowserWindow }) => {
        const contents = BrowserWindow.getAllWindows()[0]?.webContents as unknown as { getLastWebPreferences?: () => Record<string, unknown> };
        return contents.getLastWebPreferences?.();
      });
      if (sandboxed) expect(sandboxed).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true });
    } finally {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
