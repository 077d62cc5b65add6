import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BlobStore } from '@trainyard/artifacts';
import { createJobInput } from '@trainyard/contracts';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createOrchestratorHarness } from './test-fixtures/orchestrator-harness';
import { createStandInScheduler } from './test-fixtures/stand-in-scheduler';

/**
 * Leases across orchestrators: two orchestrators on one real database (PGlite is shared only
 * within a process, so both live in this one), real trainer processes, short timings.
 */
type Harness = Awaited<ReturnType<typeof createOrchestratorHarness>>;
const timings = { leaseMs: 1_500, heartbeatMs: 200, sweepMs: 300 };
const trainer = fileURLToPath(new URL('./test-fixtures/lease-trainer.mjs', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');

let open: Harness[] = [];
let dirs: string[] = [];
afterEach(async () => {
  // Closed in reverse: the first harness owns the database and the root.
  for (const h of open.reverse()) await h.close().catch(() => undefined);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  open = [];
  dirs = [];
});
const harness = async (options: Parameters<typeof createOrchestratorHarness>[0] = {}): Promise<Harness> => {
  const h = await createOrchestratorHarness({ ...timings, ...options });
  open.push(h);
  return h;
};
/** A file outside every data dir where each trainer of the job appends "<pid> <attempt>". */
const startsFile = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'trainyard-starts-'));
  dirs.push(dir);
  return join(dir, 'starts.log');
};
const starts = (file: string): Array<{ pid: number; attempt: number }> =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => ({ pid: Number(line.split(' ')[0]), attempt: Number(line.split(' ')[1]) }))
    : [];
const leaseJob = (file: string, steps: number, extra: Record<string, unknown> = {}) =>
  createJobInput.parse({
    name: 'lease job',
    trainer: { kind: 'command', command: [process.execPath, trainer, file, String(steps), '100'] },
    maxAttempts: 2,
    ...extra,
  });
