import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromiumUnavailableReason } from '@trainyard/test-services';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type BrowserSession, SCREENSHOTS, startBrowserSession } from './test-support/browser-session';

const skip = chromiumUnavailableReason();

describe.skipIf(skip)(`Web UI: why a job failed, in Chromium against a real server process${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let session: BrowserSession;
  let page: Page;
  let dataDir: string;
  let pageErrors: string[];

  beforeAll(async () => {
    session = await startBrowserSession({ name: 'web-failure' });
    ({ page, dataDir, pageErrors } = session);
  }, 120_000);
  afterAll(() => session?.close());

  it("the job page shows the failure reason and the end of the trainer's stderr, live when the job fails", async () => {
    // A trainer that prints a traceback after 60 lines of noise, then waits for the test before it exits 1.
    const release = join(dataDir, 'release');
    const script = join(dataDir, 'fails.mjs');
    writeFileSync(
      script,
      `import { existsSync } from 'node:fs';
for (let i = 0; i < 60; i++) process.stderr.write('noise ' + i + '\\n');
process.stderr.write('Traceback (most recent call last):\\n  File "train.py", line 12, in <module>\\n    main()\\nValueError: learning rate must be positive, got -0.1\\n');
while (!existsSync(${JSON.stringify(release)})) await new Promise((r) => setTimeout(r, 50));
process.exit(1);
`,
    );
    const { client } = session;
    const job = await client.jobs.create.mutate({ name: 'fails-with-traceback', trainer: { kind: 'command', command: [process.execPath, script] } });
    await vi.waitFor(
      async () => {
        const { status } = await client.jobs.get.query({ id: job.id });
        if (status !== 'running') throw new Error(`job still ${status}`);
      },
      { timeout: 10_000, interval: 50 },
    );

    await session.signIn();
    await page.getByRole('link', { name: 'fails-with-traceback' }).click();
    await page.getByRole('heading', { name: 'fails-with-traceback' }).waitFor();
    await page.locator('.badge-running').waitFor();
    // Running: no failure section yet.
    expect(await page.getByTestId('job-stderr').count()).toBe(0);

    // It fails while the page is open: the status event brings the reason and the stderr tail, no reload.
    writeFileSync(release, '');
    const stderr = page.getByTestId('job-stderr');
    await stderr.waitFor({ timeout: 30_000 });
    await page.locator('.badge-failed').waitFor();
    await expect(page.locator('dd.error-text').textContent()).resolves.toBe('trainer exited with code 1: ValueError: learning rate must be positive, got -0.1');
    const text = (await stderr.textContent()) ?? '';
    expect(text).toContain(
      'Traceback (most recent call last):\n  File "train.py", line 12, in <module>\n    main()\nValueError: learning rate must be positive, got -0.1',
    );
    expect(text).toContain('noise 59');
    expect(text).not.toMatch(/noise 2[0-3]\n/); // bounded: the last 40 lines
    await page.getByText(/Last 40 lines of \d+(\.\d)? (B|KiB)\./).waitFor();
    await page.getByRole('heading', { name: 'Trainer stderr' }).waitFor();
    // Scrolled to the end, where the exception is.
    await expect(
      stderr.evaluate((element) => element.scrollHeight > element.clientHeight && element.scrollTop + element.clientHeight >= element.scrollHeight - 1),
    ).resolves.toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, 'job-failure.png'), fullPage: true });

    // Opened afresh, a failed job's page shows the same.
    await page.reload();
    await page.getByTestId('job-stderr').getByText('ValueError: learning rate must be positive, got -0.1').waitFor();
    expect(pageErrors).toEqual([]);
  }, 90_000);
});
