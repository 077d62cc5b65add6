import { artifactIdInput, artifactOutput, gcInput, listArtifactsInput, registerArtifactInput } from '@trainyard/contracts';
import { z } from 'zod';
import { publicProcedure, router } from '../trpc';

export const artifactsRouter = router({
  register: publicProcedure
    .input(registerArtifactInput)
    .output(artifactOutput)
    .mutation(({ ctx, input }) => ctx.services.artifacts.register(input)),
  get: publicProcedure
    .input(artifactIdInput)
    .output(artifactOutput)
    .query(async ({ ctx, input }) => {
      const artifact = await ctx.services.artifacts.get(input.id);
      return { ...artifact, corrupt: ctx.services.blobs.isCorrupt(artifact.sha256) };
    }),
  list: publicProcedure
    .input(listArtifactsInput)
    .output(z.object({ items: z.array(artifactOutput), nextCursor: z.string().nullable() }))
    .query(({ ctx, input }) => ctx.services.artifacts.list(input)),
  delete: publicProcedure.input(artifactIdInput).mutation(({ ctx, input }) => ctx.services.artifacts.delete(input.id)),
  gc: publicProcedure.input(gcInput).mutation(({ ctx, input }) => ctx.services.artifacts.gc(input)),
});
