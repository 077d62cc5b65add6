import {
  addRemoteInput,
  completedUploadOutput,
  completeUploadInput,
  describeVersionInput,
  stageArtifactsInput,
  stagedArtifactsOutput,
  versionArtifactsInput,
  versionArtifactsOutput,
  missingBlobsInput,
  missingBlobsOutput,
  outboxEntriesOutput,
  outboxEntryOutput,
  type OutboxEntryOutput,
  outboxIdInput,
  outboxProgressOutput,
  pullInput,
  pushInput,
  receivedVersionOutput,
  receiveVersionInput,
  remoteOutput,
  remoteRefInput,
  remotesOutput,
  removedRemoteOutput,
  startUploadInput,
  syncStatusInput,
  uploadPlanOutput,
  versionBundleOutput,
  pushDatasetInput,
  pullDatasetInput,
  remoteSnapshotsInput,
  receiveSnapshotInput,
  pushedDatasetOutput,
  pulledDatasetOutput,
  receivedSnapshotOutput,
  describedSnapshotOutput,
  snapshotIdInput,
  snapshotPageOutput,
} from '@trainyard/contracts';
import { z } from 'zod';
import { createEventQueue } from '../event-queue';
import { scopedProcedure, router } from '../trpc';

export const syncRouter = router({
  // This machine's side: remotes and the outbox of pushes and pulls.
  addRemote: scopedProcedure
    .input(addRemoteInput)
    .output(remoteOutput)
    .mutation(({ ctx, input }) => ctx.services.sync.addRemote(input)),
  removeRemote: scopedProcedure
    .input(remoteRefInput)
    .output(removedRemoteOutput)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.sync.removeRemote(input.name);
      return { removed: input.name };
    }),
  listRemotes: scopedProcedure.output(remotesOutput).query(({ ctx }) => ctx.services.sync.listRemotes()),
  push: scopedProcedure
    .input(pushInput)
    .output(outboxEntryOutput)
    .mutation(({ ctx, input }) => ctx.services.sync.push(input.remote, input.model, input.ref, { includeDataset: input.includeDataset })),
  pull: scopedProcedure
    .input(pullInput)
    .output(outboxEntryOutput)
    .mutation(({ ctx, input }) => ctx.services.sync.pull(input.remote, input.model, input.ref)),
  status: scopedProcedure
    .input(syncStatusInput)
    .output(outboxEntriesOutput)
    .query(({ ctx, input }) => ctx.services.sync.status(input.limit)),
  get: scopedProcedure
    .input(outboxIdInput)
    .output(outboxEntryOutput)
    .query(({ ctx, input }) => ctx.services.sync.get(input.id)),
  retry: scopedProcedure
    .input(outboxIdInput)
    .output(outboxEntryOutput)
    .mutation(({ ctx, input }) => ctx.services.sync.retry(input.id)),
  cancel: scopedProcedure
    .input(outboxIdInput)
    .output(outboxEntryOutput)
    .mutation(({ ctx, input }) => ctx.services.sync.cancel(input.id)),
  /** A dataset snapshot alone to / from a remote (`trainyard push-dataset` / `pull-dataset`), carried out at once. */
  pushDataset: scopedProcedure
    .input(pushDatasetInput)
    .output(pushedDatasetOutput)
    .mutation(({ ctx, input }) => ctx.services.sync.pushDataset(input.remote, input.snapshotId)),
  pullDataset: scopedProcedure
    .input(pullDatasetInput)
    .output(pulledDatasetOutput)
    .mutation(({ ctx, input }) => ctx.services.sync.pullDataset(input.remote, input.snapshotId)),
  /** The snapshots a remote holds (`trainyard datasets list --remote NAME`). */
  remoteSnapshots: scopedProcedure
    .input(remoteSnapshotsInput)
    .output(snapshotPageOutput)
    .query(({ ctx, input }) => ctx.services.sync.remoteSnapshots(input.remote, input.limit, input.cursor)),
  /** Live state and bytes of outbox entries (all, or one with `id`), starting with their current state; each checked against the contract as it is sent. */
  progress: scopedProcedure
    .input(z.strictObject({ id: z.uuid().optional() }))
    .output(outboxProgressOutput)
    .subscription(async function* ({ ctx, input, signal }) {
      const events = createEventQueue<OutboxEntryOutput>(signal);
      const unsubscribe = ctx.services.sync.onProgress((entry) => {
        if (!input.id || entry.id === input.id) events.push(entry);
      });
      try {
        if (input.id) yield await ctx.services.sync.get(input.id);
        yield* events.drain();
      } finally {
        unsubscribe();
      }
    }),

  // The shared server's side, called by other machines' sync workers.
  missingBlobs: scopedProcedure
    .input(missingBlobsInput)
    .output(missingBlobsOutput)
    .mutation(({ ctx, input }) => ctx.services.exchange.missingBlobs(input.hashes)),
  startUpload: scopedProcedure
    .input(startUploadInput)
    .output(uploadPlanOutput)
    .mutation(({ ctx, input }) => ctx.services.exchange.startUpload(input.sha256, input.size)),
  resumeUpload: scopedProcedure
    .input(z.strictObject({ sessionId: z.uuid() }))
    .output(uploadPlanOutput)
    .mutation(({ ctx, input }) => ctx.services.exchange.resumeUpload(input.sessionId)),
  completeUpload: scopedProcedure
    .input(completeUploadInput)
    .output(completedUploadOutput)
    .mutation(({ ctx, input }) => ctx.services.exchange.completeUpload(input.sessionId, input.parts)),
  receiveVersion: scopedProcedure
    .input(receiveVersionInput)
    .output(receivedVersionOutput)
    .mutation(({ ctx, input }) => ctx.services.exchange.receiveVersion(input.idempotencyKey, input.bundle, ctx.actor)),
  describeVersion: scopedProcedure
    .input(describeVersionInput)
    .output(versionBundleOutput)
    .query(({ ctx, input }) => ctx.services.exchange.describeVersion(input.model, input.ref, input.paged)),
  /** A page of a large version's artifact records, staged before `receiveVersion` with the same key (write scope). */
  stageArtifacts: scopedProcedure
    .input(stageArtifactsInput)
    .output(stagedArtifactsOutput)
    .mutation(({ ctx, input }) => ctx.services.exchange.stageArtifacts(input.idempotencyKey, input.page, input.artifacts)),
  /** A page of a version's artifact records, after `describeVersion` said it holds more (read scope). */
  versionArtifacts: scopedProcedure
    .input(versionArtifactsInput)
    .output(versionArtifactsOutput)
    .query(({ ctx, input }) => ctx.services.exchange.versionArtifacts(input.model, input.version, input.offset, input.limit)),
  /** A snapshot pushed alone, once its data blob is stored (write scope). */
  receiveSnapshot: scopedProcedure
    .input(receiveSnapshotInput)
    .output(receivedSnapshotOutput)
    .mutation(({ ctx, input }) => ctx.services.exchange.receiveSnapshot(input.manifest, input.origin)),
  /** A snapshot held here, for a puller (read scope). */
  describeSnapshot: scopedProcedure
    .input(snapshotIdInput)
    .output(describedSnapshotOutput)
    .query(({ ctx, input }) => ctx.services.exchange.describeSnapshot(input.id)),
});
