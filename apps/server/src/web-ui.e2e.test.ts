import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  chromiumUnavailableReason,
  launchChromium,
  postgresUnavailableReason,
  type PostgresServer,
  type ServerProcess,
  startPostgresServer,
  startServerProcess,
} from '@trainyard/test-services';
import { createTrainyardClient } from '@trainyard/client';
import { syntheticPairs } from '@trainyard/trainers';
import type { Browser, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SharedServer, startSharedServer } from './test-support/shared-server';
import { createServerToken } from './test-support/sync-fixtures';

const skip = chromiumUnavailableReason();
const noPostgres = postgresUnavailableReason();
/** Screenshots of every screen, kept as test output (see docs/testing.md). */
const SHOTS = resolve('test-output/screenshots');

describe.skipIf(skip)(`Web UI in Chromium against a real server${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let dataDir: string;
  let postgres: PostgresServer | undefined;
  let shared: SharedServer | undefined;
  const pageErrors: string[] = [];
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    // `npm test` builds the UI first; run directly, say so instead of failing on a placeholder page.
    if (!existsSync(resolve('apps/web/dist/index.html'))) throw new Error('The web UI is not built: run `npm run build:web` (npm test does) before this test');
    mkdirSync(SHOTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'trainyard-web-'));
    server = await startServerProcess({ TRAINYARD_DATA_DIR: dataDir, TRAINYARD_DEMO_DATA: 'off' });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    server?.child.kill('SIGTERM');
    await server?.exited;
    await shared?.stop();
    await postgres?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses a wrong token, then signs in without the token ever appearing in a URL', async () => {
    const urls: string[] = [];
    page.on('request', (request) => urls.push(request.url()));
    // The first screen's own queries are refused too; answer them after the health check, as a
    // loaded machine may. They must not bounce the form (they used to cycle health check → app
    // → sign-in, emptying what was typed).
    const lateAnswers = async (route: Route) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await route.continue();
    };
    await page.route('**/trpc/jobs.*', lateAnswers);
    await page.goto(server.url);
    await page.getByLabel('Session token').fill('not-the-token');
    await page.waitForTimeout(1_500);
    expect(await page.getByLabel('Session token').inputValue()).toBe('not-the-token');
    expect(urls.filter((url) => url.includes('/trpc/system.health')).length).toBe(1);
    await page.unroute('**/trpc/jobs.*', lateAnswers);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('not valid');
    await shot('01-sign-in');
    await page.getByLabel('Session token').fill(server.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Jobs' }).waitFor();
    // The landing page is the overview; the jobs screen is one link away.
    await page.getByText('No jobs yet.').waitFor();
    await page.getByRole('link', { name: 'Jobs' }).click();
    await page.getByText('No jobs match').waitFor();
    expect(urls.some((url) => url.includes(server.token))).toBe(false);
    const cookies = await page.context().cookies();
    expect(cookies.find((cookie) => cookie.value === server.token)).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    // The page's script cannot read it.
    await expect(page.evaluate('document.cookie')).resolves.not.toContain(server.token);
  });

  it('imports a file with a progress bar and the rejected-lines report, then freezes a snapshot', async () => {
    const file = join(dataDir, 'pairs.jsonl');
    const lines = syntheticPairs(4_000, 11).map((pair) => JSON.stringify(pair));
    writeFileSync(file, `${[...lines, '{"aiText": "no humanized text"}', 'not json'].join('\n')}\n`);
    await page.getByRole('link', { name: 'Training data' }).click();
    await page.getByLabel('JSONL or CSV file').setInputFiles(file);
    const report = page.getByTestId('import-report');
    await report.waitFor();
    await expect(report.textContent()).resolves.toContain('Imported 4000, duplicates 0, rejected 2');
    await expect(report.textContent()).resolves.toContain('line 4001: humanizedText');
    await expect(report.textContent()).resolves.toContain('line 4002');
    await page.getByTestId('data-stats').getByText('4000 pairs').waitFor();
    await page.getByRole('form', { name: 'Create snapshot' }).getByLabel('Name').fill('ui-pairs-v1');
    await page.getByRole('button', { name: /Freeze snapshot/ }).click();
    await page.getByText(/Snapshot ui-pairs-v1: 4000 pairs/).waitFor();
    // Feedback on a pair: a rating from the table, a comment from its details.
    const table = page.getByTestId('pairs-table');
    await table.getByLabel('Feedback rating').first().selectOption('5');
    await table.getByRole('button', { name: 'More' }).first().click();
    await table.getByRole('textbox', { name: 'Feedback comment' }).fill('reads naturally');
    await table.getByRole('button', { name: 'Save comment' }).click();
    await table.getByText('Saved').waitFor();
    await page.getByTestId('data-stats').getByText('1 with feedback').waitFor();
    await shot('02-training-data');
  });

  it('starts a text-detector job from the form and watches progress and the chart update live', async () => {
    await page.getByRole('link', { name: 'Jobs' }).click();
    await page.getByText('New training job').click();
    const form = page.getByRole('form', { name: 'New training job' });
    await form.getByLabel('Name').fill('ui-detector');
    await form.getByLabel('Dataset snapshot').selectOption({ label: 'ui-pairs-v1 (4000 pairs)' });
    await form.getByLabel('Register as model').fill('ui-detector');
    await form.getByLabel('Validation gate').fill('val_accuracy>=0.9');
    // Fields generated from the trainer's schema; a bad value is refused before sending.
    await form.getByLabel('epochs').fill('many');
    await form.getByRole('button', { name: 'Start job' }).click();
    await expect(form.getByText('must be a number').isVisible()).resolves.toBe(true);
    // 2^20 features: about a second an epoch here, long enough to watch it live.
    await form.getByLabel('epochs').fill('8');
    await expect(form.getByText('must be a number').count()).resolves.toBe(0);
    await form.getByLabel('patience').fill('8');
    await form.getByLabel('hashBits').fill('20');
    await shot('03-new-job-form');
    await form.getByRole('button', { name: 'Start job' }).click();
    await page.getByRole('heading', { name: 'ui-detector' }).waitFor();
    await page.getByText('running').first().waitFor();

    // Live: the chart grows without a reload while the job runs.
    const chart = page.getByTestId('chart-val_accuracy');
    await chart.waitFor();
    const pointsNow = async () => Number(await chart.getAttribute('data-points'));
    const first = await pointsNow();
    await expect.poll(pointsNow, { timeout: 60_000 }).toBeGreaterThan(first);
    const progress = Number(await page.getByRole('progressbar', { name: 'Job progress' }).getAttribute('aria-valuenow'));
    expect(progress).toBeGreaterThan(0);
    await shot('04-job-detail-live');
    await page.getByText('succeeded').first().waitFor({ timeout: 120_000 });
    await expect.poll(pointsNow).toBeGreaterThanOrEqual(8);
    await expect(page.getByTestId('job-log').textContent()).resolves.toContain('text-detector');
    await shot('05-job-detail-done');
    await page.getByRole('link', { name: 'Jobs' }).click();
    await page.getByTestId('jobs-table').getByRole('link', { name: 'ui-detector' }).waitFor();
    await shot('06-jobs');
  }, 240_000);

  it('shows the new version, moves an alias, activates it, and draws the lineage', async () => {
    await page.getByRole('link', { name: 'Models' }).click();
    await page.getByTestId('models-table').getByRole('link', { name: 'ui-detector' }).click();
    await page.getByTestId('versions-table').getByText('v1', { exact: true }).waitFor();
    await expect(page.getByTestId('versions-table').textContent()).resolves.toContain('val_accuracy');
    const aliasForm = page.getByRole('form', { name: 'Move alias' });
    await aliasForm.getByLabel('Alias').fill('production');
    await aliasForm.getByRole('button', { name: 'Move alias' }).click();
    await page.getByTestId('aliases-v1').getByText('production').waitFor();
    await page.getByRole('button', { name: 'Set active' }).click();
    await page.getByRole('button', { name: 'Active ✓' }).waitFor();
    await shot('07-model-versions');
    await page.getByRole('link', { name: 'Lineage' }).click();
    const graph = page.getByTestId('lineage-graph');
    await graph.waitFor();
    for (const label of ['ui-pairs-v1', 'ui-detector', 'ui-detector@1']) await graph.getByText(label, { exact: true }).first().waitFor();
    await shot('08-lineage');
  });

  it('shows a reproduction: the job page names the version it reproduces and its verdict, the lineage draws it', async () => {
    const client = createTrainyardClient({ url: server.url, token: server.token });
    const { jobId } = await client.jobs.reproduce.mutate({ model: 'ui-detector', version: 1 });
    if (!jobId) throw new Error('the reproduction was refused');
    await expect.poll(async () => (await client.jobs.get.query({ id: jobId })).status, { timeout: 120_000, interval: 250 }).toBe('succeeded');
    await page.goto(`${server.url}/jobs/${jobId}`);
    const reproduces = page.getByTestId('job-reproduces');
    await reproduces.getByText('ui-detector@1: byte-identical').waitFor();
    await reproduces.getByRole('link', { name: 'ui-detector@1' }).click();
    // Drawn as a job node (its label shortened to fit; whole in its title) with an edge from the version.
    const graph = page.getByTestId('lineage-graph');
    await graph.waitFor();
    await expect.poll(() => graph.locator('title').allTextContents()).toContainEqual(expect.stringContaining('reproduce ui-detector@1 (succeeded)'));
    await expect
      .poll(() => page.getByRole('list', { name: 'Lineage as a list' }).textContent())
      .toContain('ui-detector@1 reproduced by reproduce ui-detector@1 (succeeded)');
    await shot('08b-reproduction-lineage');
  }, 180_000);

  it('scores pasted texts with the production alias', async () => {
    const [pair] = syntheticPairs(1, 4242);
    await page.getByRole('link', { name: 'Score' }).click();
    await page.getByLabel('Version or alias').fill('production');
    await page.getByLabel(/Texts/).fill(`${pair?.aiText}\n\n${pair?.humanizedText}`);
    await page.getByRole('button', { name: 'Score' }).click();
    const table = page.getByTestId('score-table');
    await table.waitFor();
    const scores = (await table.locator('tbody tr td:last-child').allTextContents()).map((text) => Number(text.trim()));
    expect(scores).toHaveLength(2);
    expect(scores[0]).toBeGreaterThan(0.5);
    expect(scores[1]).toBeLessThan(0.5);
    await shot('09-score');
  });

  it.skipIf(noPostgres)(
    `adds a remote and pushes the version with progress in the outbox${noPostgres ? ` — skipped: ${noPostgres}` : ''}`,
    async () => {
      postgres = await startPostgresServer();
      const databaseUrl = await postgres.createDatabase('web_shared');
      shared = await startSharedServer({ databaseUrl });
      const { token } = await createServerToken(databaseUrl, 'web-ui', 'write');
      await page.getByRole('link', { name: 'Sync' }).click();
      await page.getByText('No remotes').waitFor();
      const remoteForm = page.getByRole('form', { name: 'Add remote' });
      await remoteForm.getByLabel('Name').fill('team');
      await remoteForm.getByLabel('URL').fill(shared.url);
      await remoteForm.getByLabel('API token').fill(token);
      await remoteForm.getByRole('button', { name: 'Add remote' }).click();
      const transfer = page.getByRole('form', { name: 'Push or pull a version' });
      await transfer.getByLabel('Model').fill('ui-detector');
      await transfer.getByLabel('Version').fill('production');
      await transfer.getByRole('button', { name: 'Push' }).click();
      const outbox = page.getByTestId('outbox-table');
      await outbox.getByText('done').waitFor({ timeout: 60_000 });
      await expect(outbox.textContent()).resolves.toContain('remote v1');
      await shot('10-sync');
    },
    120_000,
  );

  it('goes back to the sign-in form when the session is gone (cookie cleared, or signed out)', async () => {
    await page.context().clearCookies();
    await page.getByRole('link', { name: 'Models' }).click();
    await page.getByLabel('Session token').waitFor();
    await page.getByLabel('Session token').fill(server.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Session token').waitFor();
  });

  it('raised no uncaught errors in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
