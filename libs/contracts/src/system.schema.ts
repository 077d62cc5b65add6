import { z } from 'zod';

export const healthOutput = z.object({
  status: z.literal('ok'),
  version: z.string(),
  database: z.enum(['pglite', 'postgresql']),
});
export type HealthOutput = z.infer<typeof healthOutput>;

/** Queries without parameters still take a strict (empty) object, so stray keys are rejected. */
export const emptyInput = z.strictObject({}).optional();
