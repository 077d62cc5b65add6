import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTrainyardClient, type TrainyardClient } from '@trainyard/client';
import { sessionCookieName } from '@trainyard/contracts';
import { chromiumUnavailableReason, launchChromium, startServerProcess } from '@trainyard/test-services';
import pLimit from 'p-limit';
import type { Browser, Page } from 'playwright-core';
import type { BenchRow } from './bench-row';
import { median } from './stats';

const trainer = fileURLToPath(new URL('./fixtures/ui-metrics-trainer.mjs', import.meta.url));
const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const JOBS = 1_000;
const POINTS = 100_000;

const waitForJob = async (client: TrainyardClient, id: string): Promise<void> => {
  for (;;) {
    const job = await client.jobs.get.query({ id });
    if (job.status === 'succeeded') return;
    if (job.status === 'failed' || job.status === 'cancelled') throw new Error(`bench job ${job.status}: ${job.error}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
};

const commandJob = (name: string, args: string[]) => ({ name, trainer: { kind: 'command' as const, command: [process.execPath, trainer, ...args] } });

/** Polls from Node: the page's CSP (no eval) rules out waitForFunction with a string. The times measured are recorded in the page. */
const waitForChart = async (page: Page, attribute: string, atLeast: number): Promise<void> => {
  const deadline = Date.now() + 60_000;
  while (Number(await page.getByTestId('chart-loss').getAttribute(attribute)) < atLeast) {
    if (Date.now() > deadline)
      throw new Error(`chart ${attribute} never reached ${atLeast} (at ${await page.getByTestId('chart-loss').getAttribute(attribute)}; ${page.url()})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

/** A fresh, signed-in page (new context: nothing cached from an earlier run). */
const signedInPage = async (browser: Browser, url: string, token: string): Promise<Page> => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addCookies([{ url, name: sessionCookieName(Number(new URL(url).port)), value: token, httpOnly: true, sameSite: 'Strict' }]);
  return context.newPage();
};

/**
 * Milliseconds from navigation start until the first 100 job rows were committed: the page's
 * own `jobs-rows` mark, set by a passive effect (React runs those after the browser painted).
 * Playwright's polling would add its own latency to a time taken from outside.
 */
const jobsScreenMs = async (browser: Browser, url: string, token: string): Promise<{ rows: number; loaded: number }> => {
  const page = await signedInPage(browser, url, token);
  await page.goto(`${url}/jobs`);
  await page.locator('[data-testid=jobs-table] tbody tr').nth(99).waitFor();
  const ms = (await page.evaluate(
    "({ rows: performance.getEntriesByName('jobs-rows')[0].startTime, loaded: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd })",
  )) as { rows: number; loaded: number };
  // Interactive: the filter answers.
  await page.getByLabel('Status').selectOption('cancelled');
  await page.close();
  return ms;
};

/** Milliseconds from the metrics request's start until uPlot drew the downsampled series. */
const chartMs = async (browser: Browser, url: string, token: string, jobId: string): Promise<{ chart: number; page: number; points: number }> => {
  const page = await signedInPage(browser, url, token);
  await page.goto(`${url}/jobs/${jobId}`);
  const chart = page.getByTestId('chart-loss');
  await chart.waitFor();
  await waitForChart(page, 'data-draws', 1);
  const timing = (await page.evaluate(`(() => {
    const request = performance.getEntriesByType('resource').find((entry) => entry.name.includes('jobs.metrics'));
    const drawnAt = Number(document.querySelector('[data-testid=chart-loss]').getAttribute('data-drawn-at'));
    return { chart: drawnAt - (request ? request.startTime : 0), page: drawnAt };
  })()`)) as { chart: number; page: number };
  const points = Number(await chart.getAttribute('data-points'));
  await page.close();
  return { ...timing, points };
};

/** A live job at 20 batches/s: chart draws per second, frame rate and the worst long task while it runs. */
const liveUpdates = async (browser: Browser, url: string, token: string, client: TrainyardClient) => {
  const steps = 100;
  const job = await client.jobs.create.mutate(commandJob('live', ['live', String(steps), '50']));
  const page = await signedInPage(browser, url, token);
  await page.goto(`${url}/jobs/${job.id}`);
  await page.getByTestId('chart-loss').waitFor();
  await page.evaluate(`(() => {
    const bench = (window.__bench = { frames: 0, longTasks: [], start: performance.now(), draws0: Number(document.querySelector('[data-testid=chart-loss]').getAttribute('data-draws')) });
    const loop = () => { bench.frames += 1; requestAnimationFrame(loop); };
    requestAnimationFrame(loop);
    new PerformanceObserver((list) => bench.longTasks.push(...list.getEntries().map((entry) => entry.duration))).observe({ type: 'longtask' });
  })()`);
  await page.getByText('succeeded').first().waitFor({ timeout: 60_000 });
  await waitForChart(page, 'data-points', steps);
  const result = (await page.evaluate(`(() => {
    const bench = window.__bench;
    const seconds = (performance.now() - bench.start) / 1000;
    const draws = Number(document.querySelector('[data-testid=chart-loss]').getAttribute('data-draws')) - bench.draws0;
    return { drawsPerSecond: draws / seconds, fps: bench.frames / seconds, worstLongTaskMs: Math.max(0, ...bench.longTasks) };
  })()`)) as { drawsPerSecond: number; fps: number; worstLongTaskMs: number };
  await page.close();
  return result;
};

export const uiBench = async (): Promise<BenchRow[]> => {
  const skip = chromiumUnavailableReason();
  if (skip) return [{ benchmark: 'web UI', value: `skipped: ${skip}`, target: '—', pass: false }];
  const dataDir = mkdtempSync(join(tmpdir(), 'trainyard-bench-ui-'));
  const seeding = await startServerProcess({ TRAINYARD_DATA_DIR: dataDir, TRAINYARD_DEMO_DATA: 'off', TRAINYARD_ORCHESTRATOR: 'off' });
  const seedClient = createTrainyardClient({ url: seeding.url, token: seeding.token });
  // 1 000 jobs, cancelled while queued (so none of them runs during the measurements).
  const limit = pLimit(8);
  await Promise.all(
    Array.from({ length: JOBS }, (_, i) =>
      limit(async () => {
        const job = await seedClient.jobs.create.mutate(commandJob(`seeded-${String(i).padStart(4, '0')}`, ['bulk', '1']));
        await seedClient.jobs.cancel.mutate({ id: job.id });
      }),
    ),
  );
  seeding.child.kill('SIGTERM');
  await seeding.exited;

  const server = await startServerProcess({ TRAINYARD_DATA_DIR: dataDir, TRAINYARD_DEMO_DATA: 'off', TRAINYARD_JOB_CONCURRENCY: '1' });
  const client = createTrainyardClient({ url: server.url, token: server.token });
  const browser = await launchChromium();
  try {
    const bulk = await client.jobs.create.mutate(commandJob('metrics-100k', ['bulk', String(POINTS)]));
    await waitForJob(client, bulk.id);
    await jobsScreenMs(browser, server.url, server.token); // warm-up: server caches, browser compile cache
    const jobsScreen: Array<{ rows: number; loaded: number }> = [];
    for (let run = 0; run < RUNS; run += 1) jobsScreen.push(await jobsScreenMs(browser, server.url, server.token));
    const charts: Array<{ chart: number; page: number; points: number }> = [];
    for (let run = 0; run < RUNS; run += 1) charts.push(await chartMs(browser, server.url, server.token, bulk.id));
    const live: Array<Awaited<ReturnType<typeof liveUpdates>>> = [];
    for (let run = 0; run < Math.min(RUNS, 3); run += 1) live.push(await liveUpdates(browser, server.url, server.token, client));
    const ms = (value: number) => `${value.toFixed(0)} ms`;
    const drawRate = median(live.map((run) => run.drawsPerSecond));
    return [
      {
        benchmark: `Jobs screen with ${JOBS} jobs: first 100 rows painted and interactive (from navigation)`,
        value: ms(median(jobsScreen.map((run) => run.rows))),
        baseline: `${ms(median(jobsScreen.map((run) => run.loaded)))} (the page's script loaded and run, DOMContentLoaded)`,
        target: '≤ 1000 ms',
        pass: median(jobsScreen.map((run) => run.rows)) <= 1_000,
      },
      {
        benchmark: `Chart of a ${POINTS / 1000}k-point series, downsampled by the server to ${charts[0]?.points ?? '?'} points: request → drawn`,
        value: ms(median(charts.map((run) => run.chart))),
        baseline: `${ms(median(charts.map((run) => run.page)))} (whole page, from navigation)`,
        target: '≤ 300 ms',
        pass: median(charts.map((run) => run.chart)) <= 300,
      },
      {
        benchmark: 'Live job at 20 metric batches/s: chart redraws per second (frames per second; worst long task)',
        value: `${drawRate.toFixed(1)}/s (${median(live.map((run) => run.fps)).toFixed(0)} fps; ${ms(median(live.map((run) => run.worstLongTaskMs)))})`,
        target: '≥ 10/s, no long tasks piling up (worst < 50 ms)',
        pass: drawRate >= 10 && median(live.map((run) => run.worstLongTaskMs)) < 50,
      },
    ];
  } finally {
    await browser.close();
    server.child.kill('SIGTERM');
    await server.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
};
