import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createArtifactService } from '@trainyard/artifacts';
import { createModelRegistryService, createModelVersionService, importBundledVersion } from '@trainyard/registry';
import { torchPython, torchUnavailableReason } from '@trainyard/test-services';
import { createOrchestratorHarness } from '@trainyard/training/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelFileCheck } from './model-file-check';
import { createModelLoader } from './scorable-model';
import { createScoringService } from './scoring.service';

/**
 * ONNX versions through the real services (PGlite, blobs on disk, ONNX Runtime): a model made by
 * PyTorch (test-fixtures/make_onnx_model.py) is checked when its version is created and scores
 * what PyTorch scores; broken ones are refused with a message that says what is wrong.
 */
const skip = torchUnavailableReason();
const maker = fileURLToPath(new URL('./test-fixtures/make_onnx_model.py', import.meta.url));
const texts = ['It is important to note that the results are significant.', 'lol no way, that was wild', '', 'naïve café – 日本語 😀', 'x'.repeat(5_000)];

let scratch: string;
/** The real database and blob store, as the server wires them (no orchestrator is started). */
let h: Awaited<ReturnType<typeof createOrchestratorHarness>>;
/** model.onnx, scoring.json and PyTorch's own scores for `texts`, per output kind. */
const fixtures: Record<'probability' | 'logit' | 'logitWide' | 'twoInputs' | 'intOutput', { model: Buffer; contract: Buffer; torchScores: number[] }> =
  {} as never;

const makeModel = (kind: 'probability' | 'logit', extra: string[] = []) => {
  const dir = join(scratch, `${kind}${extra.join('')}`);
  const torchScores = JSON.parse(
    execFileSync(torchPython() ?? 'python3', [maker, dir, '--kind', kind, '--max-length', '64', ...extra], {
      input: JSON.stringify(texts),
      stdio: ['pipe', 'pipe', 'ignore'],
    }).toString(),
  ) as number[];
  return { model: readFileSync(join(dir, 'model.onnx')), contract: readFileSync(join(dir, 'scoring.json')), torchScores };
};

const services = (options: { onnx: boolean }) => {
  const artifacts = createArtifactService({
    database: h.database,
    blobs: h.blobs,
    gcGraceMs: 3_600_000,
    owners: () => ({ jobs: { exists: async () => false }, versions }),
  });
  const loader = createModelLoader({ blobs: h.blobs, onnx: options.onnx, cacheBytes: 64 * 1024 * 1024 });
  const versions = createModelVersionService(h.database, artifacts, { modelFiles: createModelFileCheck({ artifacts, loader }) });
  const models = createModelRegistryService(h.database);
  const scoring = createScoringService({ versions, artifacts, loader });
  /** Uploads the files as model artifacts (names under output/model/) and creates a version of `model` from them. */
  const register = async (model: string, files: Record<string, Buffer | string>) => {
    if (!(await models.exists(model))) await models.register({ name: model, description: '', tags: [], metadata: {} }, 'test');
    const ids: string[] = [];
    for (const [name, bytes] of Object.entries(files)) {
      const { sha256 } = await h.blobs.put(Readable.from([Buffer.from(bytes)]));
      ids.push((await artifacts.register({ sha256, name: `output/model/${name}`, type: 'model', mediaType: 'application/octet-stream', metadata: {} })).id);
    }
    return versions.create({ model, description: '', metrics: {}, tags: [], artifactIds: ids, gate: [] }, 'test');
  };
  return { artifacts, loader, versions, models, scoring, register };
};

