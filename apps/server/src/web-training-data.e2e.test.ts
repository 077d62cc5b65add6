import { join } from 'node:path';
import type { TrainyardClient } from '@trainyard/client';
import { chromiumUnavailableReason } from '@trainyard/test-services';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type BrowserSession, SCREENSHOTS, startBrowserSession } from './test-support/browser-session';

const skip = chromiumUnavailableReason();
const OWN = 25;
/** Own pairs: odd ones mention a harbour (12 of 25), none has detection scores. */
const ownPairs = Array.from({ length: OWN }, (_, i) => ({
  aiText: `Furthermore, the ${i % 2 === 1 ? 'harbour' : 'market'} report number ${i} demonstrates a comprehensive and multifaceted overview of the subject.`,
  humanizedText: `Report ${i} on the ${i % 2 === 1 ? 'harbour' : 'market'} gives a broad look at things, and it mostly holds up.`,
  tags: ['mine'],
}));
const HARBOUR = 12;

describe.skipIf(skip)(`Training data screen in Chromium, with the demo data on${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let session: BrowserSession;
  let client: TrainyardClient;
  let page: Page;
  let pageErrors: string[];
  const matchCount = () => page.getByTestId('match-count');

  beforeAll(async () => {
    session = await startBrowserSession({ name: 'web-data', env: { TRAINYARD_DEMO_DATA: 'on' }, viewport: { width: 1280, height: 900 } });
    ({ client, page, pageErrors } = session);
    // The demo data is seeded in the background after start-up: 2 000 pairs tagged demo, then its snapshot.
    await vi
      .waitFor(
        async () => {
          if ((await client.datasets.list.query({ limit: 5 })).items.length === 0) throw new Error('no snapshot yet');
        },
        { timeout: 60_000, interval: 200 },
      )
      .catch(() => {
        throw new Error(`the demo dataset was not seeded within a minute:\n${session.server.output()}`);
      });
    const collected = await client.trainingData.collectBatch.mutate({ items: ownPairs });
    expect(collected.results.map((result) => result.status)).toEqual(ownPairs.map(() => 'created'));
  }, 120_000);
  afterAll(() => session?.close());

  it('filters the demo data out, and a snapshot from the form freezes exactly the count the table shows', async () => {
    await session.signIn();
    await page.getByRole('link', { name: 'Training data' }).click();
    await matchCount()
      .getByText(`${2_000 + OWN} pairs match`)
      .waitFor();

    const filters = page.getByRole('search');
    await filters.getByLabel('Without tags').fill('demo');
    await matchCount().getByText(`${OWN} pairs match`).waitFor();
    await filters.getByLabel('Text contains').fill('HARBOUR');
    await filters.getByLabel('Added from').fill(new Date().toLocaleDateString('sv-SE')); // YYYY-MM-DD, local
    await matchCount().getByText(`${HARBOUR} pairs match`).waitFor();
    const shown = Number(await matchCount().getAttribute('data-count'));
    expect(shown).toBe(HARBOUR);
    // The table itself: every row shown is one of the harbour pairs, none from the demo.
    const rows = page.getByTestId('pairs-table').locator('tbody > tr');
    await expect.poll(() => rows.count()).toBe(shown);
    expect((await rows.allTextContents()).every((row) => row.includes('harbour'))).toBe(true);
    // Own pairs have no detection scores: counted apart, in no bucket.
    const before = page.getByTestId('histogram-detectionScoreBefore');
    await expect.poll(() => before.getAttribute('data-missing')).toBe(String(HARBOUR));
    expect(await before.getAttribute('data-buckets')).toBe('0 0 0 0 0 0 0 0 0 0');

    const form = page.getByRole('form', { name: 'Create snapshot' });
    await page.getByTestId('snapshot-scope').getByText(`Freezes the ${shown} pairs the table shows`).waitFor();
    await form.getByLabel('Name').fill('harbour, no demo');
    await form.getByRole('button', { name: 'Freeze snapshot' }).click();
    await page.getByText(`Snapshot harbour, no demo: ${shown} pairs`).waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'training-data-filtered-snapshot.png'), fullPage: true });

    const frozen = (await client.datasets.list.query({ limit: 10 })).items.find((snapshot) => snapshot.name === 'harbour, no demo');
    expect(frozen?.totalCount).toBe(shown);
    expect(frozen?.filter).toMatchObject({ excludeTags: ['demo'], textContains: 'HARBOUR', createdFrom: expect.any(String) });
    expect((await client.trainingData.count.query({ filter: { excludeTags: ['demo'], textContains: 'harbour' } })).count).toBe(shown);

    // The same name again is refused, and says why.
    await form.getByLabel('Name').fill('harbour, no demo');
    await form.getByRole('button', { name: 'Freeze snapshot' }).click();
    await page.getByText(/A dataset snapshot named "harbour, no demo" already exists/).waitFor();
  });

  it('excludes all the demo pairs with one button, after a confirmation', async () => {
    const filters = page.getByRole('search');
    await filters.getByLabel('Text contains').fill('');
    await filters.getByLabel('Added from').fill('');
    await filters.getByLabel('Without tags').fill('');
    await filters.getByLabel('With tags').fill('demo');
    await matchCount().getByText('2000 pairs match').waitFor();
    await page.getByRole('button', { name: 'Exclude all 2000 matching…' }).click();
    const confirm = page.getByRole('alertdialog', { name: 'Exclude matching pairs' });
    await confirm.getByText('Exclude 2000 pairs matching this filter from training sets and snapshots?').waitFor();
    // Cancelling changes nothing.
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    expect((await client.trainingData.count.query({ filter: {} })).count).toBe(2_000 + OWN);
    await page.getByRole('button', { name: 'Exclude all 2000 matching…' }).click();
    await confirm.getByRole('button', { name: 'Exclude 2000 pairs' }).click();
    await page.getByRole('status').getByText('2000 pairs excluded').waitFor();
    await matchCount().getByText('0 pairs match').waitFor();
    expect((await client.trainingData.count.query({ filter: {} })).count).toBe(OWN);
    expect((await client.trainingData.count.query({ filter: { excluded: true, tags: ['demo'] } })).count).toBe(2_000);

    // With the demo data excluded, a snapshot of everything is one's own data.
    await filters.getByLabel('With tags').fill('');
    await matchCount().getByText(`${OWN} pairs match`).waitFor();
    await page.getByTestId('snapshot-scope').getByText(`Freezes the ${OWN} pairs the table shows`).waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'training-data-bulk-excluded.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
