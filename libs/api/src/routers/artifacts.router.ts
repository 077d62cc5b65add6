import {
  artifactIdInput,
  artifactOutput,
  artifactPageOutput,
  deletedOutput,
  gcInput,
  gcReportOutput,
  listArtifactsInput,
  registerArtifactInput,
  registerArtifactsInput,
  registeredArtifactsOutput,
} from '@trainyard/contracts';
import { scopedProcedure, router } from '../trpc';

export const artifactsRouter = router({
  register: scopedProcedure
    .input(registerArtifactInput)
    .output(artifactOutput)
    .mutation(({ ctx, input }) => ctx.services.artifacts.register(input)),
  /** Up to 1 000 artifacts in one call, all or none (a version of many small files). */
  registerMany: scopedProcedure
    .input(registerArtifactsInput)
    .output(registeredArtifactsOutput)
    .mutation(({ ctx, input }) => ctx.services.artifacts.registerMany(input)),
  get: scopedProcedure
    .input(artifactIdInput)
    .output(artifactOutput)
    .query(async ({ ctx, input }) => {
      const artifact = await ctx.services.artifacts.get(input.id);
      return { ...artifact, corrupt: ctx.services.blobs.isCorrupt(artifact.sha256) };
    }),
  list: scopedProcedure
    .input(listArtifactsInput)
    .output(artifactPageOutput)
    .query(({ ctx, input }) => ctx.services.artifacts.list(input)),
  delete: scopedProcedure
    .input(artifactIdInput)
    .output(deletedOutput)
    .mutation(({ ctx, input }) => ctx.services.artifacts.delete(input.id)),
  gc: scopedProcedure
    .input(gcInput)
    .output(gcReportOutput)
    .mutation(({ ctx, input }) => ctx.services.artifacts.gc(input)),
});
