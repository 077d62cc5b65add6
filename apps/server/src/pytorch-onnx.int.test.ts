import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isFinishedJobStatus } from '@trainyard/contracts';
import { torchPython, torchUnavailableReason } from '@trainyard/test-services';
import { syntheticPairs, TEXT_CLASSIFIER_PYTHON_DIR } from '@trainyard/trainers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { useLocalTestServer } from './test-support/local-test-server';

/**
 * The whole path a researcher takes, through the real server and tRPC: train the PyTorch example
 * (a real Python process) on a snapshot, its version registered with model.onnx + scoring.json,
 * texts scored by models.score through ONNX Runtime — the same scores PyTorch itself computes.
 */
const skip = torchUnavailableReason();
const python = torchPython() ?? 'python3';
const t = useLocalTestServer({ TRAINYARD_PYTHON: python });
const scratch = mkdtempSync(join(tmpdir(), 'trainyard-pytorch-e2e-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const texts = [
  ...syntheticPairs(6, 4242).flatMap((pair) => [pair.aiText, pair.humanizedText]),
  '',
  'naïve café – 日本語のテキスト 😀',
  'It is important to note that '.repeat(100), // longer than maxLength: cut as the contract says
];

const waitForJob = (id: string) =>
  vi.waitFor(
    async () => {
      const job = await t.client.jobs.get.query({ id });
      if (!isFinishedJobStatus(job.status)) throw new Error(`job still ${job.status}`);
      return job;
    },
    { timeout: 150_000, interval: 250 },
  );

let snapshotId = '';

beforeAll(async () => {
  if (skip) return;
  const imported = await fetch(`${t.server.url}/import/training-data`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.server.token}`, 'content-type': 'application/x-ndjson' },
    body: syntheticPairs(300, 11)
      .map((pair) => JSON.stringify(pair))
      .join('\n'),
  });
  expect(imported.status).toBe(200);
  snapshotId = (await t.client.datasets.createSnapshot.mutate({ name: 'pytorch-e2e', validationFraction: 0.2 })).id;
});

describe.skipIf(skip)(`PyTorch trainer → ONNX version → models.score${skip ? ` — skipped: ${skip}` : ''}`, () => {
  it('trains, registers model.onnx + scoring.json, and scores what PyTorch scores on the same texts', async () => {
    const job = await t.client.jobs.create.mutate({
      name: 'pytorch-e2e',
      datasetSnapshotId: snapshotId,
      trainer: { kind: 'builtin', name: 'pytorch-text-classifier' },
      hyperparameters: { epochs: 2, maxLength: 128, seed: 7, threads: 1 },
      targetModel: 'pytorch-detector',
    });
    const done = await waitForJob(job.id);
    expect(done.status, done.error ?? '').toBe('succeeded');
    const version = await t.client.models.getVersion.query({ model: 'pytorch-detector', ref: { alias: 'latest' } });
    const files = (await t.client.artifacts.list.query({ modelVersionId: version.id, limit: 50 })).items;
    const byName = new Map(files.map((file) => [file.name.split('/').pop(), file]));
    expect([...byName.keys()].sort()).toEqual(expect.arrayContaining(['model.onnx', 'model.pt', 'scoring.json']));

    const scored = await t.client.models.score.query({ model: 'pytorch-detector', texts });
    expect(scored).toMatchObject({ version: version.version, chosenBy: 'latest' });

    // PyTorch's own outputs: model.pt downloaded from the server, run by the trainer's predict module.
    const modelDir = join(scratch, 'model');
    execFileSync('mkdir', ['-p', modelDir]);
    const pt = byName.get('model.pt');
    const download = await fetch(`${t.server.url}/blobs/sha256/${pt?.sha256 ?? ''}`, { headers: { authorization: `Bearer ${t.server.token}` } });
    expect(download.status).toBe(200);
    writeFileSync(join(modelDir, 'model.pt'), Buffer.from(await download.arrayBuffer()));
    const torchScores = JSON.parse(
      execFileSync(python, ['-m', 'text_classifier.predict', '--model-dir', modelDir], {
        input: texts.map((text) => JSON.stringify(text)).join('\n'),
        env: { ...process.env, PYTHONPATH: TEXT_CLASSIFIER_PYTHON_DIR },
      }).toString(),
    ) as number[];
    expect(scored.scores).toHaveLength(texts.length);
    scored.scores.forEach((score, index) => expect(Math.abs(score - (torchScores[index] ?? Number.NaN)), `text ${index}`).toBeLessThan(1e-5));
  }, 180_000);

  it('a trainer whose model.onnx is broken: the job fails with the reason, and no version is created', async () => {
    const trainer = join(scratch, 'broken_trainer.py');
    writeFileSync(
      trainer,
      [
        'import json, os',
        'out = os.path.join(os.environ["TRAINYARD_JOB_DIR"], "output", "model")',
        'os.makedirs(out, exist_ok=True)',
        'open(os.path.join(out, "model.onnx"), "wb").write(b"\\x08\\x07 definitely not a protobuf model")',
        'json.dump({"format": "onnx", "input": {"name": "input_ids", "encoding": "utf8-bytes", "maxLength": 64}, "output": {"name": "probability", "kind": "probability"}}, open(os.path.join(out, "scoring.json"), "w"))',
      ].join('\n'),
    );
    const job = await t.client.jobs.create.mutate({
      name: 'broken-onnx',
      trainer: { kind: 'command', command: [python, trainer] },
      targetModel: 'broken-onnx',
    });
    const done = await waitForJob(job.id);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/model\.onnx cannot be loaded by ONNX Runtime/);
    await expect(t.client.models.getVersion.query({ model: 'broken-onnx', ref: { alias: 'latest' } })).rejects.toThrow(/no versions yet|not found/);
  }, 60_000);
});
