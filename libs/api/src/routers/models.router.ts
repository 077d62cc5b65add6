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
import { publicProcedure, router } from '../trpc';

export const modelsRouter = router({
  register: publicProcedure.input(registerModelInput).mutation(({ ctx, input }) => ctx.services.models.register(input, ctx.actor)),
  get: publicProcedure.input(modelRefInput).query(({ ctx, input }) => ctx.services.models.get(input.model)),
  list: publicProcedure.input(listModelsInput).query(({ ctx, input }) => ctx.services.models.list(input)),
  update: publicProcedure
    .input(updateModelInput)
    .mutation(({ ctx, input: { model, ...changes } }) => ctx.services.models.update(model, changes, ctx.actor)),
  archive: publicProcedure.input(modelRefInput).mutation(({ ctx, input }) => ctx.services.models.archive(input.model, ctx.actor)),
  createVersion: publicProcedure.input(createVersionInput).mutation(({ ctx, input }) => ctx.services.versions.create(input, ctx.actor)),
  getVersion: publicProcedure.input(getVersionInput).query(({ ctx, input }) => ctx.services.versions.get(input.model, input.ref)),
  listVersions: publicProcedure
    .input(listVersionsInput)
    .query(({ ctx, input }) => ctx.services.versions.list(input.model, input.limit, input.cursor)),
  setAlias: publicProcedure.input(setAliasInput).mutation(({ ctx, input }) => ctx.services.versions.setAlias(input, ctx.actor)),
  removeAlias: publicProcedure
    .input(removeAliasInput)
    .mutation(({ ctx, input }) => ctx.services.versions.removeAlias(input.model, input.alias, ctx.actor)),
  setActive: publicProcedure
    .input(setActiveInput)
    .mutation(({ ctx, input }) => ctx.services.versions.setActive(input.model, input.version, ctx.actor)),
  setTags: publicProcedure.input(setTagsInput).mutation(async ({ ctx, input }) =>
    input.version === undefined
      ? { model: await ctx.services.models.setTags(input.model, input.tags, ctx.actor), version: null }
      : { model: null, version: await ctx.services.versions.setTags(input.model, input.version, input.tags, ctx.actor) },
  ),
  lineage: publicProcedure.input(lineageInput).query(({ ctx, input }) => lineageGraph(ctx.services.database.sql, input.model, input.version)),
  /** Detection scores (0..1, probability of machine-written) from a text-detector version. */
  score: publicProcedure.input(scoreInput).query(({ ctx, input }) => ctx.services.scoring.score(input.model, input.ref, input.texts)),
  events: publicProcedure.input(modelEventsInput).query(({ ctx, input }) => ctx.services.models.events(input.model, input.limit, input.cursor)),
});
