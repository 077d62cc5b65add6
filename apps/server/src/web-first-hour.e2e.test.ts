import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { TrainyardClient } from '@trainyard/client';
import { chromiumUnavailableReason } from '@trainyard/test-services';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type BrowserSession, SCREENSHOTS, startBrowserSession } from './test-support/browser-session';

const skip = chromiumUnavailableReason();
const TERMINAL = ['succeeded', 'failed', 'cancelled'];

/** Issue #18's "first hour" in a real browser against a real server with the demo data. */
describe.skipIf(skip)(`Web UI: a researcher's first hour${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let session: BrowserSession;
  let client: TrainyardClient;
  let page: Page;
  let dataDir: string;
  let pageErrors: string[];
  let hourJobId = '';

  const waitForJob = (id: string): Promise<string> =>
    vi.waitFor(
      async () => {
        const { status } = await client.jobs.get.query({ id });
        if (!TERMINAL.includes(status)) throw new Error(`job ${id} still ${status}`);
        return status;
      },
      { timeout: 120_000, interval: 250 },
    );
  const demoSnapshot = async () => {
    const snapshot = (await client.datasets.list.query({ limit: 100 })).items.find((item) => item.name === 'demo (synthetic pairs)');
    if (!snapshot) throw new Error('no demo snapshot');
    return snapshot;
  };
  /** A model with one trained version, made through the API. */
  const trainModel = async (model: string, epochs = 1): Promise<string> => {
    const snapshot = await demoSnapshot();
    const job = await client.jobs.create.mutate({
      name: `${model}-job`,
      datasetSnapshotId: snapshot.id,
      trainer: { kind: 'builtin', name: 'text-detector' },
      hyperparameters: { epochs, hashBits: 12 },
      targetModel: model,
      validation: [{ metric: 'val_accuracy', op: '>=', value: 0.5 }],
    });
    expect(await waitForJob(job.id)).toBe('succeeded');
    return job.id;
  };
  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `first-hour-${name}.png`), fullPage: true });
  const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });

  beforeAll(async () => {
    session = await startBrowserSession({ name: 'web-first-hour', env: { TRAINYARD_DEMO_DATA: 'on' } });
    ({ client, page, dataDir, pageErrors } = session);
    await session.signIn();
  }, 120_000);
  afterAll(() => session?.close());

  it('lands on an overview: what is here, and for a new user the demo snapshot with "Train a detector on it"', async () => {
    const demo = await demoSnapshot();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await expect.poll(() => page.getByTestId('count-pairs').textContent()).toBe('2000');
    await expect.poll(() => page.getByTestId('count-snapshots').textContent()).toBe('1');
    await expect.poll(() => page.getByTestId('count-models').textContent()).toBe('0');
    for (const status of ['queued', 'running', 'succeeded', 'failed', 'cancelled'])
      await expect.poll(() => page.getByTestId(`count-${status}`).textContent()).toBe(`${status} 0`);
    await page.getByText('No jobs yet.').waitFor();
    const start = page.getByTestId('demo-start');
    await expect(start.textContent()).resolves.toContain('demo (synthetic pairs)');
    await shot('1-overview-new-user');
    await start.getByRole('button', { name: 'Train a detector on it' }).click();
    const form = page.getByRole('form', { name: 'New training job' });
    await expect.poll(() => form.getByLabel('Dataset snapshot').inputValue()).toBe(demo.id);
    await expect(form.getByLabel('Trainer').inputValue()).resolves.toBe('text-detector');
    await form.getByLabel('epochs').waitFor();
    await shot('2-new-job-prefilled');
    expect(new URL(page.url()).pathname).toBe('/jobs');
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('shows a refused input in plain words: under the form field, or as "field: message" — never the validator JSON', async () => {
    hourJobId = await trainModel('hour-model', 3);
    // From the overview (the jobs screen is still open, with the form the demo action opened).
    await nav('Overview').click();
    await nav('Jobs').click();
    await page.getByText('New training job').click();
    const form = page.getByRole('form', { name: 'New training job' });
    await form.getByLabel('Name').fill('bad-target');
    await form.getByLabel('Dataset snapshot').selectOption({ label: 'demo (synthetic pairs) (2000 pairs)' });
    await form.getByLabel('Register as model').fill('not a name!');
    await form.getByRole('button', { name: 'Start job' }).click();
    // Under the field it belongs to.
    const targetField = form.locator('label', { hasText: 'Register as model' });
    await targetField.locator('.field-error').getByText('use letters, digits, . _ and -').waitFor();
    const alert = form.getByRole('alert');
    await expect(alert.textContent()).resolves.toBe('One field was not accepted.');
    await shot('3-refused-field');

    // A form without that field: a plain list.
    await nav('Models').click();
    await page.getByTestId('models-table').getByRole('link', { name: 'hour-model' }).click();
    const aliasForm = page.getByRole('form', { name: 'Move alias' });
    await aliasForm.getByLabel('Alias').fill('Not-Lowercase');
    await aliasForm.getByRole('button', { name: 'Move alias' }).click();
    const note = aliasForm.getByRole('alert');
    await note
      .getByRole('listitem')
      .getByText(/^alias: use lowercase letters/)
      .waitFor();
    const text = (await note.textContent()) ?? '';
    for (const raw of ['[', '{', '"code"', 'invalid_format']) expect(text).not.toContain(raw);
    // A refusal is not something a retry fixes.
    await expect(note.getByRole('button', { name: 'Try again' }).count()).resolves.toBe(0);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('a job that does not exist says so, and offers no "Try again"', async () => {
    await page.goto(`${session.server.url}/jobs/${randomUUID()}`);
    const alert = page.getByRole('alert');
    await alert.getByText(/not found/).waitFor();
    await expect(alert.getByRole('button', { name: 'Try again' }).count()).resolves.toBe(0);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('Cancel asks first, on the jobs list and on the job page; saying no leaves the job running', async () => {
    const job = await client.jobs.create.mutate({ name: 'long-sleeper', trainer: { kind: 'command', command: ['/bin/sleep', '120'] } });
    await expect.poll(async () => (await client.jobs.get.query({ id: job.id })).status, { timeout: 30_000 }).toBe('running');
    await nav('Jobs').click();
    const table = page.getByTestId('jobs-table');
    const asked: string[] = [];
    page.once('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.dismiss();
    });
    await table.getByRole('button', { name: 'Cancel long-sleeper' }).click();
    await expect.poll(() => asked.length).toBe(1);
    expect(asked[0]).toContain('Cancel job long-sleeper?');
    await page.waitForTimeout(500);
    expect((await client.jobs.get.query({ id: job.id })).status).toBe('running');

    await table.getByRole('link', { name: 'long-sleeper' }).click();
    await page.getByRole('heading', { name: 'long-sleeper' }).waitFor();
    page.once('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.dismiss();
    });
    await page.getByRole('button', { name: 'Cancel long-sleeper' }).click();
    await expect.poll(() => asked.length).toBe(2);
    await page.waitForTimeout(500);
    expect((await client.jobs.get.query({ id: job.id })).status).toBe('running');
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Cancel long-sleeper' }).click();
    await expect.poll(async () => (await client.jobs.get.query({ id: job.id })).status, { timeout: 30_000 }).toBe('cancelled');
    await page.locator('.screen-header').getByText('cancelled').waitFor();
    expect(pageErrors).toEqual([]);
  }, 90_000);

  it('charts: a fraction stays on 0–1, a loss fits its data, epochs tick on whole numbers only', async () => {
    await page.goto(`${session.server.url}/jobs/${hourJobId}`);
    await page.getByRole('heading', { name: 'hour-model-job' }).waitFor();
    const series = await client.jobs.metrics.query({ jobId: hourJobId, names: ['val_accuracy', 'val_auc', 'val_loss'] });
    const steps = series['val_accuracy']?.step ?? [];
    // Every whole step from the first to the last, and nothing in between (3 epochs: a few steps).
    const wholeSteps = Array.from({ length: Math.max(...steps) - Math.min(...steps) + 1 }, (_, index) => Math.min(...steps) + index).join(',');
    expect(steps.length).toBeGreaterThanOrEqual(3);
    for (const metric of ['val_accuracy', 'val_auc']) {
      const chart = page.getByTestId(`chart-${metric}`);
      await expect.poll(() => chart.getAttribute('data-points')).toBe(String(steps.length));
      await expect.poll(() => chart.getAttribute('data-y-range')).toBe('0,1');
      await expect(chart.getAttribute('data-x-ticks')).resolves.toBe(wholeSteps);
    }
    const loss = page.getByTestId('chart-val_loss');
    await expect.poll(() => loss.getAttribute('data-points')).toBe(String(series['val_loss']?.step.length));
    const [low, high] = ((await loss.getAttribute('data-y-range')) ?? '').split(',').map(Number);
    const values = series['val_loss']?.value ?? [];
    expect(low).toBeLessThanOrEqual(Math.min(...values));
    expect(high).toBeGreaterThanOrEqual(Math.max(...values));
    expect(`${low},${high}`).not.toBe('0,1');
    await expect(loss.getAttribute('data-x-ticks')).resolves.toBe(wholeSteps);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('names snapshots instead of showing ids; hyperparameters and validation reports are tables', async () => {
    const snapshot = await demoSnapshot();
    await page.goto(`${session.server.url}/jobs/${hourJobId}`);
    await page.getByRole('heading', { name: 'hour-model-job' }).waitFor();
    const facts = page.locator('dl.facts');
    await facts.getByText('demo (synthetic pairs) (2000 pairs)').waitFor();
    const hyperparameters = page.getByRole('table', { name: 'Hyperparameters' });
    await expect(hyperparameters.getByRole('row', { name: 'epochs 3' }).count()).resolves.toBe(1);
    await expect(hyperparameters.getByRole('row', { name: 'hashBits 12' }).count()).resolves.toBe(1);
    const report = page.getByRole('table', { name: 'Validation report' });
    const rule = report.getByRole('row').filter({ hasText: 'val_accuracy ≥ 0.5' });
    await expect(rule.locator('td').last().textContent()).resolves.toBe('passed');
    expect(Number(await rule.locator('td').nth(1).textContent())).toBeGreaterThanOrEqual(0.5);
    await expect(facts.textContent()).resolves.not.toContain(snapshot.id);
    await expect(facts.textContent()).resolves.not.toContain('{"');
    await shot('4-job-detail');

    await nav('Models').click();
    await page.getByTestId('models-table').getByRole('link', { name: 'hour-model' }).click();
    const versions = page.getByTestId('versions-table');
    await versions.getByText('demo (synthetic pairs) (2000 pairs)').waitFor();
    await versions.getByText('report').click();
    const versionReport = page.getByRole('table', { name: 'Validation report of v1, when registered' });
    await expect(versionReport.getByRole('row').filter({ hasText: 'val_accuracy ≥ 0.5' }).locator('td').last().textContent()).resolves.toBe('passed');
    await expect(versions.textContent()).resolves.not.toContain(snapshot.id);
    await shot('5-model-versions');
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('the model page clears the active version and archives the model, each after asking', async () => {
    await trainModel('old-model');
    const answer = (accept: boolean, asked: string[]) =>
      page.once('dialog', (dialog) => {
        asked.push(dialog.message());
        void (accept ? dialog.accept() : dialog.dismiss());
      });
    // Loaded afresh: the list seen a moment ago (the previous test) is still fresh for the app's 1 s staleTime.
    await page.goto(`${session.server.url}/models`);
    await page.getByTestId('models-table').getByRole('link', { name: 'old-model' }).click();
    const active = page.getByTestId('active-version');
    await active.getByText('Active version: none').waitFor();
    await page.getByRole('button', { name: 'Set active' }).click();
    await active.getByText('Active version: v1').waitFor();

    const asked: string[] = [];
    answer(false, asked);
    await active.getByRole('button', { name: 'Clear active version' }).click();
    await expect.poll(() => asked.length).toBe(1);
    expect(asked[0]).toContain('Clear the active version of old-model (v1)?');
    await page.waitForTimeout(300);
    expect((await client.models.get.query({ model: 'old-model' })).activeVersion).toBe(1);
    answer(true, asked);
    await active.getByRole('button', { name: 'Clear active version' }).click();
    await active.getByText('Active version: none').waitFor();
    expect((await client.models.get.query({ model: 'old-model' })).activeVersion).toBeNull();

    answer(false, asked);
    await page.getByRole('button', { name: 'Archive' }).click();
    await expect.poll(() => asked.length).toBe(3);
    expect(asked[2]).toContain('Archive old-model?');
    await page.waitForTimeout(300);
    expect((await client.models.get.query({ model: 'old-model' })).archivedAt).toBeNull();
    answer(true, asked);
    await page.getByRole('button', { name: 'Archive' }).click();
    await page
      .locator('.screen-header')
      .getByText(/^archived /)
      .waitFor();
    expect((await client.models.get.query({ model: 'old-model' })).archivedAt).not.toBeNull();
    await nav('Models').click();
    await page.getByTestId('models-table').getByRole('link', { name: 'hour-model' }).waitFor();
    // The cached list shows first, then its refetch (the archive invalidated it).
    await expect.poll(() => page.getByTestId('models-table').getByRole('link', { name: 'old-model' }).count()).toBe(0);
    expect(pageErrors).toEqual([]);
  }, 90_000);

  it('the new-job form starts a command trainer (argv, working directory) and a fine-tune of a version', async () => {
    await nav('Jobs').click();
    await page.getByText('New training job').click();
    const form = page.getByRole('form', { name: 'New training job' });
    await form.getByLabel('Name').fill('cmd-job');
    await form.getByLabel('Trainer').selectOption({ label: 'command (run a program)' });
    // No hyperparameter fields for a program; a snapshot is optional.
    await expect(form.getByText('Hyperparameters').count()).resolves.toBe(0);
    await form.getByLabel(/^Command/).fill('/bin/sh\n-c\necho "started in $(pwd)"');
    await form.getByLabel('Working directory').fill('relative/dir');
    await form.getByRole('button', { name: 'Start job' }).click();
    await form.locator('label', { hasText: 'Working directory' }).locator('.field-error').getByText('must be an absolute path').waitFor();
    await shot('6-new-job-command');
    await form.getByLabel('Working directory').fill(dataDir);
    await form.getByRole('button', { name: 'Start job' }).click();
    await page.getByRole('heading', { name: 'cmd-job' }).waitFor();
    const commandJobId = page.url().split('/jobs/')[1] ?? '';
    const commandJob = await client.jobs.get.query({ id: commandJobId });
    expect(commandJob.trainer).toEqual({ kind: 'command', command: ['/bin/sh', '-c', 'echo "started in $(pwd)"'], cwd: dataDir });
    expect(await waitForJob(commandJobId)).toBe('succeeded');
    await expect(client.jobs.logs.query({ id: commandJobId, stream: 'stdout' })).resolves.toMatchObject({
      text: expect.stringContaining(`started in ${dataDir}`),
    });

    // A fine-tune: pick the model, then its version.
    await nav('Jobs').click();
    await page.getByText('New training job').click();
    await form.getByLabel('Name').fill('ft-job');
    await form.getByLabel('Dataset snapshot').selectOption({ label: 'demo (synthetic pairs) (2000 pairs)' });
    await form.getByLabel('Register as model').fill('hour-model-ft');
    await form.getByLabel('epochs').fill('1');
    await form.getByLabel('hashBits').fill('12');
    await form.getByLabel('Fine-tune from').selectOption('hour-model');
    await form.getByRole('button', { name: 'Start job' }).click();
    await form.getByText('choose a version of the model to fine-tune').waitFor();
    await form.getByLabel('Parent version').selectOption({ label: 'v1' });
    await form.getByRole('button', { name: 'Start job' }).click();
    await page.getByRole('heading', { name: 'ft-job' }).waitFor();
    const fineTuneId = page.url().split('/jobs/')[1] ?? '';
    const parent = await client.models.getVersion.query({ model: 'hour-model', ref: { version: 1 } });
    expect((await client.jobs.get.query({ id: fineTuneId })).parentVersionId).toBe(parent.id);
    expect(await waitForJob(fineTuneId)).toBe('succeeded');
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('the overview counts what the hour made and lists the latest jobs; the demo offer is gone', async () => {
    await nav('Overview').click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    const recent = page.getByTestId('recent-jobs');
    await recent.getByRole('link', { name: 'ft-job' }).waitFor();
    const count = async (status: 'succeeded' | 'cancelled' | 'failed') => `${status} ${(await client.jobs.list.query({ status, limit: 200 })).items.length}`;
    for (const status of ['succeeded', 'cancelled', 'failed'] as const)
      await expect.poll(() => page.getByTestId(`count-${status}`).textContent(), { timeout: 15_000 }).toBe(await count(status));
    // hour-model-job, old-model-job, cmd-job, ft-job; the sleeper was cancelled.
    await expect(page.getByTestId('count-succeeded').textContent()).resolves.toBe('succeeded 4');
    await expect(page.getByTestId('count-cancelled').textContent()).resolves.toBe('cancelled 1');
    // hour-model and hour-model-ft; old-model is archived.
    await expect.poll(() => page.getByTestId('count-models').textContent()).toBe('2');
    await expect(page.getByTestId('demo-start').count()).resolves.toBe(0);
    await shot('7-overview-after');
    await recent.getByRole('link', { name: 'ft-job' }).click();
    await page.getByRole('heading', { name: 'ft-job' }).waitFor();
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
