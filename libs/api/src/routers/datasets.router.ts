import { createSnapshotInput, listSnapshotsInput, snapshotIdInput } from '@trainyard/contracts';
import { publicProcedure, router } from '../trpc';

export const datasetsRouter = router({
  createSnapshot: publicProcedure.input(createSnapshotInput).mutation(({ ctx, input }) => ctx.services.snapshots.create(input)),
  get: publicProcedure.input(snapshotIdInput).query(({ ctx, input }) => ctx.services.snapshots.get(input.id)),
  list: publicProcedure.input(listSnapshotsInput).query(({ ctx, input }) => ctx.services.snapshots.list(input.limit, input.cursor)),
});
