import { createSnapshotInput, listSnapshotsInput, snapshotIdInput } from '@trainyard/contracts';
import { scopedProcedure, router } from '../trpc';

export const datasetsRouter = router({
  createSnapshot: scopedProcedure.input(createSnapshotInput).mutation(({ ctx, input }) => ctx.services.snapshots.create(input)),
  get: scopedProcedure.input(snapshotIdInput).query(({ ctx, input }) => ctx.services.snapshots.get(input.id)),
  list: scopedProcedure.input(listSnapshotsInput).query(({ ctx, input }) => ctx.services.snapshots.list(input.limit, input.cursor)),
});
