import {
  createVersionInput,
  deletedVersionOutput,
  deleteVersionInput,
  getVersionInput,
  lineageGraphOutput,
  lineageInput,
  listModelsInput,
  listVersionsInput,
  modelEventPageOutput,
  modelEventsInput,
  modelOutput,
  modelPageOutput,
  modelRefInput,
  registerModelInput,
  removeAliasInput,
  removeAliasOutput,
  scoreInput,
  scoreOutput,
  setActiveInput,
  setActiveOutput,
  setAliasInput,
  setTagsInput,
  setTagsOutput,
  updateModelInput,
  versionOutput,
  versionPageOutput,
} from '@trainyard/contracts';
import { adminProcedure, scopedProcedure, router } from '../trpc';

export const modelsRouter = router({
  register: scopedProcedure
    .input(registerModelInput)
    .output(modelOutput)
    .mutation(({ ctx, input }) => ctx.services.models.register(input, ctx.actor)),
  get: scopedProcedure
    .input(modelRefInput)
    .output(modelOutput)
    .query(({ ctx, input }) => ctx.services.models.get(input.model)),
  list: scopedProcedure
    .input(listModelsInput)
    .output(modelPageOutput)
    .query(({ ctx, input }) => ctx.services.models.list(input)),
  update: scopedProcedure
    .input(updateModelInput)
    .output(modelOutput)
    .mutation(({ ctx, input: { model, ...changes } }) => ctx.services.models.update(model, changes, ctx.actor)),
  archive: scopedProcedure
    .input(modelRefInput)
    .output(modelOutput)
    .mutation(({ ctx, input }) => ctx.services.models.archive(input.model, ctx.actor)),
  createVersion: scopedProcedure
    .input(createVersionInput)
    .output(versionOutput)
    .mutation(({ ctx, input }) => ctx.services.versions.create(input, ctx.actor)),
  getVersion: scopedProcedure
    .input(getVersionInput)
    .output(versionOutput)
    .query(({ ctx, input }) => ctx.services.versions.get(input.model, input.ref)),
  listVersions: scopedProcedure
    .input(listVersionsInput)
    .output(versionPageOutput)
    .query(({ ctx, input }) => ctx.services.versions.list(input.model, input.limit, input.cursor)),
  /** Hard delete of one version (an admin token on a shared server; the local session may): refused while aliases, the active selection, child versions or jobs name it. */
  deleteVersion: adminProcedure
    .input(deleteVersionInput)
    .output(deletedVersionOutput)
    .mutation(({ ctx, input }) => ctx.services.versions.deleteVersion(input.model, input.version, ctx.actor)),
  setAlias: scopedProcedure
    .input(setAliasInput)
    .output(versionOutput)
    .mutation(({ ctx, input }) => ctx.services.versions.setAlias(input, ctx.actor)),
  removeAlias: scopedProcedure
    .input(removeAliasInput)
    .output(removeAliasOutput)
    .mutation(({ ctx, input }) => ctx.services.versions.removeAlias(input.model, input.alias, ctx.actor)),
  setActive: scopedProcedure
    .input(setActiveInput)
    .output(setActiveOutput)
    .mutation(({ ctx, input }) => ctx.services.versions.setActive(input.model, input.version, ctx.actor)),
  setTags: scopedProcedure
    .input(setTagsInput)
    .output(setTagsOutput)
    .mutation(async ({ ctx, input }) =>
      input.version === undefined
        ? { model: await ctx.services.models.setTags(input.model, input.tags, ctx.actor), version: null }
        : { model: null, version: await ctx.services.versions.setTags(input.model, input.version, input.tags, ctx.actor) },
    ),
  lineage: scopedProcedure
    .input(lineageInput)
    .output(lineageGraphOutput)
    .query(({ ctx, input }) => ctx.services.lineage.graph(input.model, input.version)),
  /** Detection scores (0..1, probability of machine-written) from an ONNX version (scoring contract) or a text-detector version. */
  score: scopedProcedure
    .input(scoreInput)
    .output(scoreOutput)
    .query(({ ctx, input }) => ctx.services.scoring.score(input.model, input.ref, input.texts)),
  events: scopedProcedure
    .input(modelEventsInput)
    .output(modelEventPageOutput)
    .query(({ ctx, input }) => ctx.services.models.events(input.model, input.limit, input.cursor)),
});
