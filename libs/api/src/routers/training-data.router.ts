import {
  changedOutput,
  collectBatchInput,
  collectBatchOutput,
  collectOutput,
  countDataInput,
  countOutput,
  dataPointIdInput,
  dataPointOutput,
  dataPointPageOutput,
  dataStatsInput,
  dataStatsOutput,
  deletedPairsOutput,
  deletePairsInput,
  listDataInput,
  pairInput,
  setExcludedMatchingInput,
  setFeedbackInput,
} from '@trainyard/contracts';
import { adminProcedure, scopedProcedure, router } from '../trpc';

export const trainingDataRouter = router({
  collect: scopedProcedure
    .input(pairInput)
    .output(collectOutput)
    .mutation(({ ctx, input }) => ctx.services.trainingData.collect(input)),
  collectBatch: scopedProcedure
    .input(collectBatchInput)
    .output(collectBatchOutput)
    .mutation(async ({ ctx, input }) => ({ results: await ctx.services.trainingData.collectBatch(input.items) })),
  get: scopedProcedure
    .input(dataPointIdInput)
    .output(dataPointOutput)
    .query(({ ctx, input }) => ctx.services.trainingData.get(input.id)),
  list: scopedProcedure
    .input(listDataInput)
    .output(dataPointPageOutput)
    .query(({ ctx, input }) => ctx.services.trainingData.list(input.filter, input.limit, input.cursor)),
  setFeedback: scopedProcedure
    .input(setFeedbackInput)
    .output(dataPointOutput)
    .mutation(({ ctx, input }) => ctx.services.trainingData.setFeedback(input.id, input.rating, input.comment)),
  exclude: scopedProcedure
    .input(dataPointIdInput)
    .output(dataPointOutput)
    .mutation(({ ctx, input }) => ctx.services.trainingData.setExcluded(input.id, true)),
  include: scopedProcedure
    .input(dataPointIdInput)
    .output(dataPointOutput)
    .mutation(({ ctx, input }) => ctx.services.trainingData.setExcluded(input.id, false)),
  /** Bulk: every pair the filter matches; `{ changed }` is how many switched state. */
  setExcludedMatching: scopedProcedure
    .input(setExcludedMatchingInput)
    .output(changedOutput)
    .mutation(async ({ ctx, input }) => ({ changed: await ctx.services.trainingData.setExcludedMatching(input.filter, input.excluded) })),
  stats: scopedProcedure
    .input(dataStatsInput)
    .output(dataStatsOutput)
    .query(({ ctx, input }) => ctx.services.trainingData.stats(input.filter)),
  /** `{ count }` of pairs `list` returns for the filter: what a snapshot of it freezes. */
  count: scopedProcedure
    .input(countDataInput)
    .output(countOutput)
    .query(async ({ ctx, input }) => ({ count: await ctx.services.trainingData.count(input.filter) })),
  /** Hard delete by id (at most 1 000): an admin token on a shared server; the local session may. */
  deletePairs: adminProcedure
    .input(deletePairsInput)
    .output(deletedPairsOutput)
    .mutation(({ ctx, input }) => ctx.services.trainingData.deletePairs(input.ids)),
});