const until = async (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<number> => {
  await vi.waitFor(
    async () => {
      if (!(await check())) throw new Error(`timed out waiting for ${what}`);
    },
    { timeout: timeoutMs, interval: 25 },
  );
  return Date.now();
};

describe('leases across orchestrators', () => {
  it('a second orchestrator started while the first holds a valid lease never re-queues or runs the job', async () => {
    const a = await harness();
    await a.orchestrator.start();
    const file = startsFile();
    // 3 s of training: twice the lease, so the lease is renewed while B starts and sweeps.
    const created = await a.jobs.create(leaseJob(file, 30));
    await until('the trainer to start', () => starts(file).length === 1);
    const b = await harness({ database: a.database, root: a.root });
    await b.orchestrator.start();
    let seenByB = false;
    const done = await (async () => {
      for (;;) {
        seenByB ||= b.orchestrator.runningJobs().includes(created.id);
        const job = await a.jobs.get(created.id);
        if (job.status === 'succeeded' || job.status === 'failed') return job;
        await sleep(25);
      }
    })();
    expect(done).toMatchObject({ status: 'succeeded', attempt: 1, leaseOwner: a.orchestrator.owner, error: null });
    expect(seenByB).toBe(false);
    expect(starts(file)).toHaveLength(1); // only one trainer ever ran
  }, 30_000);

  it('a holder that stops renewing loses the job within leaseMs + sweepMs; the orphan trainer on this machine is killed and the job completes once', async () => {
    const a = await harness();
    await a.orchestrator.start();
    const file = startsFile();
    const created = await a.jobs.create(leaseJob(file, 40, { targetModel: 'lease-model' }));
    await until('A to run the trainer', () => starts(file).length === 1 && a.orchestrator.runningJobs().includes(created.id));
    const b = await harness({ database: a.database, root: a.root }); // same machine and data dir
    await b.orchestrator.start();
    const [first] = starts(file);
    // A crashes (as far as the database can tell): no more heartbeats, its trainer keeps running.
    const frozenAt = Date.now();
    a.orchestrator.freezeForTests();
    const takenAt = await until('B to take the job over', async () => (await b.jobs.get(created.id)).leaseOwner !== a.orchestrator.owner);
    // A's last renewal was at most one heartbeat before the freeze; 400 ms for queries and the kill.
    expect(takenAt - frozenAt).toBeLessThanOrEqual(timings.leaseMs + timings.sweepMs + 400);
    expect(takenAt - frozenAt).toBeGreaterThanOrEqual(timings.leaseMs - timings.heartbeatMs);
    // The sweep moves the lease first, then kills the orphan, then re-queues: once the job has started again, the orphan
    // must be gone (killed before the job was re-queued).
    await until('B to start the job again', () => starts(file).length === 2);
    expect(alive(first?.pid ?? 0)).toBe(false);
    const done = await b.waitFor(created.id, ['succeeded', 'failed'], 30_000);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2, leaseOwner: b.orchestrator.owner });
    expect(starts(file).map((s) => s.attempt)).toEqual([1, 2]);
    const versions = await b.versions.list('lease-model', 10);
    expect(versions.items.map((v) => v.trainingJobId)).toEqual([created.id]); // completed once
    // The frozen holder noticed when its trainer died, and wrote nothing.
    await until('A to give up the job', () => !a.orchestrator.runningJobs().includes(created.id));
    expect(a.errors).toContainEqual(expect.objectContaining({ jobId: created.id }));
  }, 40_000);

  it('fences the old holder after a takeover from another machine: its trainer finishes, and none of its metrics, status or artifacts are recorded', async () => {
    const a = await harness();
    await a.orchestrator.start();
    const file = startsFile();
    // 3 s: A's trainer outlives A's lease (1.5 s) and cannot be killed from B's machine.
    const created = await a.jobs.create(leaseJob(file, 30, { targetModel: 'fenced-model' }));
    await until('A to run the trainer', () => starts(file).length === 1 && a.orchestrator.runningJobs().includes(created.id));
    const b = await harness({ database: a.database }); // another data dir: as another machine
    await b.orchestrator.start();
    a.orchestrator.freezeForTests();
    await until('B to take the job over', async () => (await b.jobs.get(created.id)).leaseOwner !== a.orchestrator.owner);
    // A's trainer runs to exit 0 on "its machine", then A tries to record the result.
    await until('A to finish with its trainer', () => !a.orchestrator.runningJobs().includes(created.id), 20_000);
    const done = await b.waitFor(created.id, ['succeeded', 'failed'], 30_000);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2, leaseOwner: b.orchestrator.owner });
    expect(starts(file).map((s) => s.attempt)).toEqual([1, 2]);
    // A recorded nothing: no metric point in its data dir, no artifact, no version, no status.
    expect((await a.metrics.read(created.id, undefined, 1_000))['loss']?.total ?? 0).toBe(0);
    expect((await b.metrics.read(created.id, undefined, 1_000))['loss']?.total).toBe(30);
    const artifacts = await b.artifacts.list({ trainingJobId: created.id, limit: 50 });
    expect(artifacts.items.map((artifact) => artifact.name)).toEqual(['output/model/model.json']);
    expect((await b.versions.list('fenced-model', 10)).items).toHaveLength(1);
    expect(a.errors).toContainEqual(expect.objectContaining({ jobId: created.id }));
  }, 40_000);

  it('fences a completion that loses its lease half-way: no artifact, model version or status from the old holder', async () => {
    let entered: () => void = () => undefined;
    const inPut = new Promise<void>((resolve) => (entered = resolve));
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const holdFirstPut = (blobs: BlobStore): BlobStore => ({
      ...blobs,
      async put(source, options) {
        entered();
        await released;
        return blobs.put(source, options);
      },
    });
    const a = await harness({ wrapBlobs: holdFirstPut });
    await a.orchestrator.start();
    const file = startsFile();
    const created = await a.jobs.create(leaseJob(file, 2, { targetModel: 'half-way-model' }));
    await inPut; // A is validating: storing the model file as an artifact
    const b = await harness({ database: a.database }); // another machine
    await b.orchestrator.start();
    expect((await a.jobs.get(created.id)).status).toBe('validating');
    a.orchestrator.freezeForTests();
    const done = await b.waitFor(created.id, ['succeeded', 'failed'], 30_000);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2, leaseOwner: b.orchestrator.owner });
    release(); // A resumes its completion after the takeover
    await until('A to give up the job', () => !a.orchestrator.runningJobs().includes(created.id));
    const after = await b.jobs.get(created.id);
    expect(after).toMatchObject({ status: 'succeeded', attempt: 2, modelVersionId: done.modelVersionId });
    expect((await b.artifacts.list({ trainingJobId: created.id, limit: 50 })).items).toHaveLength(1);
    expect((await b.versions.list('half-way-model', 10)).items.map((v) => v.id)).toEqual([done.modelVersionId]);
  }, 40_000);

  it('a holder that wakes up after a takeover of a scheduler’s run lets go of it: the run is never cancelled, and completes once under the new holder', async () => {
    // Runs outlive the takeover (≈ leaseMs + sweepMs) and the old holder's next heartbeat.
    const scheduler = createStandInScheduler(6_000);
    const a = await harness({ executors: [scheduler.executor] });
    await a.orchestrator.start();
    const created = await a.jobs.create(
      createJobInput.parse({ name: 'scheduled', trainer: { kind: 'command', command: ['train'] }, executor: 'slurm', maxAttempts: 1 }),
    );
    await until('A to follow the run', () => a.orchestrator.runningJobs().includes(created.id));
    const b = await harness({ database: a.database, root: a.root, executors: [scheduler.executor] }); // the shared filesystem a scheduler's jobs live on
    await b.orchestrator.start();
    a.orchestrator.freezeForTests();
    await until('B to re-attach', async () => (await b.jobs.get(created.id)).leaseOwner === b.orchestrator.owner);
    // A wakes up: its next renewal finds the lease gone. Cancelling now would stop the run B follows.
    a.orchestrator.thawForTests();
    await until('A to let go of the run', () => !a.orchestrator.runningJobs().includes(created.id), 5_000);
    expect(scheduler.run(created.id)).toMatchObject({ submissions: 1, cancels: 0, detaches: 1 });
    const done = await b.waitFor(created.id, ['succeeded', 'failed', 'cancelled'], 20_000);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 1, leaseOwner: b.orchestrator.owner });
    expect(scheduler.run(created.id)).toMatchObject({ submissions: 1, cancels: 0 });
  }, 30_000);
});
