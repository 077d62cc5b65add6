import { buffer } from 'node:stream/consumers';
import type { ArtifactService, BlobStore } from '@trainyard/artifacts';
import type { ScoreVersionChoice, VersionRef } from '@trainyard/contracts';
import { DomainError, isDomainError } from '@trainyard/core';
import type { ModelVersionService } from '@trainyard/registry';
import { loadDetector, type TextDetector } from './text-detector/detector';

const CACHE_SIZE = 8;

/**
 * Scores texts with a registered text-detector version: its artifacts are read from the blob
 * store (every byte hash-verified) once, then the loaded model is cached by version id.
 */
export const createScoringService = (deps: { versions: ModelVersionService; artifacts: ArtifactService; blobs: BlobStore }) => {
  const cache = new Map<string, Promise<TextDetector>>();

  const load = async (versionId: string, artifactIds: readonly string[]): Promise<TextDetector> => {
    const artifacts = await Promise.all(artifactIds.map((id) => deps.artifacts.get(id)));
    const find = (suffix: string) => artifacts.find((a) => a.type === 'model' && (a.name === suffix || a.name.endsWith(`/${suffix}`)));
    const [config, weights] = [find('config.json'), find('model.bin')];
    if (!config || !weights) {
      throw new DomainError('FAILED_PRECONDITION', 'This version has no text-detector model (config.json and model.bin artifacts)', { versionId });
    }
    const [configBytes, weightBytes] = await Promise.all([buffer(await deps.blobs.read(config.sha256)), buffer(await deps.blobs.read(weights.sha256))]);
    try {
      return loadDetector(configBytes.toString('utf8'), weightBytes);
    } catch (error) {
      throw new DomainError('FAILED_PRECONDITION', `Cannot load the model of this version: ${(error as Error).message}`, { versionId });
    }
  };

  /** Without `ref`: the active version, else the latest one (a freshly trained model has no active version yet). */
  const choose = async (model: string, ref: VersionRef | undefined) => {
    if (ref) return { version: await deps.versions.get(model, ref), chosenBy: 'ref' as const };
    const active = await deps.versions.get(model, { alias: 'active' }).catch((error: unknown) => {
      if (isDomainError(error) && error.code === 'NOT_FOUND') return undefined;
      throw error;
    });
    if (active) return { version: active, chosenBy: 'active' as const };
    return { version: await deps.versions.get(model, { alias: 'latest' }), chosenBy: 'latest' as const };
  };

  return {
    /** `chosenBy` says which version scored: the `ref` given, the active one, or the latest (no ref, no active version). */
    async score(
      model: string,
      ref: VersionRef | undefined,
      texts: readonly string[],
    ): Promise<{ model: string; version: number; chosenBy: ScoreVersionChoice; scores: number[] }> {
      const { version, chosenBy } = await choose(model, ref);
      let detector = cache.get(version.id);
      if (!detector) {
        detector = load(version.id, version.artifactIds);
        cache.set(version.id, detector);
        detector.catch(() => cache.delete(version.id));
        if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value ?? '');
      }
      return { model, version: version.version, chosenBy, scores: (await detector).score(texts) };
    },
  };
};

export type ScoringService = ReturnType<typeof createScoringService>;