beforeAll(async () => {
  if (skip) return;
  scratch = mkdtempSync(join(tmpdir(), 'trainyard-onnx-'));
  h = await createOrchestratorHarness();
  fixtures.probability = makeModel('probability');
  fixtures.logit = makeModel('logit');
  fixtures.logitWide = makeModel('logit', ['--scale', '50']);
  fixtures.twoInputs = makeModel('probability', ['--variant', 'two-inputs']);
  fixtures.intOutput = makeModel('probability', ['--variant', 'int-output']);
}, 120_000);
afterAll(async () => {
  await h?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe.skipIf(skip)(`ONNX model versions${skip ? ` — skipped: ${skip}` : ''}`, () => {
  it.each(['probability', 'logit'] as const)(
    'scores what PyTorch scores (%s output), text by text, in batches larger than one inference call',
    async (kind) => {
      const { register, scoring } = services({ onnx: true });
      const { model, contract, torchScores } = fixtures[kind];
      const version = await register(`onnx-${kind}`, { 'model.onnx': model, 'scoring.json': contract });
      const result = await scoring.score(`onnx-${kind}`, { version: version.version }, texts);
      expect(result.scores).toHaveLength(texts.length);
      result.scores.forEach((score, index) => expect(score).toBeCloseTo(torchScores[index] ?? Number.NaN, 5));
      // 600 texts: more than one inference batch (256); every copy scores the same.
      const many = await scoring.score(
        `onnx-${kind}`,
        undefined,
        Array.from({ length: 600 }, (_, i) => texts[i % texts.length] ?? ''),
      );
      many.scores.forEach((score, index) => expect(score).toBeCloseTo(torchScores[index % texts.length] ?? Number.NaN, 5));
    },
  );

  it('refuses a malformed scoring.json, naming the problem, and creates no version', async () => {
    const { register, versions, models } = services({ onnx: true });
    const { model } = fixtures.probability;
    const contract = JSON.parse(fixtures.probability.contract.toString()) as Record<string, Record<string, unknown>>;
    const cases: Array<[string, string, RegExp]> = [
      ['not json', '{"format": "onnx",', /scoring\.json is not JSON/],
      ['wrong encoding', JSON.stringify({ ...contract, input: { ...contract['input'], encoding: 'utf16' } }), /scoring contract: input\.encoding/],
      ['unknown key', JSON.stringify({ ...contract, labels: ['human', 'ai'] }), /scoring contract: .*labels/],
      ['maxLength 0', JSON.stringify({ ...contract, input: { ...contract['input'], maxLength: 0 } }), /input\.maxLength/],
      [
        'wrong input name',
        JSON.stringify({ ...contract, input: { ...contract['input'], name: 'tokens' } }),
        /model\.onnx has no input named tokens \(its inputs: input_ids \(int64/,
      ],
      [
        'wrong output name',
        JSON.stringify({ ...contract, output: { name: 'score', kind: 'probability' } }),
        /model\.onnx has no output named score \(its outputs: probability/,
      ],
      [
        'wrong maxLength',
        JSON.stringify({ ...contract, input: { ...contract['input'], maxLength: 32 } }),
        /model\.onnx's input input_ids \(int64 \[batch, 64\]\) must have shape \[batch, 32\] \(scoring\.json's maxLength\)/,
      ],
    ];
    await models.register({ name: 'broken', description: '', tags: [], metadata: {} }, 'test');
    for (const [what, scoringJson, message] of cases) {
      await expect(register('broken', { 'model.onnx': model, 'scoring.json': scoringJson }), what).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(message),
      });
    }
    await expect(register('broken', { 'scoring.json': fixtures.probability.contract })).rejects.toThrow(/scoring\.json .* but no model\.onnx/);
    await expect(
      register('broken', { 'model.onnx': model, 'scoring.json': fixtures.probability.contract, 'b/scoring.json': fixtures.probability.contract }),
    ).rejects.toThrow(/A version holds one scoring\.json; this one has 2/);
    expect((await versions.list('broken', 10)).items).toEqual([]);
  });

  it('refuses a truncated or garbage model.onnx, and a logit model that claims to output probabilities', async () => {
    const { register } = services({ onnx: true });
    const { model, contract } = fixtures.probability;
    await expect(register('broken-model', { 'model.onnx': model.subarray(0, model.length - 100), 'scoring.json': contract })).rejects.toThrow(
      /model\.onnx cannot be loaded by ONNX Runtime/,
    );
    await expect(register('broken-model', { 'model.onnx': Buffer.from('not a model at all'), 'scoring.json': contract })).rejects.toThrow(
      /model\.onnx cannot be loaded by ONNX Runtime/,
    );
    await expect(register('broken-model', { 'model.onnx': fixtures.twoInputs.model, 'scoring.json': fixtures.twoInputs.contract })).rejects.toThrow(
      /model\.onnx takes 2 inputs \(input_ids .*, attention_mask .*\); the scoring contract feeds exactly one, input_ids/,
    );
    await expect(register('broken-model', { 'model.onnx': fixtures.intOutput.model, 'scoring.json': fixtures.intOutput.contract })).rejects.toThrow(
      /model\.onnx's output probability \(int64 .*\) must be a float32 or float64 tensor/,
    );
    // The fixture's logits for its probe texts are small; scaled weights make them leave 0..1 for sure.
    const logitAsProbability = JSON.stringify({ ...JSON.parse(fixtures.logit.contract.toString()), output: { name: 'logit', kind: 'probability' } });
    await expect(register('broken-model', { 'model.onnx': fixtures.logitWide.model, 'scoring.json': logitAsProbability })).rejects.toThrow(
      /gave -?\d.* as a probability .*"kind": "logit"/,
    );
  });

  it('a model.onnx changed in the blob store after its version was created is never scored: the read fails its hash check', async () => {
    const { register } = services({ onnx: true });
    const { model, contract } = fixtures.logitWide; // bytes no other test stores: this one damages them
    const version = await register('tampered', { 'model.onnx': model, 'scoring.json': contract });
    const onnx = (await services({ onnx: true }).artifacts.listOfVersions([version.id])).find((a) => a.name.endsWith('model.onnx'));
    const stored = join(h.root, 'blobs', 'sha256', onnx?.sha256.slice(0, 2) ?? '', onnx?.sha256 ?? '');
    const bytes = readFileSync(stored);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] ?? 0) ^ 0x01; // one bit of one weight: a model that still loads
    chmodSync(stored, 0o644);
    writeFileSync(stored, bytes);
    const cold = services({ onnx: true }); // a fresh loader, as after a restart: nothing cached
    await expect(cold.scoring.score('tampered', { version: version.version }, ['a text'])).rejects.toThrow(/sha-?256|hash|corrupt/i);
    expect(cold.loader.stats()).toEqual({ bytes: 0, models: 0 });
  });

  it('a pushed version (files checked before its records exist) is refused the same way', async () => {
    const { versions, models } = services({ onnx: true });
    const { sha256, size } = await h.blobs.put(Readable.from([Buffer.from('{"format":"tflite"}')]));
    const model = await h.blobs.put(Readable.from([fixtures.probability.model]));
    const bundle = {
      model: { name: 'pushed', description: '', tags: [], metadata: {} },
      version: { version: 3, description: '', metrics: {}, tags: [] },
      artifacts: [
        { name: 'output/model/scoring.json', type: 'model' as const, mediaType: 'application/json', sha256, size, metadata: {} },
        {
          name: 'output/model/model.onnx',
          type: 'model' as const,
          mediaType: 'application/octet-stream',
          sha256: model.sha256,
          size: model.size,
          metadata: {},
        },
      ],
    };
    await expect(importBundledVersion({ models, versions }, bundle, 'test', {})).rejects.toThrow(/scoring contract: format/);
  });

  it('with ONNX loading off (a shared server by default) checks scoring.json only, loads no model, and scoring says how to turn it on', async () => {
    const { register, scoring, loader } = services({ onnx: false });
    // Loading off: a model ONNX Runtime would refuse is not even parsed; the contract still is.
    await register('unloaded', { 'model.onnx': Buffer.from('never parsed here'), 'scoring.json': fixtures.probability.contract });
    await expect(register('unloaded', { 'model.onnx': fixtures.probability.model, 'scoring.json': '{}' })).rejects.toThrow(/scoring contract/);
    await expect(scoring.score('unloaded', undefined, ['a text'])).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringMatching(/TRAINYARD_SCORING=on/),
    });
    expect(loader.stats()).toEqual({ bytes: 0, models: 0 });
  });

  it('a version without scoring files cannot be scored, and says what it lacks', async () => {
    const { register, scoring } = services({ onnx: true });
    await register('plain', { 'weights.safetensors': Buffer.from('weights') });
    await expect(scoring.score('plain', undefined, ['a'])).rejects.toThrow(/no model to score with: an ONNX model \(scoring\.json and model\.onnx/);
  });

  it('keeps loaded models within its byte bound: versions sharing files share one loaded model', async () => {
    const { register, scoring, loader } = services({ onnx: true });
    const files = { 'model.onnx': fixtures.probability.model, 'scoring.json': fixtures.probability.contract };
    await register('shared-files', files);
    await register('shared-files', files);
    await scoring.score('shared-files', { version: 1 }, ['a']);
    await scoring.score('shared-files', { version: 2 }, ['a']);
    expect(loader.stats()).toEqual({ bytes: fixtures.probability.model.length, models: 1 });
  });
});
