import { createSnapshotInput, deletedSnapshotOutput, listSnapshotsInput, snapshotIdInput, snapshotOutput, snapshotPageOutput } from '@trainyard/contracts';
import { adminProcedure, scopedProcedure, router } from '../trpc';

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
  /** Hard delete (an admin token on a shared server; the local session may): refused while jobs or versions name the snapshot. */
  delete: adminProcedure
    .input(snapshotIdInput)
    .output(deletedSnapshotOutput)
    .mutation(({ ctx, input }) => ctx.services.snapshots.delete(input.id)),
});
