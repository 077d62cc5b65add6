import {
  collectBatchInput,
  countDataInput,
  dataPointIdInput,
  dataStatsInput,
  listDataInput,
  pairInput,
  setExcludedMatchingInput,
  setFeedbackInput,
} from '@trainyard/contracts';
import { publicProcedure, router } from '../trpc';

export const trainingDataRouter = router({
  collect: publicProcedure.input(pairInput).mutation(({ ctx, input }) => ctx.services.trainingData.collect(input)),
  collectBatch: publicProcedure
    .input(collectBatchInput)
    .mutation(async ({ ctx, input }) => ({ results: await ctx.services.trainingData.collectBatch(input.items) })),
  get: publicProcedure.input(dataPointIdInput).query(({ ctx, input }) => ctx.services.trainingData.get(input.id)),
  list: publicProcedure
    .input(listDataInput)
    .query(({ ctx, input }) => ctx.services.trainingData.list(input.filter, input.limit, input.cursor)),
  setFeedback: publicProcedure
    .input(setFeedbackInput)
    .mutation(({ ctx, input }) => ctx.services.trainingData.setFeedback(input.id, input.rating, input.comment)),
  exclude: publicProcedure.input(dataPointIdInput).mutation(({ ctx, input }) => ctx.services.trainingData.setExcluded(input.id, true)),
  include: publicProcedure.input(dataPointIdInput).mutation(({ ctx, input }) => ctx.services.trainingData.setExcluded(input.id, false)),
  /** Bulk: every pair the filter matches; `{ changed }` is how many switched state. */
  setExcludedMatching: publicProcedure
    .input(setExcludedMatchingInput)
    .mutation(async ({ ctx, input }) => ({ changed: await ctx.services.trainingData.setExcludedMatching(input.filter, input.excluded) })),
  stats: publicProcedure.input(dataStatsInput).query(({ ctx, input }) => ctx.services.trainingData.stats(input.filter)),
  /** `{ count }` of pairs `list` returns for the filter: what a snapshot of it freezes. */
  count: publicProcedure.input(countDataInput).query(async ({ ctx, input }) => ({ count: await ctx.services.trainingData.count(input.filter) })),
});
