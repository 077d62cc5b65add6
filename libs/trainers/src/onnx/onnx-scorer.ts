import type { InferenceSession } from 'onnxruntime-node';
import type { ScoringContract } from './scoring-contract';
import { encodeUtf8Bytes } from './utf8-bytes';

/**
 * Ids per inference call (batch × maxLength). Small batches keep a convolution's intermediate
 * buffers in the CPU's caches: the PyTorch example (maxLength 512) scored ~10 000 texts/s in
 * batches of 32 against ~4 600 in batches of 256 (2 threads).
 */
const IDS_PER_RUN = 16_384;
/** Texts per inference call at most: larger batches gain nothing on a CPU. */
const MAX_BATCH = 256;
/** Slack for a `probability` output computed in float32 (a sigmoid can round to 1.0000001). */
const PROBABILITY_SLACK = 1e-5;
const PROBE_TEXTS = ['Trainyard checks this model before anyone scores with it.', ''];

export interface OnnxScorer {
  contract: ScoringContract;
  /** model.onnx's size: what the session cache counts. */
  bytes: number;
  /** Probability that each text is machine-written (0..1), in order. */
  score(texts: readonly string[]): Promise<number[]>;
  release(): Promise<void>;
}

/** A broken model: the message says what, in words a model author can act on. */
export class OnnxModelError extends Error {}

// The native runtime is loaded on the first ONNX model only: a server that never scores one never maps it.
let runtime: Promise<typeof import('onnxruntime-node')> | undefined;
const onnxRuntime = (): Promise<typeof import('onnxruntime-node')> => (runtime ??= import('onnxruntime-node'));

const describeValue = (metadata: InferenceSession.ValueMetadata): string =>
  metadata.isTensor ? `${metadata.name} (${metadata.type} [${metadata.shape.join(', ')}])` : `${metadata.name} (not a tensor)`;

/** The contract's input and output against what the model declares. */
const checkSignature = (session: InferenceSession, contract: ScoringContract): void => {
  const inputs = session.inputMetadata;
  const input = inputs.find((value) => value.name === contract.input.name);
  if (!input) throw new OnnxModelError(`model.onnx has no input named ${contract.input.name} (its inputs: ${inputs.map(describeValue).join(', ')})`);
  if (inputs.length !== 1) {
    throw new OnnxModelError(
      `model.onnx takes ${inputs.length} inputs (${inputs.map(describeValue).join(', ')}); the scoring contract feeds exactly one, ${contract.input.name}`,
    );
  }
  if (!input.isTensor || input.type !== 'int64') {
    throw new OnnxModelError(`model.onnx's input ${describeValue(input)} must be an int64 tensor: utf8-bytes ids are int64`);
  }
  const [, length] = input.shape;
  if (input.shape.length !== 2 || (typeof length === 'number' && length !== contract.input.maxLength)) {
    throw new OnnxModelError(`model.onnx's input ${describeValue(input)} must have shape [batch, ${contract.input.maxLength}] (scoring.json's maxLength)`);
  }
  const outputs = session.outputMetadata;
  const output = outputs.find((value) => value.name === contract.output.name);
  if (!output) throw new OnnxModelError(`model.onnx has no output named ${contract.output.name} (its outputs: ${outputs.map(describeValue).join(', ')})`);
  if (!output.isTensor || (output.type !== 'float32' && output.type !== 'float64')) {
    throw new OnnxModelError(`model.onnx's output ${describeValue(output)} must be a float32 or float64 tensor`);
  }
};

/**
 * Loads `model.onnx` with ONNX Runtime on the CPU and checks it against its scoring contract: the
 * named input and output exist with the right types and shapes, and a probe batch of two texts
 * gives two finite scores (in 0..1 for a `probability` output). Any failure is an OnnxModelError.
 */
export const loadOnnxScorer = async (model: Uint8Array, contract: ScoringContract, options: { threads?: number } = {}): Promise<OnnxScorer> => {
  const ort = await onnxRuntime();
  let session: InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
      // Threads sleep between work instead of spinning: the server shares its cores with trainers, and spinning threads
      // on busy cores scored 1 556 texts/s against 3 089 sleeping (2 threads, batches of 256, machine at load 6).
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
  } catch (error) {
    throw new OnnxModelError(`model.onnx cannot be loaded by ONNX Runtime: ${(error as Error).message}`);
  }
  const { maxLength } = contract.input;
  const batchSize = Math.max(1, Math.min(MAX_BATCH, Math.floor(IDS_PER_RUN / maxLength)));

  const run = async (texts: readonly string[]): Promise<number[]> => {
    const ids = new ort.Tensor('int64', encodeUtf8Bytes(texts, maxLength), [texts.length, maxLength]);
    let result: InferenceSession.ReturnType;
    try {
      result = await session.run({ [contract.input.name]: ids }, [contract.output.name]);
    } catch (error) {
      throw new OnnxModelError(`model.onnx failed on a batch of ${texts.length} texts: ${(error as Error).message}`);
    }
    const output = result[contract.output.name];
    const values = output?.data;
    if (!output || !(values instanceof Float32Array || values instanceof Float64Array) || values.length !== texts.length) {
      throw new OnnxModelError(
        `model.onnx's output ${contract.output.name} has shape [${output?.dims.join(', ') ?? ''}] for ${texts.length} texts; it must hold one score per text ([batch] or [batch, 1])`,
      );
    }
    return Array.from(values, (value, index) => {
      if (!Number.isFinite(value)) throw new OnnxModelError(`model.onnx gave a non-finite score (${value}) for text ${index} of a batch`);
      if (contract.output.kind === 'logit') return 1 / (1 + Math.exp(-value));
      if (value < -PROBABILITY_SLACK || value > 1 + PROBABILITY_SLACK) {
        throw new OnnxModelError(
          `model.onnx gave ${value} as a probability (scoring.json says its output is a probability: 0..1; use "kind": "logit" for log-odds)`,
        );
      }
      return Math.min(1, Math.max(0, value));
    });
  };

  const scorer: OnnxScorer = {
    contract,
    bytes: model.byteLength,
    async score(texts) {
      const scores: number[] = [];
      for (let start = 0; start < texts.length; start += batchSize) scores.push(...(await run(texts.slice(start, start + batchSize))));
      return scores;
    },
    release: () => session.release(),
  };
  try {
    checkSignature(session, contract);
    await scorer.score(PROBE_TEXTS);
  } catch (error) {
    await session.release().catch(() => undefined);
    throw error;
  }
  return scorer;
};
