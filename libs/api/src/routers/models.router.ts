import {
  createVersionInput,
  getVersionInput,
  lineageInput,
  listModelsInput,
  listVersionsInput,
  modelEventsInput,
  modelRefInput,
  registerModelInput,
  removeAliasInput,
  scoreInput,
  setActiveInput,
  setAliasInput,
  setTagsInput,
  updateModelInput,
} from '@trainyard/contracts';
import { lineageGraph } from '@trainyard/registry';
import { scopedProcedure, router } from '../trpc';

export const modelsRouter = router({
  register: scopedProcedure.input(registerModelInput).mutation(({ ctx, input }) => ctx.services.models.register(input, ctx.actor)),
  get: scopedProcedure.input(modelRefInput).query(({ ctx, input }) => ctx.services.models.get(input.model)),
  list: scopedProcedure.input(listModelsInput).query(({ ctx, input }) => ctx.services.models.list(input)),
  update: scopedProcedure.input(updateModelInput).mutation(({ ctx, input: { model, ...changes } }) => ctx.services.models.update(model, changes, ctx.actor)),
  archive: scopedProcedure.input(modelRefInput).mutation(({ ctx, input }) => ctx.services.models.archive(input.model, ctx.actor)),
  createVersion: scopedProcedure.input(createVersionInput).mutation(({ ctx, input }) => ctx.services.versions.create(input, ctx.actor)),
  getVersion: scopedProcedure.input(getVersionInput).query(({ ctx, input }) => ctx.services.versions.get(input.model, input.ref)),
  listVersions: scopedProcedure.input(listVersionsInput).query(({ ctx, input }) => ctx.services.versions.list(input.model, input.limit, input.cursor)),
  setAlias: scopedProcedure.input(setAliasInput).mutation(({ ctx, input }) => ctx.services.versions.setAlias(input, ctx.actor)),
  removeAlias: scopedProcedure.input(removeAliasInput).mutation(({ ctx, input }) => ctx.services.versions.removeAlias(input.model, input.alias, ctx.actor)),
  setActive: scopedProcedure.input(setActiveInput).mutation(({ ctx, input }) => ctx.services.versions.setActive(input.model, input.version, ctx.actor)),
  setTags: scopedProcedure
    .input(setTagsInput)
    .mutation(async ({ ctx, input }) =>
      input.version === undefined
        ? { model: await ctx.services.models.setTags(input.model, input.tags, ctx.actor), version: null }
        : { model: null, version: await ctx.services.versions.setTags(input.model, input.version, input.tags, ctx.actor) },
    ),
  lineage: scopedProcedure.input(lineageInput).query(({ ctx, input }) => lineageGraph(ctx.services.database.sql, input.model, input.version)),
  /** Detection scores (0..1, probability of machine-written) from a text-detector version. */
  score: scopedProcedure.input(scoreInput).query(({ ctx, input }) => ctx.services.scoring.score(input.model, input.ref, input.texts)),
  events: scopedProcedure.input(modelEventsInput).query(({ ctx, input }) => ctx.services.models.events(input.model, input.limit, input.cursor)),
});
