import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTrainyardClient } from '@trainyard/client';
import { type ReproduceOutput, type ReproductionOutput, type TrainerIdentity } from '@trainyard/contracts';
import { postgresUnavailableReason, runCli } from '@trainyard/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from './cli/exit-codes';
import { useLocalTestServer } from './test-support/local-test-server';
import type { SharedServer } from './test-support/shared-server';
import { createServerToken, waitForEntry } from './test-support/sync-fixtures';
import { FAST_SYNC_RETRY, startTeamRegistry, type TeamRegistry } from './test-support/team-registry';
import { trainDetectorModel, waitForJob } from './test-support/trained-model';

const skip = postgresUnavailableReason();
const laptop = useLocalTestServer(FAST_SYNC_RETRY);
/** Another data directory: pulls what the laptop pushed and reproduces it. */
const teammate = useLocalTestServer(FAST_SYNC_RETRY);

let registry: TeamRegistry;
let shared: SharedServer;
let scriptDir: string;
let writeToken: string;

const trainyard = async (dataDir: string, args: string[]) => {
  const run = runCli(args, { TRAINYARD_DATA_DIR: dataDir });
  const code = await run.exited;
  const output = run.output();
  return { code, output, json: () => JSON.parse(output.slice(output.indexOf('{'))) as { reproduce: ReproduceOutput; report: ReproductionOutput | null } };
};

const finished = waitForJob;

const git = (...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.test', '-c', 'commit.gpgsign=false', ...args], {
    cwd: scriptDir,
    encoding: 'utf8',
  }).trim();

/** A command trainer: writes its model file from the hyperparameters, reports one metric. */
const trainerScript = (modelText: string) => `
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const dir = process.env.TRAINYARD_JOB_DIR;
const hp = JSON.parse(readFileSync(join(dir, 'input', 'config', 'hyperparameters.json'), 'utf8'));
mkdirSync(join(dir, 'output', 'model'), { recursive: true });
writeFileSync(join(dir, 'output', 'model', 'model.txt'), ${JSON.stringify(modelText)} + ' seed=' + hp.seed + '\\n');
writeFileSync(3, JSON.stringify({ type: 'metric', name: 'val_loss', step: 1, value: 0.25 }) + '\\n');
`;

