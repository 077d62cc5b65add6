import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumUnavailableReason } from '@trainyard/test-services';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserSession, SCREENSHOTS, startBrowserSession } from './test-support/browser-session';

// The Sweeps screens in Chromium against the built server: a real sweep of the test objective
// (libs/sweeps/src/test-fixtures/objective-trainer.mjs) with ASHA, followed live to its end, then
// its trials opened on the Compare page.
const skip = chromiumUnavailableReason();
const objective = fileURLToPath(new URL('../../../libs/sweeps/src/test-fixtures/objective-trainer.mjs', import.meta.url));

describe.skipIf(skip)(`Web UI: sweeps, in Chromium against a real server${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let session: BrowserSession;
  let page: Page;

  beforeAll(async () => {
    session = await startBrowserSession({ name: 'web-sweeps' });
    ({ page } = session);
  }, 120_000);
  afterAll(async () => {
    await session?.close();
  });

  it('lists a sweep, follows its trials live to the end (pruned ones marked), and compares the trials that ran', async () => {
    await session.client.sweeps.create.mutate({
      name: 'lr × width',
      base: { trainer: { kind: 'command', command: [process.execPath, objective] }, hyperparameters: { steps: 9, stepMs: 150 } },
      method: 'grid',
      parameters: { lr: { values: [0.001, 0.01, 0.1] }, width: { values: [16, 64, 256] } },
      concurrency: 1,
      earlyStopping: { type: 'asha', metric: 'loss', mode: 'min', gracePeriod: 1, reductionFactor: 3 },
    } as Parameters<typeof session.client.sweeps.create.mutate>[0]);
    await session.signIn();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sweeps', exact: true }).click();
    await page.getByTestId('sweeps-table').getByRole('link', { name: 'lr × width' }).click();
    await page.getByRole('heading', { name: 'Sweep lr × width' }).waitFor();
    // Live: the page refreshes while the sweep runs, until it says finished.
    await expect.poll(() => page.getByTestId('sweep-summary').textContent(), { timeout: 60_000 }).toMatch(/1 running/);
    await expect.poll(() => page.locator('.screen-header .badge').textContent(), { timeout: 120_000, interval: 500 }).toBe('finished');
    const summary = (await page.getByTestId('sweep-summary').textContent()) ?? '';
    expect(summary).toMatch(/grid, 9 trials, 1 at a time, ASHA on loss \(min\) — .*\d+ succeeded.*\d+ pruned/);
    const outcomes = await page.locator('[data-testid=trials-table] tbody tr td:nth-child(2)').allTextContents();
    expect(outcomes).toHaveLength(9);
    expect(outcomes.every((outcome) => ['succeeded', 'pruned'].includes(outcome))).toBe(true);
    const best = page.locator('[data-testid=trials-table] tbody tr', { hasText: '{"lr":0.01,"width":64}' });
    expect(await best.locator('td:nth-child(2)').textContent()).toBe('succeeded');
    const pruned = page.locator('[data-testid=trials-table] tbody tr', { hasText: 'pruned' }).first();
    expect(await pruned.locator('td:nth-child(4)').textContent()).toMatch(/^step \d+: /);
    await page.screenshot({ path: join(SCREENSHOTS, 'sweep-detail.png'), fullPage: true });
    await page.getByRole('link', { name: 'Compare the 9 trials that ran' }).click();
    await page.getByRole('heading', { name: 'Compare 9 jobs' }).waitFor();
    await expect.poll(() => page.getByTestId('compare-summary').textContent(), { timeout: 30_000 }).toMatch(/^9 of 9 jobs · 2 of \d+ parameters differ/);
    expect(session.pageErrors).toEqual([]);
  }, 240_000);
});
