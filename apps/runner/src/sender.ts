import type { RecordOutbox } from './record-outbox';
import type { RunnerClient } from './runner-client';

/** How often the sender looks for new records when it has sent everything. */
const IDLE_MS = 200;

/**
 * Sends the outbox's records in batches, one batch at a time, each from the first record the
 * server has not acknowledged; the client retries a batch until the server takes it (a dropped
 * connection, a restarting server). The server's answer also says whether the job was
 * cancelled, which a runner whose platform sends it no signal learns this way.
 */
export const startSender = (outbox: RecordOutbox, client: RunnerClient, serverAcked: number, log: (message: string) => void, onCancel: () => void) => {
  let stopped = false;
  let cancelSeen = false;
  let idle: (() => void) | undefined;
  const loop = (async () => {
    for (;;) {
      const batch = outbox.nextBatch();
      const fresh = batch.records.filter((record) => record.seq > serverAcked);
      if (batch.records.length === 0) {
        if (stopped && outbox.acked() >= outbox.lastSeq()) return;
        await new Promise<void>((resolve) => {
          idle = resolve;
          setTimeout(resolve, IDLE_MS);
        });
        continue;
      }
      const answer = fresh.length > 0 ? await client.records(fresh) : { acked: serverAcked, cancelRequested: false };
      const last = batch.records[batch.records.length - 1]?.seq ?? 0;
      if (answer.acked < last) {
        log(`the server applied records up to ${answer.acked} of ${last}; sending again`);
        continue;
      }
      outbox.ack(last, batch.end);
      if (answer.cancelRequested && !cancelSeen) {
        cancelSeen = true;
        onCancel();
      }
    }
  })();
  return {
    /** Resolves once every record so far has been acknowledged. */
    async drain(): Promise<void> {
      outbox.flush();
      stopped = true;
      idle?.();
      await loop;
    },
  };
};
