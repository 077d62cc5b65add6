import { z } from 'zod';

export const healthOutput = z.object({
  status: z.literal('ok'),
  version: z.string(),
  database: z.enum(['pglite', 'postgresql']),
});
export type HealthOutput = z.infer<typeof healthOutput>;
