import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTrainyardClient } from '@trainyard/client';
import { sessionCookieName } from '@trainyard/contracts';
import { chromiumUnavailableReason, launchChromium, SEEDED_METRICS, seedComparedJobs, startServerProcess } from '@trainyard/test-services';
import { createMetricsStore } from '@trainyard/training';
import type { Browser } from 'playwright-core';
import type { BenchRow } from './bench-row';
import { median } from './stats';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const TRIALS = 1_000;
const POINTS = 200;

/**
 * One run in a fresh, signed-in page (new context: nothing cached): the jobs screen first, then
 * the compare address pushed as the app's own links do (a pasted link of 1 000 ids would exceed
 * the server's 16 KiB request line). Measured in the page, from the navigation until the table
 * and the parallel-coordinates chart were committed and drawn (the screen's `compare-ready`
 * mark, set by an effect after the chart's own); and the jobs.compare request alone.
 */
const compareScreenMs = async (browser: Browser, url: string, token: string, ids: readonly string[]) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addCookies([{ url, name: sessionCookieName(Number(new URL(url).port)), value: token, httpOnly: true, sameSite: 'Strict' }]);
  const page = await context.newPage();
  await page.goto(`${url}/jobs`);
  await page.locator('[data-testid=jobs-table] tbody tr').first().waitFor();
  await page.evaluate(`(() => {
    window.__compareStart = performance.now();
    history.pushState(null, '', '/compare?ids=${ids.join(',')}');
    dispatchEvent(new PopStateEvent('popstate'));
  })()`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = (await page.evaluate("performance.getEntriesByName('compare-ready').length")) as number;
    if (ready > 0) break;
    if (Date.now() > deadline) throw new Error('the compare screen never became ready');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const timing = (await page.evaluate(`(() => {
    const ready = performance.getEntriesByName('compare-ready')[0].startTime;
    const request = performance.getEntriesByType('resource').find((entry) => entry.name.includes('jobs.compare'));
    const chart = document.querySelector('[data-testid=parallel-coordinates]');
    return {
      total: ready - window.__compareStart,
      request: request ? request.responseEnd - request.startTime : NaN,
      render: request ? ready - request.responseEnd : NaN,
      lines: Number(chart ? chart.getAttribute('data-lines') : 0),
      rows: document.querySelectorAll('[data-testid=compare-table] tbody tr').length,
    };
  })()`)) as { total: number; request: number; render: number; lines: number; rows: number };
  await context.close();
  if (timing.lines !== TRIALS) throw new Error(`the chart drew ${timing.lines} lines, not ${TRIALS}`);
  return timing;
};

export const compareBench = async (): Promise<BenchRow[]> => {
  const skip = chromiumUnavailableReason();
  if (skip) return [{ benchmark: 'compare runs', value: `skipped: ${skip}`, target: '—', pass: false }];
  const dataDir = mkdtempSync(join(tmpdir(), 'trainyard-bench-compare-'));
  // No orchestrator: the seeded jobs never run; their metric files are the seeded ones.
  const server = await startServerProcess({ TRAINYARD_DATA_DIR: dataDir, TRAINYARD_DEMO_DATA: 'off', TRAINYARD_ORCHESTRATOR: 'off' });
  const client = createTrainyardClient({ url: server.url, token: server.token });
  const browser = await launchChromium();
  try {
    const ids = await seedComparedJobs({ client, metrics: createMetricsStore(join(dataDir, 'metrics')), count: TRIALS, points: POINTS });
    await client.jobs.compare.query({ jobIds: ids }); // warm-up
    const calls: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      const started = performance.now();
      await client.jobs.compare.query({ jobIds: ids });
      calls.push(performance.now() - started);
    }
    await compareScreenMs(browser, server.url, server.token, ids); // warm-up: browser compile cache
    const screens: Array<Awaited<ReturnType<typeof compareScreenMs>>> = [];
    for (let run = 0; run < RUNS; run += 1) screens.push(await compareScreenMs(browser, server.url, server.token, ids));
    const ms = (value: number) => `${value.toFixed(0)} ms`;
    const total = median(screens.map((run) => run.total));
    const render = median(screens.map((run) => run.render));
    const call = median(calls);
    const size = `${TRIALS} trials × ${SEEDED_METRICS.length} metrics × ${POINTS} points`;
    return [
      {
        benchmark: `Compare screen, ${size}: opened → table (first 100 rows) and parallel coordinates (${TRIALS} lines) drawn, incl. jobs.compare`,
        value: ms(total),
        baseline: `${ms(render)} of it rendering, after the answer; jobs.compare in the page ${ms(median(screens.map((run) => run.request)))}`,
        target: '≤ 1000 ms',
        pass: total <= 1_000,
      },
      {
        benchmark: `jobs.compare of ${size} (one pass over every series), client → answer`,
        value: ms(call),
        target: '≤ 500 ms',
        pass: call <= 500,
      },
    ];
  } finally {
    await browser.close();
    server.child.kill('SIGTERM');
    await server.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
};
