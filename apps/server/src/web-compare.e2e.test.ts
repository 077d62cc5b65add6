import { join } from 'node:path';
import { chromiumUnavailableReason, SEEDED_METRICS, seedComparedJobs, seededParameters, seededValue } from '@trainyard/test-services';
import { createMetricsStore } from '@trainyard/training';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserSession, SCREENSHOTS, startBrowserSession } from './test-support/browser-session';

const skip = chromiumUnavailableReason();
const JOBS = 1_000;
const POINTS = 200;

/** What the page's formatNumber shows (4 significant digits; std with 2). */
const shown = (value: number, digits = 4): string => (Number.isInteger(value) ? String(value) : value.toPrecision(digits));
const bestValLoss = (index: number): number => Math.min(...Array.from({ length: POINTS }, (_, i) => seededValue('val_loss', index, i + 1, POINTS)));
const trialName = (index: number): string => `trial-${String(index).padStart(4, '0')}`;

const columnTexts = async (page: Page, column: number): Promise<string[]> =>
  page.locator(`[data-testid=compare-table] tbody tr td:nth-child(${column})`).allTextContents();

describe.skipIf(skip)(
  `Web UI: comparing ${JOBS} jobs × ${SEEDED_METRICS.length} metrics, in Chromium against a real server${skip ? ` — skipped: ${skip}` : ''}`,
  () => {
    let session: BrowserSession;
    let page: Page;
    let ids: string[];

    beforeAll(async () => {
      // The seeded jobs are never run (no orchestrator): their metric files are the seeded ones.
      session = await startBrowserSession({ name: 'web-compare', env: { TRAINYARD_ORCHESTRATOR: 'off' } });
      ({ page } = session);
      ids = await seedComparedJobs({ client: session.client, metrics: createMetricsStore(join(session.dataDir, 'metrics')), count: JOBS, points: POINTS });
    }, 300_000);
    afterAll(async () => {
      await session?.close();
    });

    it('ticks every job on the jobs list and opens them with Compare: only the differing parameters, then all on request', async () => {
      await session.signIn();
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Jobs', exact: true }).click();
      const rows = page.locator('[data-testid=jobs-table] tbody tr');
      for (let loaded = 100; loaded < JOBS; loaded += 100) {
        await rows.nth(loaded - 1).waitFor();
        await page.getByRole('button', { name: 'Load more' }).click();
      }
      await rows.nth(JOBS - 1).waitFor();
      await page.getByLabel('Select all shown jobs').check();
      await page.getByRole('button', { name: `Compare (${JOBS})` }).click();
      await page.getByRole('heading', { name: `Compare ${JOBS} jobs` }).waitFor();
      expect(page.url()).toContain('/compare?ids=');
      await expect
        .poll(() => page.getByTestId('compare-summary').textContent(), { timeout: 30_000 })
        .toBe(`${JOBS} of ${JOBS} jobs · 4 of 5 parameters differ (shown) · ${SEEDED_METRICS.length} metrics`);
      const headers = async () => page.locator('[data-testid=compare-table] thead button.sort').allTextContents();
      expect((await headers()).slice(0, 5)).toEqual(['Name ▲', 'layers', 'lr', 'optimizer', 'seed']);
      expect(await headers()).not.toContain('batch_size');
      expect(await headers()).toEqual(expect.arrayContaining([...SEEDED_METRICS]));
      // 100 rows a page, in name order; the parameters as the jobs have them.
      expect(await page.locator('[data-testid=compare-table] tbody tr').count()).toBe(100);
      await expect(page.getByRole('navigation', { name: 'Compare pages' }).textContent()).resolves.toContain('Page 1 of 10');
      expect((await columnTexts(page, 2)).slice(0, 2)).toEqual([trialName(0), trialName(1)]);
      expect((await columnTexts(page, 4)).slice(0, 2)).toEqual([String(seededParameters(0).lr), String(seededParameters(1).lr)]);
      await page.getByLabel('Show all parameters').check();
      expect(await headers()).toContain('batch_size');
      await page.getByLabel('Show all parameters').uncheck();
      await page.screenshot({ path: join(SCREENSHOTS, 'compare-1000.png'), fullPage: true });
    }, 180_000);

    it('sorts by a metric’s best (val_loss: lowest first), by its last value, and by a parameter', async () => {
      const order = Array.from({ length: JOBS }, (_, index) => index).sort((a, b) => bestValLoss(a) - bestValLoss(b));
      await page.getByRole('button', { name: 'Sort by val_loss' }).click();
      const valLossColumn = 2 + 4 + [...SEEDED_METRICS].sort().indexOf('val_loss') + 1;
      expect((await columnTexts(page, 2)).slice(0, 3)).toEqual(order.slice(0, 3).map(trialName));
      expect((await columnTexts(page, valLossColumn))[0]).toBe(shown(bestValLoss(order[0] as number)));
      await page.getByRole('button', { name: 'Sort by val_loss' }).click();
      expect((await columnTexts(page, 2))[0]).toBe(trialName(order.at(-1) as number));
      // Its last value instead: val_loss rises after step 150, so the last is not the best.
      await page.getByLabel('val_loss value').selectOption('last');
      const lastOrder = Array.from({ length: JOBS }, (_, index) => index).sort(
        (a, b) => seededValue('val_loss', b, POINTS, POINTS) - seededValue('val_loss', a, POINTS, POINTS),
      );
      expect((await columnTexts(page, valLossColumn))[0]).toBe(shown(seededValue('val_loss', lastOrder[0] as number, POINTS, POINTS)));
      await page.getByLabel('val_loss value').selectOption('best');
      await page.getByRole('button', { name: 'Sort by layers' }).click();
      expect(new Set((await columnTexts(page, 3)).slice(0, 100))).toEqual(new Set(['2']));
      // Filters: a name, and a number on a column.
      await page.getByLabel('Name contains').fill('trial-000');
      await expect.poll(() => page.getByTestId('compare-summary').textContent()).toMatch(/^10 of 1000 jobs/);
      await page.getByLabel('Name contains').fill('');
      await page.getByLabel('Numeric filter column').selectOption('parameter:lr');
      await page.getByLabel('Numeric filter value').fill('0.03');
      await expect.poll(() => page.getByTestId('compare-summary').textContent()).toMatch(/^400 of 1000 jobs/);
      // The chart shows the rows the filter keeps.
      await expect.poll(() => page.getByTestId('parallel-coordinates').getAttribute('data-lines')).toBe('400');
      await page.getByLabel('Numeric filter column').selectOption('');
    }, 60_000);

    it('groups by a parameter with each metric’s mean ± std per group', async () => {
      await page.getByLabel('Group by').selectOption('optimizer');
      const groups = page.locator('[data-testid=compare-groups] tbody tr');
      await expect.poll(() => groups.count()).toBe(2);
      const members = (optimizer: string) =>
        Array.from({ length: JOBS }, (_, index) => index).filter((index) => seededParameters(index).optimizer === optimizer);
      const cells = await groups.first().locator('td').allTextContents();
      const adam = members('adam').map(bestValLoss);
      const mean = adam.reduce((sum, value) => sum + value, 0) / adam.length;
      const std = Math.sqrt(adam.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (adam.length - 1));
      expect(cells.slice(0, 2)).toEqual(['adam', String(adam.length)]);
      expect(cells[2 + [...SEEDED_METRICS].sort().indexOf('val_loss')]).toBe(`${shown(mean)} ± ${shown(std, 2)}`);
      await page.getByLabel('Group by').selectOption('seed');
      await expect.poll(() => groups.count()).toBe(Math.ceil(JOBS / 30));
      await page.screenshot({ path: join(SCREENSHOTS, 'compare-grouped-by-seed.png'), fullPage: true });
      await page.getByLabel('Group by').selectOption('');
    }, 60_000);

    it('draws the parallel coordinates of the differing parameters (an ordinal axis for the optimizer) against the chosen metric', async () => {
      await page.getByLabel('Chart metric').selectOption('val_loss');
      const chart = page.getByTestId('parallel-coordinates');
      await expect.poll(() => chart.getAttribute('data-axes')).toBe('layers:linear,lr:log,optimizer:ordinal,seed:linear,val_loss (best):linear');
      expect(await chart.getAttribute('data-lines')).toBe(String(JOBS));
      // Drawn once per change of what it shows: sorting the table or turning its page does not redraw it.
      const draws = await chart.getAttribute('data-draws');
      await page.getByRole('button', { name: 'Sort by lr' }).click();
      await page.getByRole('button', { name: 'Next' }).click();
      await page.getByRole('button', { name: 'Previous' }).click();
      expect(await chart.getAttribute('data-draws')).toBe(draws);
      // Something was drawn: the canvas is not blank.
      const box = await chart.boundingBox();
      expect(box?.width).toBeGreaterThan(900);
    }, 30_000);

    it('overlays the curves of two ticked rows', async () => {
      await page.getByRole('button', { name: 'Sort by Name' }).click();
      await page.getByLabel(`Curve of ${trialName(0)}`).check();
      await page.getByLabel(`Curve of ${trialName(1)}`).check();
      const curves = page.getByTestId('chart-val_loss');
      await curves.waitFor({ timeout: 30_000 });
      await expect.poll(() => curves.getAttribute('data-points')).toBe(String(POINTS));
      // In the order ticked.
      await expect.poll(() => curves.locator('.u-legend .u-series .u-label').allTextContents()).toEqual(['step', trialName(0), trialName(1)]);
      await page.screenshot({ path: join(SCREENSHOTS, 'compare-curves.png'), fullPage: true });
      // Up to 20 curves: past that, the other rows cannot be ticked.
      for (let index = 2; index < 20; index += 1) await page.getByLabel(`Curve of ${trialName(index)}`).check();
      await expect(page.getByLabel(`Curve of ${trialName(20)}`).isDisabled()).resolves.toBe(true);
      await expect.poll(() => curves.locator('.u-legend .u-series .u-label').count(), { timeout: 30_000 }).toBe(21);
      expect(session.pageErrors).toEqual([]);
    }, 60_000);

    it('opens from a link with the job ids in its address (400 jobs fit in a link typed or reloaded)', async () => {
      await page.goto(`${session.server.url}/compare?ids=${ids.slice(0, 400).join(',')}`);
      await page.getByRole('heading', { name: 'Compare 400 jobs' }).waitFor();
      await expect.poll(() => page.getByTestId('compare-summary').textContent(), { timeout: 30_000 }).toMatch(/^400 of 400 jobs/);
      expect(session.pageErrors).toEqual([]);
    }, 60_000);
  },
);
