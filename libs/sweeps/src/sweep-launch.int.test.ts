import { fileURLToPath } from 'node:url';
import { createSweepInput } from '@trainyard/contracts';
import { createOrchestratorHarness } from '@trainyard/training/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createSweepService } from './sweep.service';

// Sweeps over the real training context (PGlite, the job service, no orchestrator running: trial
// jobs stay queued), for what the end-to-end tests cannot arrange: a trial's job refused when it
// would start because the operator's policy changed since the sweep was created.
const objective = fileURLToPath(new URL('./test-fixtures/objective-trainer.mjs', import.meta.url));
const logger = { info: () => undefined, error: () => undefined };
const harnesses: Array<{ close(): Promise<void> }> = [];

const sweepsOver = (harness: Awaited<ReturnType<typeof createOrchestratorHarness>>) =>
  createSweepService({ database: harness.database, jobs: { ...harness.jobs, watch: (jobId, onEvent) => harness.bus.subscribe(jobId, onEvent) }, logger });

describe('a sweep whose trials are refused when they would start', () => {
  afterAll(async () => {
    for (const harness of harnesses.reverse()) await harness.close();
  });

  it('fails those trials with the reason, goes on with the others, and retry-failed runs them once they are allowed again', async () => {
    const open = await createOrchestratorHarness();
    harnesses.push(open);
    const sweeps = sweepsOver(open);
    const input = createSweepInput.parse({
      name: 'tightened',
      base: { trainer: { kind: 'command', command: [process.execPath, objective] } },
      method: 'grid',
      parameters: { lr: { values: [0.01, 0.1] }, width: { values: [16, 64] } },
      concurrency: 1,
    });
    const created = await sweeps.create(input, { actor: 'local' });
    await sweeps.advance(created.id);
    const first = (await sweeps.get(created.id)).trials.find((trial) => trial.jobId !== null);
    expect(first?.outcome).toBe('queued');

    // The operator tightens the policy (a server on the same database that runs no command it was not given).
    const tight = await createOrchestratorHarness({ database: open.database, root: open.root, commandTrainers: { shared: true, allowedCommands: [] } });
    harnesses.push(tight);
    const tightSweeps = sweepsOver(tight);
    await tight.jobs.cancel(first?.jobId ?? '');
    await tightSweeps.advance(created.id);
    await tightSweeps.advance(created.id);
    const after = await tightSweeps.get(created.id);
    expect(after.counts).toMatchObject({ cancelled: 1, failed: 3, pending: 0 });
    for (const trial of after.trials.filter((t) => t.outcome === 'failed')) {
      expect(trial.jobId).toBeNull();
      expect(trial.error).toMatch(/^its job was refused: Command trainers can only be started from the local session/);
    }
    expect(after.status).toBe('finished');

    // Allowed again: retry-failed starts exactly the refused trials.
    const retried = await sweeps.retryFailed(created.id);
    expect(retried.retried).toHaveLength(3);
    await sweeps.advance(created.id);
    const again = await sweeps.get(created.id);
    expect(again.status).toBe('running');
    expect(again.counts).toMatchObject({ cancelled: 1, queued: 1, pending: 2, failed: 0 });
  }, 60_000);

  it('counts a trial whose job was deleted as ended, so the sweep goes on and finishes', async () => {
    const harness = await createOrchestratorHarness();
    harnesses.push(harness);
    const sweeps = sweepsOver(harness);
    const created = await sweeps.create(
      createSweepInput.parse({
        name: 'deleted job',
        base: { trainer: { kind: 'command', command: [process.execPath, objective] } },
        method: 'grid',
        parameters: { lr: { values: [0.01, 0.1] } },
        concurrency: 1,
      }),
      { actor: 'local' },
    );
    await sweeps.advance(created.id);
    const first = (await sweeps.get(created.id)).trials.find((trial) => trial.jobId !== null);
    await harness.jobs.cancel(first?.jobId ?? '');
    await harness.jobs.delete(first?.jobId ?? '');
    await sweeps.advance(created.id);
    const after = await sweeps.get(created.id);
    expect(after.trials[first?.index ?? 0]).toMatchObject({ outcome: 'cancelled', error: 'its job was deleted' });
    const second = after.trials.find((trial) => trial.index !== first?.index);
    expect(second?.outcome).toBe('queued');
    await harness.jobs.cancel(second?.jobId ?? '');
    await sweeps.advance(created.id);
    expect((await sweeps.get(created.id)).status).toBe('finished');
  }, 60_000);
});