describe.skipIf(skip)(`trainyard reproduce across machines (PostgreSQL + S3)${skip ? ` — skipped: ${skip}` : ''}`, () => {
  beforeAll(async () => {
    registry = await startTeamRegistry('reproduce');
    ({ shared } = registry);
    const { databaseUrl } = registry;
    writeToken = (await createServerToken(databaseUrl, 'laptop', 'write')).token;
    await laptop.client.sync.addRemote.mutate({ name: 'team', url: shared.url, token: writeToken });
    await teammate.client.sync.addRemote.mutate({ name: 'team', url: shared.url, token: (await createServerToken(databaseUrl, 'teammate', 'read')).token });
    expect(
      (await trainDetectorModel({ url: laptop.server.url, token: laptop.server.token, client: laptop.client }, { model: 'detector', pairs: 300, seed: 1 }))
        .status,
    ).toBe('succeeded');
    scriptDir = mkdtempSync(join(tmpdir(), 'reproduce-script-'));
    writeFileSync(join(scriptDir, 'train.mjs'), trainerScript('weights v1'));
    git('init', '-q');
    git('add', '.');
    git('commit', '-q', '-m', 'trainer');
  }, 300_000);
  afterAll(async () => {
    await registry?.stop();
    if (scriptDir) rmSync(scriptDir, { recursive: true, force: true });
  });

  it('records what ran on the job, and a pushed then pulled version carries it in its lineage', async () => {
    const version = await laptop.client.models.getVersion.query({ model: 'detector', ref: { version: 1 } });
    const job = await laptop.client.jobs.get.query({ id: version.trainingJobId ?? '' });
    const identity = job.trainerIdentity as TrainerIdentity;
    expect(identity).toMatchObject({ kind: 'builtin', name: 'text-detector', codeSha256: expect.stringMatching(/^[0-9a-f]{64}$/), projectVersion: '0.1.0' });
    expect(identity.kind === 'builtin' && identity.files.length).toBeGreaterThan(0);

    const pushed = await laptop.client.sync.push.mutate({ remote: 'team', model: 'detector', ref: { version: 1 } });
    expect(await waitForEntry(laptop.client, pushed.id, ['done', 'failed'])).toMatchObject({ state: 'done' });
    const pulled = await teammate.client.sync.pull.mutate({ remote: 'team', model: 'detector', ref: { version: 1 } });
    expect(await waitForEntry(teammate.client, pulled.id, ['done', 'failed'])).toMatchObject({ state: 'done' });
    const there = await teammate.client.models.getVersion.query({ model: 'detector', ref: { version: 1 } });
    expect(there.provenance).toMatchObject({ lineage: { trainingJob: { id: job.id, identity } } });
    // On a shared server, reproducing is training: a write token may not.
    const writer = createTrainyardClient({ url: shared.url, token: writeToken });
    await expect(writer.jobs.reproduce.mutate({ model: 'detector', version: 1 })).rejects.toThrow(/it needs train/);
  }, 120_000);

  it('trainyard reproduce on another data directory: the pulled text-detector version is retrained byte-identically, the job linked to it', async () => {
    const run = await trainyard(teammate.dataDir, ['reproduce', 'detector@1', '--remote', 'team', '--json']);
    expect(run.code, run.output).toBe(EXIT.OK);
    const { reproduce, report } = run.json();
    expect(reproduce).toMatchObject({ refused: false, differences: [] });
    expect(report).toMatchObject({ status: 'succeeded', identical: true, verdict: 'byte-identical', differences: [] });
    expect(report?.artifacts?.map((row) => row.name).sort()).toEqual(['output/model/config.json', 'output/model/model.bin']);
    expect(report?.artifacts?.every((row) => row.identical && row.original === row.reproduced)).toBe(true);
    const local = await teammate.client.models.getVersion.query({ model: 'detector', ref: { version: 1 } });
    const job = await teammate.client.jobs.get.query({ id: reproduce.jobId ?? '' });
    expect(job.reproducedFrom).toMatchObject({ versionId: local.id, model: 'detector', version: 1 });
    expect(job.datasetSnapshotId).toBe(local.datasetSnapshotId);
    // The same trainer, hyperparameters (seed included) and snapshot; no new version.
    const original = (local.provenance as { lineage: { trainingJob: { hyperparameters: unknown; trainer: unknown } } }).lineage.trainingJob;
    expect(job.hyperparameters).toEqual(original.hyperparameters);
    expect(job.trainer).toEqual(original.trainer);
    expect(job.targetModelName).toBeNull();
    expect(job.maxAttempts).toBe(1);
    expect((await teammate.client.models.listVersions.query({ model: 'detector' })).items).toHaveLength(1);
    // The lineage view shows the reproduction beside the version it re-ran.
    const graph = await teammate.client.models.lineage.query({ model: 'detector' });
    expect(graph.edges).toContainEqual({ from: local.id, to: job.id, kind: 'reproduced_by' });
    expect(graph.nodes).toContainEqual({ id: job.id, kind: 'job', label: 'reproduce detector@1 (succeeded)' });
    // The human report says so too.
    const text = await trainyard(teammate.dataDir, ['reproduce', 'detector@1', '--remote', 'team']);
    expect(text.code).toBe(EXIT.OK);
    expect(text.output).toMatch(/detector@1 reproduced by job \S+: byte-identical/);
  }, 240_000);

  it('a version pushed without its dataset: the reproduction is refused, the snapshot named', async () => {
    expect(
      (await trainDetectorModel({ url: laptop.server.url, token: laptop.server.token, client: laptop.client }, { model: 'withheld', pairs: 100, seed: 3 }))
        .status,
    ).toBe('succeeded');
    const pushed = await laptop.client.sync.push.mutate({ remote: 'team', model: 'withheld', ref: { version: 1 }, includeDataset: false });
    expect(await waitForEntry(laptop.client, pushed.id, ['done', 'failed'])).toMatchObject({ state: 'done' });
    const snapshotId = (await laptop.client.models.getVersion.query({ model: 'withheld', ref: { version: 1 } })).datasetSnapshotId;
    const run = await trainyard(teammate.dataDir, ['reproduce', 'withheld@1', '--remote', 'team']);
    expect(run.code, run.output).toBe(EXIT.CONFLICT);
    expect(run.output).toContain(`Refused: Dataset snapshot withheld (${snapshotId}) is not on this server`);
  }, 120_000);

  it("a command trainer whose script changed: refused, naming the file and the checkout's dirty state; --allow-different runs and reports them beside the comparison", async () => {
    const created = await laptop.client.jobs.create.mutate({
      name: 'scripted',
      trainer: { kind: 'command', command: ['node', 'train.mjs'], cwd: scriptDir },
      hyperparameters: { seed: 7 },
      targetModel: 'scripted',
    });
    expect((await finished(laptop.client, created.id)).status).toBe('succeeded');
    const identity = (await laptop.client.jobs.get.query({ id: created.id })).trainerIdentity as TrainerIdentity;
    expect(identity).toMatchObject({
      kind: 'command',
      command: ['node', 'train.mjs'],
      cwd: scriptDir,
      git: { commit: git('rev-parse', 'HEAD'), dirty: false },
    });
    expect(identity.kind === 'command' && identity.files.map((file) => file.path)).toEqual(['train.mjs']);

    // Unchanged: reproduced here byte-identically.
    const same = await trainyard(laptop.dataDir, ['reproduce', 'scripted@1', '--json']);
    expect(same.code, same.output).toBe(EXIT.OK);
    expect(same.json().report).toMatchObject({ identical: true, verdict: 'byte-identical' });

    // Pulled by a teammate, the pusher's command runs there only with a yes.
    const pushed = await laptop.client.sync.push.mutate({ remote: 'team', model: 'scripted', ref: { version: 1 } });
    expect(await waitForEntry(laptop.client, pushed.id, ['done', 'failed'])).toMatchObject({ state: 'done' });
    const teammateJobs = (await teammate.client.jobs.list.query({ limit: 100 })).items.length;
    const unasked = await trainyard(teammate.dataDir, ['reproduce', 'scripted@1', '--remote', 'team']);
    expect(unasked.code, unasked.output).toBe(EXIT.CONFLICT);
    expect(unasked.output).toContain('was trained elsewhere by a command: ["node","train.mjs"]');
    expect(unasked.output).toContain('(run it: --allow-command)');
    expect((await teammate.client.jobs.list.query({ limit: 100 })).items).toHaveLength(teammateJobs);
    const asked = await trainyard(teammate.dataDir, ['reproduce', 'scripted@1', '--remote', 'team', '--allow-command', '--json']);
    expect(asked.code, asked.output).toBe(EXIT.OK);
    expect(asked.json().report).toMatchObject({ identical: true, verdict: 'byte-identical' });

    writeFileSync(join(scriptDir, 'train.mjs'), trainerScript('weights v2'));
    const refused = await trainyard(laptop.dataDir, ['reproduce', 'scripted@1']);
    expect(refused.code, refused.output).toBe(EXIT.CONFLICT);
    expect(refused.output).toMatch(/Refused: The trainer here differs from the one that trained scripted version 1 \(run anyway: --allow-different\)/);
    expect(refused.output).toMatch(/- git\.dirty: the checkout has uncommitted changes here/);
    expect(refused.output).toMatch(/- file:train\.mjs: train\.mjs changed \(sha256 [0-9a-f]{12}… → [0-9a-f]{12}…\)/);
    const jobsBefore = (await laptop.client.jobs.list.query({ limit: 100 })).items.length;
    const asJson = await trainyard(laptop.dataDir, ['reproduce', 'scripted@1', '--json']);
    expect(asJson.json().reproduce).toMatchObject({ refused: true, jobId: null });
    expect(asJson.json().reproduce.differences.map((d) => d.field)).toEqual(['git.dirty', 'file:train.mjs']);
    expect((await laptop.client.jobs.list.query({ limit: 100 })).items).toHaveLength(jobsBefore);

    // Run anyway: other bytes, the same final metric — within tolerance, the differences beside it.
    const anyway = await trainyard(laptop.dataDir, ['reproduce', 'scripted@1', '--allow-different', '--json']);
    expect(anyway.code, anyway.output).toBe(EXIT.OK);
    const { report } = anyway.json();
    expect(report).toMatchObject({
      identical: false,
      metricsWithinTolerance: true,
      verdict: 'metrics within tolerance',
      artifacts: [{ name: 'output/model/model.txt', identical: false }],
      metrics: [{ name: 'val_loss', original: 0.25, reproduced: 0.25, withinTolerance: true }],
    });
    expect(report?.differences.map((d) => d.field)).toEqual(['git.dirty', 'file:train.mjs']);
    const text = await trainyard(laptop.dataDir, ['reproduce', 'scripted@1', '--allow-different']);
    expect(text.output).toMatch(/The trainer differed from the published one:\n {2}- git\.dirty/);
    expect(text.output).toMatch(/scripted@1 reproduced by job \S+: metrics within tolerance/);

    // Another final metric, beyond the tolerance: it differs (exit 1); a trainer that fails: exit 7.
    writeFileSync(join(scriptDir, 'train.mjs'), trainerScript('weights v3').replace('value: 0.25', 'value: 0.5'));
    const differs = await trainyard(laptop.dataDir, ['reproduce', 'scripted@1', '--allow-different', '--json']);
    expect(differs.code, differs.output).toBe(EXIT.FAILURE);
    expect(differs.json().report).toMatchObject({
      verdict: 'differs',
      metricsWithinTolerance: false,
      metrics: [{ name: 'val_loss', original: 0.25, reproduced: 0.5, withinTolerance: false }],
    });
    writeFileSync(join(scriptDir, 'train.mjs'), 'process.exit(3);\n');
    const failed = await trainyard(laptop.dataDir, ['reproduce', 'scripted@1', '--allow-different', '--json']);
    expect(failed.code, failed.output).toBe(EXIT.JOB_FAILED);
    expect(failed.json().report).toMatchObject({ status: 'failed', artifacts: null, verdict: expect.stringMatching(/^failed: trainer exited with code 3/) });
  }, 240_000);
});
