import {
  compareJobsInput,
  compareJobsOutput,
  createdJobOutput,
  createJobInput,
  deletedJobOutput,
  isFinishedJobStatus,
  type JobEvent,
  jobEventsOutput,
  jobIdInput,
  jobLogsInput,
  jobMetricsInput,
  jobMetricsOutput,
  jobOutput,
  jobPageOutput,
  listJobsInput,
  logSliceOutput,
  reproduceInput,
  reproduceOutput,
  reproductionInput,
  reproductionOutput,
  trainersOutput,
} from '@trainyard/contracts';
import { createEventQueue } from '../event-queue';
import { hyperparameterJsonSchema } from '../hyperparameter-json-schema';
import { router, scopedProcedure, trainingProcedure } from '../trpc';

export const jobsRouter = router({
  // The caller decides which command trainers it may queue (only the local session runs any).
  create: trainingProcedure
    .input(createJobInput)
    .output(createdJobOutput)
    .mutation(({ ctx, input }) => ctx.services.jobs.create(input, { actor: ctx.actor })),
  /**
   * Re-runs a local version's training job with the same trainer, hyperparameters and snapshot;
   * refused with the differences when the trainer here differs, unless allowDifferent.
   */
  reproduce: trainingProcedure
    .input(reproduceInput)
    .output(reproduceOutput)
    .mutation(({ ctx, input }) => ctx.services.reproductions.reproduce(input, { actor: ctx.actor })),
  /** A reproduction's report: artifact by artifact byte-identical or not, final metrics within tolerance, the differences. */
  reproduction: scopedProcedure
    .input(reproductionInput)
    .output(reproductionOutput)
    .query(({ ctx, input }) => ctx.services.reproductions.report(input.jobId)),
  get: scopedProcedure
    .input(jobIdInput)
    .output(jobOutput)
    .query(({ ctx, input }) => ctx.services.jobs.get(input.id)),
  list: scopedProcedure
    .input(listJobsInput)
    .output(jobPageOutput)
    .query(({ ctx, input }) => ctx.services.jobs.list(input)),
  cancel: trainingProcedure
    .input(jobIdInput)
    .output(jobOutput)
    .mutation(({ ctx, input }) => ctx.services.jobs.cancel(input.id)),
  retry: trainingProcedure
    .input(jobIdInput)
    .output(jobOutput)
    .mutation(({ ctx, input }) => ctx.services.jobs.retry(input.id)),
  /** A finished job, its metrics, job directory and the artifacts no version holds; refused for a job that produced a version. */
  delete: trainingProcedure
    .input(jobIdInput)
    .output(deletedJobOutput)
    .mutation(({ ctx, input }) => ctx.services.jobs.delete(input.id)),
  logs: scopedProcedure
    .input(jobLogsInput)
    .output(logSliceOutput)
    .query(({ ctx, input }) =>
      ctx.services.jobs.logs(input.id, input.stream, {
        ...(input.tail ? { tail: input.tail } : {}),
        ...(input.offset !== undefined ? { offset: input.offset } : {}),
        length: input.length,
      }),
    ),
  /** Built-in trainers with their hyperparameters as JSON Schema (the UI builds its form from it). */
  trainers: scopedProcedure.output(trainersOutput).query(({ ctx }) =>
    ctx.services.trainers.list().map((trainer) => ({
      name: trainer.name,
      description: trainer.description,
      hyperparameters: hyperparameterJsonSchema(trainer.hyperparameters),
    })),
  ),
  /** Any set of jobs side by side (a sweep passes its trials' ids): hyperparameters, the ones that differ, metric summaries. */
  compare: scopedProcedure
    .input(compareJobsInput)
    .output(compareJobsOutput)
    .query(({ ctx, input }) => ctx.services.jobs.compare(input)),
  metrics: scopedProcedure
    .input(jobMetricsInput)
    .output(jobMetricsOutput)
    .query(({ ctx, input }) => ctx.services.jobs.metrics(input.jobId, input.names, input.maxPoints)),
  /** Live status, progress, metric points and log lines (SSE); ends when the job does. Each event is checked against the contract as it is sent. */
  events: scopedProcedure
    .input(jobIdInput)
    .output(jobEventsOutput)
    .subscription(async function* ({ ctx, input, signal }) {
      const events = createEventQueue<JobEvent>(signal);
      const unsubscribe = ctx.services.jobBus.subscribe(input.id, (event) => events.push(event));
      try {
        const job = await ctx.services.jobs.get(input.id);
        yield { type: 'status', status: job.status, error: job.error } satisfies JobEvent;
        if (isFinishedJobStatus(job.status)) return;
        for await (const event of events.drain()) {
          yield event;
          if (event.type === 'status' && isFinishedJobStatus(event.status)) return;
        }
      } finally {
        unsubscribe();
      }
    }),
});
