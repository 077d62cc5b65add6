import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromiumUnavailableReason, slurmUnavailableReason, startSlurm, type SlurmTestCluster } from '@trainyard/test-services';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type BrowserSession, SCREENSHOTS, startBrowserSession } from './test-support/browser-session';

const skip = chromiumUnavailableReason() ?? slurmUnavailableReason();

describe.skipIf(skip)(`Web UI: a Slurm job's scheduler state, in Chromium against a real server and a real Slurm${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let cluster: SlurmTestCluster;
  let session: BrowserSession;
  let page: Page;
  const sharedDir = mkdtempSync(join(tmpdir(), 'trainyard-web-slurm-'));
  const slurm = (args: string[]): string => execFileSync(args[0] ?? '', args.slice(1), { env: { ...process.env, ...cluster.env }, encoding: 'utf8' }).trim();

  beforeAll(async () => {
    cluster = await startSlurm();
    session = await startBrowserSession({
      name: 'web-slurm',
      env: { TRAINYARD_SLURM: 'on', TRAINYARD_SHARED_DIR: sharedDir, TRAINYARD_SLURM_POLL_SECONDS: '0.5', ...cluster.env },
    });
    ({ page } = session);
  }, 120_000);
  afterAll(async () => {
    await session?.close();
    await cluster?.stop();
    rmSync(sharedDir, { recursive: true, force: true });
  });

  it('the job page shows the Slurm job id, its state and why it waits, and follows it to the end', async () => {
    const filler = slurm(['sbatch', '--parsable', '--cpus-per-task=2', '--output=/dev/null', '--wrap', 'sleep 60']);
    try {
      const job = await session.client.jobs.create.mutate({
        name: 'waits-for-the-cluster',
        executor: 'slurm',
        trainer: { kind: 'command', command: [process.execPath, '-e', 'setTimeout(() => {}, 1500)'] },
        resources: { cpus: 1 },
      });
      const pending = await vi.waitFor(
        async () => {
          const current = await session.client.jobs.get.query({ id: job.id });
          if (current.scheduler?.reason !== 'Resources') throw new Error(`not pending on Resources yet: ${JSON.stringify(current.scheduler)}`);
          return current;
        },
        { timeout: 30_000, interval: 200 },
      );
      await session.signIn();
      await page.getByRole('link', { name: 'waits-for-the-cluster' }).click();
      const scheduler = page.getByTestId('job-scheduler');
      await expect.poll(() => scheduler.textContent(), { timeout: 10_000 }).toBe(`slurm job ${pending.scheduler?.jobId}: PENDING (waiting: Resources)`);
      await page.screenshot({ path: join(SCREENSHOTS, 'job-slurm-pending.png'), fullPage: true });
      slurm(['scancel', filler]);
      // The status events bring the new state, no reload.
      await page.locator('.badge-succeeded').waitFor({ timeout: 30_000 });
      await expect.poll(() => scheduler.textContent(), { timeout: 10_000 }).toBe(`slurm job ${pending.scheduler?.jobId}: COMPLETED`);
      expect(session.pageErrors).toEqual([]);
    } finally {
      slurm(['scancel', filler]);
    }
  }, 120_000);
});
