import { emptyInput, healthOutput } from '@trainyard/contracts';
import { scopedProcedure, router } from '../trpc';

export const systemRouter = router({
  health: scopedProcedure
    .input(emptyInput)
    .output(healthOutput)
    .query(async ({ ctx }) => {
      await ctx.services.database.sql.query('SELECT 1');
      const corrupt = ctx.services.blobs.corruptBlobs();
      return {
        status: 'ok' as const,
        version: ctx.services.version,
        database: ctx.services.database.kind,
        corruptBlobs: { count: corrupt.length, items: corrupt.slice(0, 100).map(({ sha256, detectedAt }) => ({ sha256, detectedAt })) },
      };
    }),
});
