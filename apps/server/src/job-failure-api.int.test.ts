import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TRPCClientError } from '@trpc/client';
import { describe, expect, it, vi } from 'vitest';
import { useLocalTestServer } from './test-support/local-test-server';

const t = useLocalTestServer();
const files = mkdtempSync(join(tmpdir(), 'trainyard-job-failure-api-'));

const refusal = async (call: Promise<unknown>) => {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCClientError);
  const { message, data } = error as { message: string; data: { code: string } };
  return { message, code: data.code };
};
const waitForEnd = (id: string) =>
  vi.waitFor(
    async () => {
      const job = await t.client.jobs.get.query({ id });
      if (!['succeeded', 'failed', 'cancelled'].includes(job.status)) throw new Error(`job ${id} did not end`);
      return job;
    },
    { timeout: 30_000, interval: 50 },
  );

describe('jobs API: jobs that cannot run are refused, failures say why', () => {
  it('jobs.create refuses, with the reason, a job whose trainer could not run — and queues nothing', async () => {
    const detector = { kind: 'builtin', name: 'text-detector' } as const;
    expect(await refusal(t.client.jobs.create.mutate({ name: 'no-data', trainer: detector }))).toEqual({
      code: 'BAD_REQUEST',
      message: 'Trainer text-detector needs a dataset snapshot with training pairs: give datasetSnapshotId',
    });
    expect(await refusal(t.client.jobs.create.mutate({ name: 'gone', trainer: detector, datasetSnapshotId: '01a217c5-38b0-75f4-bd22-3a5096e9f71b' }))).toEqual({
      code: 'NOT_FOUND',
      message: 'Dataset snapshot not found',
    });
    // A snapshot of an empty database has no training pairs.
    const empty = await t.client.datasets.createSnapshot.mutate({ name: 'empty' });
    expect(empty.trainCount).toBe(0);
    expect(await refusal(t.client.jobs.create.mutate({ name: 'empty', trainer: detector, datasetSnapshotId: empty.id }))).toEqual({
      code: 'PRECONDITION_FAILED',
      message: `Dataset snapshot empty (${empty.id}) has no training pairs; trainer text-detector needs some`,
    });
    expect(await refusal(t.client.jobs.create.mutate({ name: 'typo', trainer: { kind: 'builtin', name: 'text-detektor' } }))).toEqual({
      code: 'BAD_REQUEST',
      message: 'Unknown trainer text-detektor; available: example, text-detector, pytorch-text-classifier',
    });
    expect(
      await refusal(
        t.client.jobs.create.mutate({ name: 'orphan', trainer: { kind: 'builtin', name: 'example' }, parentVersion: { model: 'nobody', version: 3 } }),
      ),
    ).toEqual({ code: 'NOT_FOUND', message: 'Version 3 of model nobody not found' });
    const nowhere = join(files, 'no-such-dir');
    expect(await refusal(t.client.jobs.create.mutate({ name: 'cwd', trainer: { kind: 'command', command: ['true'], cwd: nowhere } }))).toEqual({
      code: 'BAD_REQUEST',
      message: `The trainer's working directory ${nowhere} is not a directory on this machine`,
    });
    expect((await t.client.jobs.list.query({ limit: 100 })).items).toEqual([]);
  });

  it('a failed job carries its stderr line that says why; jobs.logs reads bounded tails and follows by nextOffset', async () => {
    const script = join(files, 'fails.py.mjs');
    writeFileSync(
      script,
      `for (let i = 0; i < 500; i++) process.stderr.write('warming up ' + i + ' ${'·'.repeat(20)}\\n');
process.stderr.write('Traceback (most recent call last):\\n  File "train.py", line 2, in <module>\\nModuleNotFoundError: No module named \\'torch\\'\\n');
process.exit(1);
`,
    );
    const created = await t.client.jobs.create.mutate({ name: 'no-torch', trainer: { kind: 'command', command: [process.execPath, script] } });
    const job = await waitForEnd(created.id);
    expect(job).toMatchObject({ status: 'failed', exitCode: 1, error: "trainer exited with code 1: ModuleNotFoundError: No module named 'torch'" });

    const tail = await t.client.jobs.logs.query({ id: job.id, stream: 'stderr', tail: 40, length: 8 * 1024 });
    const lines = tail.text.trimEnd().split('\n');
    expect(lines).toHaveLength(40);
    expect(lines.at(-1)).toBe("ModuleNotFoundError: No module named 'torch'");
    expect(lines[0]).toBe(`warming up 463 ${'·'.repeat(20)}`);
    expect(tail.nextOffset).toBe(tail.size);
    expect(tail.size - tail.offset).toBe(Buffer.byteLength(tail.text));

    // Reading on from nextOffset in small pages gives the whole log back, never a cut character.
    let whole = '';
    for (let offset = 0; offset < tail.size;) {
      const page = await t.client.jobs.logs.query({ id: job.id, stream: 'stderr', offset, length: 1_001 });
      expect(page.text).not.toContain('\uFFFD');
      whole += page.text;
      offset = page.nextOffset;
    }
    expect(whole.startsWith(`warming up 0 ${'·'.repeat(20)}\n`)).toBe(true);
    expect(Buffer.byteLength(whole)).toBe(tail.size);

    // Strict, bounded input.
    expect((await refusal(t.client.jobs.logs.query({ id: job.id, stream: 'stderr', length: 5 * 1024 * 1024 }))).code).toBe('BAD_REQUEST');
    expect((await refusal(t.client.jobs.logs.query({ id: job.id, stream: '../../session' as 'stderr' }))).code).toBe('BAD_REQUEST');
    expect((await refusal(t.client.jobs.logs.query({ id: job.id, path: '/etc/passwd' } as never))).code).toBe('BAD_REQUEST');
    expect((await refusal(t.client.jobs.logs.query({ id: '01a217c5-38b0-75f4-bd22-3a5096e9f71b', stream: 'stderr' }))).code).toBe('NOT_FOUND');
  });

  it('a log the trainer replaced by a symlink is refused, not followed', async () => {
    const script = join(files, 'links.mjs');
    // The trainer points its own stderr.log at the server's session file.
    writeFileSync(
      script,
      `import { rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
const log = join(process.env.TRAINYARD_JOB_DIR, 'logs', 'stderr.log');
rmSync(log);
symlinkSync(process.argv[2], log);
`,
    );
    const created = await t.client.jobs.create.mutate({
      name: 'links',
      trainer: { kind: 'command', command: [process.execPath, script, join(t.dataDir, 'session.json')] },
    });
    expect(await waitForEnd(created.id)).toMatchObject({ status: 'succeeded' });
    const refused = await refusal(t.client.jobs.logs.query({ id: created.id, stream: 'stderr' }));
    expect(refused).toEqual({ code: 'PRECONDITION_FAILED', message: "The job's stderr log is a symlink; not read" });
    expect(refused.message).not.toContain(t.server.token);
    // Sanity: the check is on the file, not on the name — a plain file reads.
    rmSync(join(t.dataDir, 'jobs', created.id, 'logs', 'stderr.log'));
    writeFileSync(join(t.dataDir, 'jobs', created.id, 'logs', 'stderr.log'), 'plain\n');
    expect((await t.client.jobs.logs.query({ id: created.id, stream: 'stderr' })).text).toBe('plain\n');
  });
});
