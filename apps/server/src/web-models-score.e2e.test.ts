import { readFileSync } from 'node:fs';
import type { TrainyardClient } from '@trainyard/client';
import { sha256Hex } from '@trainyard/core';
import { chromiumUnavailableReason } from '@trainyard/test-services';
import { syntheticPairs } from '@trainyard/trainers';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserSession, startBrowserSession } from './test-support/browser-session';
import { trainDetectorModel } from './test-support/trained-model';

const skip = chromiumUnavailableReason();

/** Three texts of exactly 100 000 characters (the documented maximum), no line breaks. */
const longTexts = (): string[] =>
  syntheticPairs(3, 91).map((pair, index) => {
    const base = `${index === 1 ? pair.humanizedText : pair.aiText} `.replace(/\s+/g, ' ');
    return base.repeat(Math.ceil(100_000 / base.length)).slice(0, 100_000);
  });

describe.skipIf(skip)(`Web UI: a fresh model's artifacts download, long texts score${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let session: BrowserSession;
  let client: TrainyardClient;
  let page: Page;
  let pageErrors: string[];

  beforeAll(async () => {
    session = await startBrowserSession({ name: 'web-models', acceptDownloads: true });
    ({ client, page, pageErrors } = session);
    const { status } = await trainDetectorModel({ ...session.server, client: session.client }, { model: 'web-fresh', pairs: 400, seed: 8 });
    expect(status).toBe('succeeded');
    await session.signIn();
  }, 180_000);
  afterAll(() => session?.close());

  it('the model page lists each version’s artifacts, and a download link fetches exactly the artifact’s bytes', async () => {
    const version = await client.models.getVersion.query({ model: 'web-fresh', ref: { alias: 'latest' } });
    const artifacts = (await client.artifacts.list.query({ modelVersionId: version.id })).items;
    const weights = artifacts.find((artifact) => artifact.name.endsWith('model.bin'));
    if (!weights) throw new Error('no model.bin artifact');

    await page.getByRole('link', { name: 'Models' }).click();
    await page.getByRole('link', { name: 'web-fresh', exact: true }).click();
    const table = page.getByTestId('artifacts-v1');
    await table.waitFor();
    for (const artifact of artifacts) {
      const row = table.getByRole('row').filter({ hasText: artifact.name });
      await expect(row.textContent()).resolves.toContain(artifact.type);
      await expect(row.locator('code').getAttribute('title')).resolves.toBe(artifact.sha256);
    }
    await expect(table.getByRole('row').filter({ hasText: weights.name }).textContent()).resolves.toContain(`${(weights.size / 1024).toFixed(1)} KiB`);

    const [download] = await Promise.all([page.waitForEvent('download'), table.getByRole('link', { name: `Download ${weights.name}` }).click()]);
    expect(download.suggestedFilename()).toBe('model.bin');
    const path = await download.path();
    const bytes = readFileSync(path);
    expect(bytes.length).toBe(weights.size);
    expect(sha256Hex(bytes)).toBe(weights.sha256);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('scores three 100 000-character texts with the default version and says which one it used', async () => {
    const texts = longTexts();
    await page.getByRole('link', { name: 'Score' }).click();
    await page.getByRole('heading', { name: 'Score texts' }).waitFor();
    await page.getByRole('form', { name: 'Score texts' }).getByRole('combobox').selectOption('web-fresh');
    await expect(page.getByLabel('Version or alias').inputValue()).resolves.toBe('');
    await page.getByLabel(/Texts/).fill(texts.join('\n\n'));
    await page.getByRole('button', { name: 'Score' }).click();
    const table = page.getByTestId('score-table');
    await table.waitFor({ timeout: 60_000 });
    await expect(page.getByTestId('scored-with').textContent()).resolves.toContain('Scored with web-fresh v1 (latest; no active version)');
    const scores = (await table.locator('tbody tr td:last-child').allTextContents()).map((text) => Number(text.trim()));
    expect(scores).toHaveLength(3);
    for (const score of scores) expect(score >= 0 && score <= 1).toBe(true);

    // Once a version is active, the default uses it, and says so.
    await client.models.setActive.mutate({ model: 'web-fresh', version: 1 });
    await page.getByRole('button', { name: 'Score' }).click();
    // 300 000 characters scored again: give a loaded machine the same time as the first scoring.
    await page.getByTestId('scored-with').getByText('Scored with web-fresh v1 (active)').waitFor({ timeout: 60_000 });
    // An unknown alias: a plain message, not a JSON parse error.
    await page.getByLabel('Version or alias').fill('champion');
    await page.getByRole('button', { name: 'Score' }).click();
    await page.getByRole('alert').getByText('Model web-fresh has no alias champion').waitFor({ timeout: 60_000 });
    expect(pageErrors).toEqual([]);
  }, 180_000);
});
