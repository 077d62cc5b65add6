import { buffer } from 'node:stream/consumers';
import type { BlobStore } from '@trainyard/artifacts';
import { DomainError } from '@trainyard/core';
import type { VersionFile } from '@trainyard/registry';
import { createLoadedModelCache } from './loaded-model-cache';
import { loadOnnxScorer, OnnxModelError } from './onnx/onnx-scorer';
import { MAX_CONTRACT_BYTES, parseScoringContract } from './onnx/scoring-contract';
import { loadDetector } from './text-detector/detector';

/** A model that scores texts: P(machine-written) for each, in order. */
export interface Scorer {
  bytes: number;
  score(texts: readonly string[]): Promise<number[]>;
  release(): Promise<void>;
}

/** The files that make a version scorable: an ONNX model and its scoring contract, or a built-in text detector. */
export type ScorableFiles =
  { kind: 'onnx'; contract: VersionFile; model: VersionFile | undefined } | { kind: 'text-detector'; config: VersionFile; weights: VersionFile };

const named = (files: readonly VersionFile[], name: string): VersionFile[] =>
  files.filter((file) => file.type === 'model' && (file.name === name || file.name.endsWith(`/${name}`)));

const refused = (message: string): DomainError => new DomainError('INVALID_ARGUMENT', message);

/** Which model of a version scores (`scoring.json` wins over a text detector's files); undefined when none. */
export const scorableFiles = (files: readonly VersionFile[]): ScorableFiles | undefined => {
  const contracts = named(files, 'scoring.json');
  if (contracts.length > 1) throw refused(`A version holds one scoring.json; this one has ${contracts.length}: ${contracts.map((f) => f.name).join(', ')}`);
  const [contract] = contracts;
  if (contract) {
    const models = named(files, 'model.onnx');
    if (models.length > 1) throw refused(`A version holds one model.onnx; this one has ${models.length}: ${models.map((f) => f.name).join(', ')}`);
    return { kind: 'onnx', contract, model: models[0] };
  }
  const [config] = named(files, 'config.json');
  const [weights] = named(files, 'model.bin');
  return config && weights ? { kind: 'text-detector', config, weights } : undefined;
};

export interface ModelLoaderOptions {
  blobs: BlobStore;
  /**
   * Whether ONNX models are loaded at all: ONNX Runtime is a native parser, so a shared server
   * loads pushed models only when its operator turns scoring on (docs/security.md).
   */
  onnx: boolean;
  /** Bytes of loaded models kept in memory (least recently used out first). */
  cacheBytes: number;
  /** ONNX Runtime's threads per inference (default: ONNX Runtime's, about the cores). */
  threads?: number;
}

/**
 * Loads scorable models from the blob store (every byte hash-verified as it is read) and keeps
 * them in a cache bounded by bytes, keyed by the model files' hashes: versions with the same
 * files share one loaded model, and a model loaded by its registration check is warm for scoring.
 */
export const createModelLoader = (options: ModelLoaderOptions) => {
  const cache = createLoadedModelCache<Scorer>(options.cacheBytes);
  const read = async (file: VersionFile): Promise<Buffer> => buffer(await options.blobs.read(file.sha256));

  const onnxOff = (): DomainError =>
    new DomainError(
      'FAILED_PRECONDITION',
      'Scoring ONNX models is off on this server: it would load model files pushed by others in a native parser. Its operator turns it on with TRAINYARD_SCORING=on (docs/security.md).',
    );

  const loadOnnx = async (files: Extract<ScorableFiles, { kind: 'onnx' }>, withModel: boolean): Promise<Scorer | undefined> => {
    if (files.contract.size > MAX_CONTRACT_BYTES) throw refused(`scoring.json is ${files.contract.size} bytes; at most ${MAX_CONTRACT_BYTES}`);
    let contract;
    try {
      contract = parseScoringContract(await read(files.contract));
    } catch (error) {
      throw refused((error as Error).message);
    }
    if (!files.model) throw refused(`This version has scoring.json (${files.contract.name}) but no model.onnx model artifact beside it`);
    if (!withModel) return undefined;
    try {
      return await loadOnnxScorer(await read(files.model), contract, options.threads ? { threads: options.threads } : {});
    } catch (error) {
      if (error instanceof OnnxModelError) throw refused(error.message);
      throw error;
    }
  };

  const load = async (files: ScorableFiles): Promise<Scorer> => {
    if (files.kind === 'onnx') return (await loadOnnx(files, true)) as Scorer;
    const [config, weights] = await Promise.all([read(files.config), read(files.weights)]);
    let detector;
    try {
      detector = loadDetector(config.toString('utf8'), weights);
    } catch (error) {
      throw new DomainError('FAILED_PRECONDITION', `Cannot load the text-detector model of this version: ${(error as Error).message}`);
    }
    return { bytes: weights.length, score: async (texts) => detector.score(texts), release: async () => undefined };
  };

  const keyOf = (files: ScorableFiles): string =>
    files.kind === 'onnx' ? `onnx:${files.contract.sha256}:${files.model?.sha256 ?? ''}` : `detector:${files.config.sha256}:${files.weights.sha256}`;

  return {
    /** Runs `use` with the loaded model of these files. */
    async withScorer<T>(files: ScorableFiles, use: (scorer: Scorer) => Promise<T>): Promise<T> {
      if (files.kind === 'onnx' && !options.onnx) throw onnxOff();
      return cache.with(keyOf(files), () => load(files), use);
    },
    /**
     * Refuses a version whose scoring files are broken: scoring.json must follow the contract and
     * have a model.onnx beside it, and (when ONNX loading is on) the model must load and pass its
     * probe; it then stays loaded, warm for the first score. Without scoring files nothing is checked
     * (nor waited for: `readable` resolves once the files' blobs can be read).
     */
    async check(versionFiles: readonly VersionFile[], readable?: () => Promise<void>): Promise<void> {
      const files = scorableFiles(versionFiles);
      if (files?.kind !== 'onnx') return;
      await readable?.();
      if (!options.onnx) {
        await loadOnnx(files, false);
        return;
      }
      await cache.with(
        keyOf(files),
        () => load(files),
        async () => undefined,
      );
    },
    stats: () => cache.stats(),
  };
};

export type ModelLoader = ReturnType<typeof createModelLoader>;
