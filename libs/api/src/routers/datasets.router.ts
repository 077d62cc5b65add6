import { createSnapshotInput, listSnapshotsInput, snapshotIdInput, snapshotOutput, snapshotPageOutput } from '@trainyard/contracts';
import { scopedProcedure, router } from '../trpc';

export const datasetsRouter = router({
  createSnapshot: scopedProcedure
    .input(createSnapshotInput)
    .output(snapshotOutput)
    .mutation(({ ctx, input }) => ctx.services.snapshots.create(input)),
  get: scopedProcedure
    .input(snapshotIdInput)
    .output(snapshotOutput)
    .query(({ ctx, input }) => ctx.services.snapshots.get(input.id)),
  list: scopedProcedure
    .input(listSnapshotsInput)
    .output(snapshotPageOutput)
    .query(({ ctx, input }) => ctx.services.snapshots.list(input.limit, input.cursor)),
});
