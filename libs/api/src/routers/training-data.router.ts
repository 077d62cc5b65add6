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
import { scopedProcedure, router } from '../trpc';

export const trainingDataRouter = router({
  collect: scopedProcedure.input(pairInput).mutation(({ ctx, input }) => ctx.services.trainingData.collect(input)),
  collectBatch: scopedProcedure
    .input(collectBatchInput)
    .mutation(async ({ ctx, input }) => ({ results: await ctx.services.trainingData.collectBatch(input.items) })),
  get: scopedProcedure.input(dataPointIdInput).query(({ ctx, input }) => ctx.services.trainingData.get(input.id)),
  list: scopedProcedure.input(listDataInput).query(({ ctx, input }) => ctx.services.trainingData.list(input.filter, input.limit, input.cursor)),
  setFeedback: scopedProcedure
    .input(setFeedbackInput)
    .mutation(({ ctx, input }) => ctx.services.trainingData.setFeedback(input.id, input.rating, input.comment)),
  exclude: scopedProcedure.input(dataPointIdInput).mutation(({ ctx, input }) => ctx.services.trainingData.setExcluded(input.id, true)),
  include: scopedProcedure.input(dataPointIdInput).mutation(({ ctx, input }) => ctx.services.trainingData.setExcluded(input.id, false)),
  /** Bulk: every pair the filter matches; `{ changed }` is how many switched state. */
  setExcludedMatching: scopedProcedure
    .input(setExcludedMatchingInput)
    .mutation(async ({ ctx, input }) => ({ changed: await ctx.services.trainingData.setExcludedMatching(input.filter, input.excluded) })),
  stats: scopedProcedure.input(dataStatsInput).query(({ ctx, input }) => ctx.services.trainingData.stats(input.filter)),
  /** `{ count }` of pairs `list` returns for the filter: what a snapshot of it freezes. */
  count: scopedProcedure.input(countDataInput).query(async ({ ctx, input }) => ({ count: await ctx.services.trainingData.count(input.filter) })),
});
