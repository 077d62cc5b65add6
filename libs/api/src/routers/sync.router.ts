import {
  addRemoteInput,
  completeUploadInput,
  describeVersionInput,
  missingBlobsInput,
  outboxIdInput,
  pullInput,
  pushInput,
  receiveVersionInput,
  remoteRefInput,
  startUploadInput,
  syncStatusInput,
} from '@trainyard/contracts';
import type { OutboxEntryOutput } from '@trainyard/sync';
import { z } from 'zod';
import { createEventQueue } from '../event-queue';
import { scopedProcedure, router } from '../trpc';

export const syncRouter = router({
  // This machine's side: remotes and the outbox of pushes and pulls.
  addRemote: scopedProcedure.input(addRemoteInput).mutation(({ ctx, input }) => ctx.services.sync.addRemote(input)),
  removeRemote: scopedProcedure.input(remoteRefInput).mutation(async ({ ctx, input }) => {
    await ctx.services.sync.removeRemote(input.name);
    return { removed: input.name };
  }),
  listRemotes: scopedProcedure.query(({ ctx }) => ctx.services.sync.listRemotes()),
  push: scopedProcedure.input(pushInput).mutation(({ ctx, input }) => ctx.services.sync.push(input.remote, input.model, input.ref)),
  pull: scopedProcedure.input(pullInput).mutation(({ ctx, input }) => ctx.services.sync.pull(input.remote, input.model, input.ref)),
  status: scopedProcedure.input(syncStatusInput).query(({ ctx, input }) => ctx.services.sync.status(input.limit)),
  get: scopedProcedure.input(outboxIdInput).query(({ ctx, input }) => ctx.services.sync.get(input.id)),
  retry: scopedProcedure.input(outboxIdInput).mutation(({ ctx, input }) => ctx.services.sync.retry(input.id)),
  cancel: scopedProcedure.input(outboxIdInput).mutation(({ ctx, input }) => ctx.services.sync.cancel(input.id)),
  /** Live state and bytes of outbox entries (all, or one with `id`), starting with their current state. */
  progress: scopedProcedure.input(z.strictObject({ id: z.uuid().optional() })).subscription(async function* ({ ctx, input, signal }) {
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

  // The shared registry's side, called by other machines' sync workers.
  missingBlobs: scopedProcedure.input(missingBlobsInput).mutation(({ ctx, input }) => ctx.services.exchange.missingBlobs(input.hashes)),
  startUpload: scopedProcedure.input(startUploadInput).mutation(({ ctx, input }) => ctx.services.exchange.startUpload(input.sha256, input.size)),
  resumeUpload: scopedProcedure
    .input(z.strictObject({ sessionId: z.uuid() }))
    .mutation(({ ctx, input }) => ctx.services.exchange.resumeUpload(input.sessionId)),
  completeUpload: scopedProcedure.input(completeUploadInput).mutation(({ ctx, input }) => ctx.services.exchange.completeUpload(input.sessionId, input.parts)),
  receiveVersion: scopedProcedure
    .input(receiveVersionInput)
    .mutation(({ ctx, input }) => ctx.services.exchange.receiveVersion(input.idempotencyKey, input.bundle, ctx.actor)),
  describeVersion: scopedProcedure.input(describeVersionInput).query(({ ctx, input }) => ctx.services.exchange.describeVersion(input.model, input.ref)),
});
