import type { ArtifactService } from '@trainyard/artifacts';
import type { ModelFileCheck } from '@trainyard/registry';
import type { ModelLoader } from './scorable-model';

/** The model registry's ModelFileCheck port: a version's scoring files are checked before it is created. */
export const createModelFileCheck = (deps: { artifacts: Pick<ArtifactService, 'getMany'>; loader: ModelLoader }): ModelFileCheck => ({
  // One query however many artifacts; an id that does not exist fails the version's creation when it is linked.
  checkArtifacts: async (artifactIds) => deps.loader.check(await deps.artifacts.getMany(artifactIds)),
  checkFiles: (files, readable) => deps.loader.check(files, readable),
});
