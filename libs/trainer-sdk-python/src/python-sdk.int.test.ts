import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJobInput } from '@trainyard/contracts';
import { createOrchestratorHarness } from '@trainyard/training/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

/**
 * The Python trainer SDK: its unittest suite under every interpreter we have (Python ≥ 3.9), and
 * the SDK installed into a venv as PROTOCOL.md says, training for real under the orchestrator.
 */
const sdkDir = fileURLToPath(new URL('..', import.meta.url));
const exampleTrainer = join(sdkDir, 'examples', 'minimal_trainer.py');
const DEBIAN_PYTHON = '/usr/bin/python3';
const debianPython = existsSync(DEBIAN_PYTHON) ? DEBIAN_PYTHON : 'python3';

/** pyenv's Python 3.9 when installed: the oldest Python the SDK promises to work with. */
const python39 = (): string | undefined => {
  const versions = join(process.env['PYENV_ROOT'] ?? join(homedir(), '.pyenv'), 'versions');
  if (!existsSync(versions)) return undefined;
  const version = readdirSync(versions)
    .filter((name) => /^3\.9\.\d+$/.test(name))
    .sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2]))
    .at(-1);
  const python = version && join(versions, version, 'bin', 'python3');
  return python && existsSync(python) ? python : undefined;
};

const versionOf = (python: string): string => spawnSync(python, ['--version'], { encoding: 'utf8' }).stdout.trim();

describe('the SDK unit tests (python -m unittest discover)', () => {
  const interpreters = [debianPython, python39()].filter((python): python is string => Boolean(python));

  it.each(interpreters)('pass under %s', (python) => {
    const run = spawnSync(python, ['-m', 'unittest', 'discover', '-v'], {
      cwd: sdkDir,
      encoding: 'utf8',
      env: { PATH: process.env['PATH'], PYTHONDONTWRITEBYTECODE: '1' },
      timeout: 120_000,
    });
    // unittest reports on stderr; the whole report is the failure message.
    expect(run.status, `${versionOf(python)}\n${run.stderr}`).toBe(0);
    expect(run.stderr).toMatch(/^OK$/m);
    console.info(`Python SDK unit tests: ${versionOf(python)} (${python}) — ${run.stderr.match(/Ran \d+ tests in [\d.]+s/)?.[0]}`);
  });

  it.skipIf(python39() !== undefined)('also pass under Python 3.9 — skipped: no pyenv Python 3.9 here', () => undefined);
});

const mypyMissing = spawnSync(debianPython, ['-c', 'import mypy'], { stdio: 'ignore' }).status !== 0;

