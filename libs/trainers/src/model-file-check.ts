import type { ArtifactService } from '@trainyard/artifacts';
import type { ModelFileCheck } from '@trainyard/registry';
import type { ModelLoader } from './scorable-model';

/** The model registry's ModelFileCheck port: a version's scoring files are checked before it is created. */
export const createModelFileCheck = (deps: { artifacts: Pick<ArtifactService, 'get'>; loader: ModelLoader }): ModelFileCheck => ({
  async checkArtifacts(artifactIds) {
    const artifacts = await Promise.all(artifactIds.map((id) => deps.artifacts.get(id)));
    await deps.loader.check(artifacts);
  },
  checkFiles: (files) => deps.loader.check(files),
});
