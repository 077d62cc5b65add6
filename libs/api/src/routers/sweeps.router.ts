import {
  createdSweepOutput,
  createSweepInput,
  listSweepsInput,
  retriedSweepOutput,
  type SweepEvent,
  sweepEventsOutput,
  sweepOutput,
  sweepPageOutput,
  sweepRefInput,
} from '@trainyard/contracts';
import { createEventQueue } from '../event-queue';
import { router, scopedProcedure, trainingProcedure } from '../trpc';

const ended = (status: string): boolean => status !== 'running';

/** Hyperparameter sweeps (docs/sweeps.md): their trials are jobs, so starting, cancelling and retrying need a `train` token. */
export const sweepsRouter = router({
  /** Creates a sweep, or resumes the one of this name with the same specification (`resumed: true`). */
  create: trainingProcedure
    .input(createSweepInput)
    .output(createdSweepOutput)
    .mutation(({ ctx, input }) => ctx.services.sweeps.create(input, { actor: ctx.actor })),
  get: scopedProcedure
    .input(sweepRefInput)
    .output(sweepOutput)
    .query(({ ctx, input }) => ctx.services.sweeps.get(input.sweep)),
  list: scopedProcedure
    .input(listSweepsInput)
    .output(sweepPageOutput)
    .query(({ ctx, input }) => ctx.services.sweeps.list(input)),
  cancel: trainingProcedure
    .input(sweepRefInput)
    .output(sweepOutput)
    .mutation(({ ctx, input }) => ctx.services.sweeps.cancel(input.sweep)),
  /** Runs the failed trials again (a new job each); pruned and cancelled trials are not failures. */
  retryFailed: trainingProcedure
    .input(sweepRefInput)
    .output(retriedSweepOutput)
    .mutation(({ ctx, input }) => ctx.services.sweeps.retryFailed(input.sweep)),
  /** The sweep as it is, then trials started and pruned as they happen (SSE); ends with the sweep. */
  events: scopedProcedure
    .input(sweepRefInput)
    .output(sweepEventsOutput)
    .subscription(async function* ({ ctx, input, signal }) {
      const sweep = await ctx.services.sweeps.find(input.sweep);
      const events = createEventQueue<SweepEvent>(signal);
      const unsubscribe = ctx.services.sweeps.subscribe(sweep.id, (event) => events.push(event));
      try {
        const snapshot = await ctx.services.sweeps.get(sweep.id);
        yield { type: 'snapshot', sweep: snapshot } satisfies SweepEvent;
        if (ended(snapshot.status)) return;
        for await (const event of events.drain()) {
          yield event;
          if (event.type === 'status' && ended(event.status)) return;
        }
      } finally {
        unsubscribe();
      }
    }),
});