it.skipIf(mypyMissing)(
  `the SDK and its example type-check: mypy --strict for Python 3.9${mypyMissing ? ' — skipped: no mypy (apt-get install python3-mypy)' : ''}`,
  () => {
    const cache = mkdtempSync(join(tmpdir(), 'trainyard-mypy-'));
    try {
      const run = spawnSync(debianPython, ['-m', 'mypy', '--strict', '--python-version', '3.9', '--cache-dir', cache, 'trainyard', 'examples'], {
        cwd: sdkDir,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(run.status, run.stdout + run.stderr).toBe(0);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  },
);

/** Why a venv cannot be made with Debian's Python here (python3-venv missing), or undefined when it can. */
const venvUnavailableReason = (): string | undefined => {
  if (spawnSync(debianPython, ['-c', 'import ensurepip, venv'], { stdio: 'ignore' }).status === 0) return undefined;
  const reason = `${debianPython} cannot make a venv (apt-get install python3-venv python3-setuptools python3-wheel)`;
  if (process.env['REQUIRE_TORCH'] === '1') throw new Error(`${reason} (REQUIRE_TORCH=1)`);
  return reason;
};
const skipReason = venvUnavailableReason();

describe.skipIf(skipReason !== undefined)(`the SDK installed in a venv, under the orchestrator${skipReason ? ` — skipped: ${skipReason}` : ''}`, () => {
  type Harness = Awaited<ReturnType<typeof createOrchestratorHarness>>;
  let h: Harness;
  let root: string;
  let venvPython: string;
  let snapshotId: string;
  const dirOf = (jobId: string): string => h.workspace.dirOf(jobId);
  const eventsLog = (jobId: string): string => readFileSync(join(dirOf(jobId), 'logs', 'events.log'), 'utf8');
  const commandJob = (script: string, input: Record<string, unknown> = {}) =>
    createJobInput.parse({ name: 'python sdk job', trainer: { kind: 'command', command: [venvPython, script] }, ...input });

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'trainyard-python-sdk-'));
    // A copy: pip builds in the source directory (build/, *.egg-info), which is not ours to write to in a test.
    const sdk = join(root, 'trainer-sdk-python');
    cpSync(sdkDir, sdk, { recursive: true, filter: (path) => !/(__pycache__|\.egg-info|\/build)$/.test(path) });
    // Exactly the documented commands (PROTOCOL.md, "Python SDK"): Debian's Python, no PyPI.
    const venv = join(root, '.venv');
    for (const [command, args] of [
      [debianPython, ['-m', 'venv', '--system-site-packages', venv]],
      [join(venv, 'bin', 'pip'), ['install', '--no-build-isolation', '--no-index', sdk]],
    ] as const) {
      const run = spawnSync(command, args, { cwd: root, encoding: 'utf8', timeout: 120_000 });
      if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${run.stdout}\n${run.stderr}`);
    }
    venvPython = join(venv, 'bin', 'python');

    h = await createOrchestratorHarness({ graceMs: 5_000 });
    await h.trainingData.collectBatch(
      Array.from({ length: 40 }, (_, i) => ({
        aiText: `It is important to note that sample ${i} delves into a formal tapestry.`,
        humanizedText: `Sample ${i} is pretty casual, honestly, no big deal.`,
      })),
    );
    snapshotId = (await h.snapshots.create({ name: 'forty', filter: {}, validationFraction: 0.25, seed: 1 })).id;
    await h.orchestrator.start();
  });
  afterAll(async () => {
    await h?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('runs a trainer with the venv python: metrics with a NaN sent as null and counted on the job, a checkpoint, the model', async () => {
    const script = join(root, 'nan_trainer.py');
    writeFileSync(
      script,
      [
        'import trainyard',
        'from trainyard import Run',
        'print(trainyard.__file__)',
        'with Run() as run:',
        '    run.metric("loss", float("nan"), step=1)',
        '    run.metric("loss", 0.5, step=2)',
        '    run.metrics({"loss": float("inf"), "acc": 0.75}, step=3)',
        '    with run.checkpoint("step-000003", step=3) as directory:',
        '        (directory / "state.json").write_text("{}")',
        '    (run.model_dir / "model.txt").write_text("trained")',
        '',
      ].join('\n'),
    );
    const created = await h.jobs.create(commandJob(script));
    const done = await h.waitFor(created.id, ['succeeded', 'failed']);
    expect(done, done.error ?? '').toMatchObject({ status: 'succeeded', progressMessage: '2 non-finite metric values (NaN/Infinity) skipped' });
    // Imported from the venv (the trainer's environment has no PYTHONPATH), typed: py.typed is installed with it.
    const installedAt = dirname(readFileSync(join(dirOf(created.id), 'logs', 'stdout.log'), 'utf8').trim());
    expect(installedAt.startsWith(join(root, '.venv', 'lib'))).toBe(true);
    expect(existsSync(join(installedAt, 'py.typed'))).toBe(true);
    const series = await h.jobs.metrics(created.id, ['loss', 'acc'], 100);
    expect(series['loss']).toMatchObject({ step: [2], value: [0.5] });
    expect(series['acc']).toMatchObject({ step: [3], value: [0.75] });
    const artifacts = await h.artifacts.list({ trainingJobId: created.id, limit: 50 });
    expect(artifacts.items.map((a) => `${a.type}:${a.name}`).sort()).toEqual(['checkpoint:checkpoints/step-000003/state.json', 'model:output/model/model.txt']);
  });

  it('trains the example trainer to a model version: metrics per epoch, a checkpoint per epoch, the model file', async () => {
    const created = await h.jobs.create(
      commandJob(exampleTrainer, { datasetSnapshotId: snapshotId, hyperparameters: { epochs: 3 }, targetModel: 'python-example' }),
    );
    const done = await h.waitFor(created.id, ['succeeded', 'failed']);
    expect(done, done.error ?? '').toMatchObject({ status: 'succeeded', progress: 1, finalMetrics: { train_error: expect.any(Number), val_accuracy: 1 } });
    const series = await h.jobs.metrics(created.id, ['val_accuracy'], 100);
    expect(series['val_accuracy']?.step).toEqual([1, 2, 3]);
    const artifacts = await h.artifacts.list({ trainingJobId: created.id, limit: 50 });
    expect(artifacts.items.map((a) => `${a.type}:${a.name}`).sort()).toEqual([
      'checkpoint:checkpoints/epoch-0001/state.json',
      'checkpoint:checkpoints/epoch-0002/state.json',
      'checkpoint:checkpoints/epoch-0003/state.json',
      'model:output/model/model.json',
    ]);
    expect(JSON.parse(readFileSync(join(dirOf(created.id), 'output', 'model', 'model.json'), 'utf8'))).toMatchObject({ kind: 'hashed-word-perceptron' });
    expect(await h.versions.get('python-example', { alias: 'latest' })).toMatchObject({ trainingJobId: created.id });
  });

  it('saves a checkpoint on SIGTERM when cancelled, and a retry resumes from it', async () => {
    const created = await h.jobs.create(
      commandJob(exampleTrainer, { datasetSnapshotId: snapshotId, hyperparameters: { epochs: 8, epoch_delay_seconds: 0.3 }, maxAttempts: 1 }),
    );
    const checkpoints = join(dirOf(created.id), 'checkpoints');
    await vi.waitFor(() => expect(existsSync(join(checkpoints, 'epoch-0002'))).toBe(true), { timeout: 30_000, interval: 50 });
    await h.jobs.cancel(created.id);
    expect((await h.waitFor(created.id, ['cancelled', 'failed', 'succeeded'])).status).toBe('cancelled');
    const stoppedAt = eventsLog(created.id).match(/stopping after epoch (\d+): checkpoint saved/)?.[1];
    expect(stoppedAt).toBeDefined();
    const saved = `epoch-${String(stoppedAt).padStart(4, '0')}`;
    expect(readdirSync(checkpoints)).toContain(saved);
    expect(Number(stoppedAt)).toBeLessThan(8);

    await h.jobs.retry(created.id);
    const done = await h.waitFor(created.id, ['succeeded', 'failed', 'cancelled']);
    expect(done, done.error ?? '').toMatchObject({ status: 'succeeded', attempt: 2 });
    expect(eventsLog(created.id)).toContain(`resuming from ${saved} (attempt 2)`);
    // The second attempt trained only the epochs after the checkpoint: each epoch reported once.
    expect(await h.jobs.metrics(created.id, ['val_accuracy'], 100)).toMatchObject({ val_accuracy: { step: [1, 2, 3, 4, 5, 6, 7, 8], total: 8 } });
    expect(existsSync(join(checkpoints, 'epoch-0008'))).toBe(true);
  });
});
