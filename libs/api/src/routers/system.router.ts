import { emptyInput, healthOutput } from '@trainyard/contracts';
import { scopedProcedure, router } from '../trpc';

export const systemRouter = router({
  health: scopedProcedure
    .input(emptyInput)
    .output(healthOutput)
    .query(async ({ ctx }) => {
      const database = await ctx.services.system.checkDatabase();
      const corrupt = ctx.services.blobs.corruptBlobs();
      return {
        status: 'ok' as const,
        version: ctx.services.version,
        database,
        corruptBlobs: { count: corrupt.length, items: corrupt.slice(0, 100).map(({ sha256, detectedAt }) => ({ sha256, detectedAt })) },
      };
    }),
});
