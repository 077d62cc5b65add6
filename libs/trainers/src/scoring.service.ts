import type { ArtifactService } from '@trainyard/artifacts';
import type { ScoreVersionChoice, VersionRef } from '@trainyard/contracts';
import { DomainError, isDomainError } from '@trainyard/core';
import type { ModelVersionService } from '@trainyard/registry';
import { type ModelLoader, scorableFiles } from './scorable-model';

/**
 * Scores texts with a model version: an ONNX model that follows the scoring contract
 * (scoring.json + model.onnx, any framework), or a built-in text-detector version. The model is
 * loaded once from the blob store (every byte hash-verified) and kept in the loader's cache.
 */
export const createScoringService = (deps: { versions: ModelVersionService; artifacts: Pick<ArtifactService, 'listOfVersions'>; loader: ModelLoader }) => {
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
      const files = scorableFiles(await deps.artifacts.listOfVersions([version.id]));
      if (!files) {
        throw new DomainError(
          'FAILED_PRECONDITION',
          `Version ${version.version} of ${model} has no model to score with: an ONNX model (scoring.json and model.onnx artifacts) or a text-detector model (config.json and model.bin)`,
          { model, version: version.version },
        );
      }
      const scores = await deps.loader.withScorer(files, (scorer) => scorer.score(texts));
      return { model, version: version.version, chosenBy, scores };
    },
  };
};

export type ScoringService = ReturnType<typeof createScoringService>;
