import { z } from 'zod';

/**
 * The trainer protocol's events, one JSON object per line on file descriptor 3. A malformed
 * line is reported and skipped; it never fails the job.
 */
const finite = z.number().refine(Number.isFinite, 'must be finite');
const name = z.string().min(1).max(128);

export const trainerEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('progress'), fraction: z.number().min(0).max(1), message: z.string().max(1_000).optional() }),
  z.object({ type: z.literal('metric'), name, step: finite, value: finite, time: finite.optional() }),
  /** Batched form: [name, step, value] triples, so a fast trainer sends one line per batch. */
  z.object({ type: z.literal('metrics'), points: z.array(z.tuple([name, finite, finite])).max(100_000) }),
  z.object({ type: z.literal('checkpoint'), path: z.string().min(1).max(1_024), step: finite.optional() }),
  z.object({ type: z.literal('log'), level: z.enum(['debug', 'info', 'warn', 'error']).default('info'), message: z.string().max(10_000) }),
  z.object({ type: z.literal('artifact'), path: z.string().min(1).max(1_024), kind: z.string().max(32).optional() }),
]);
export type TrainerEvent = z.infer<typeof trainerEvent>;

export type ParsedEventLine = { ok: true; event: TrainerEvent } | { ok: false; error: string };

export const parseEventLine = (line: string): ParsedEventLine => {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (error) {
    return { ok: false, error: `not JSON: ${(error as Error).message}` };
  }
  const parsed = trainerEvent.safeParse(json);
  return parsed.success
    ? { ok: true, event: parsed.data }
    : { ok: false, error: parsed.error.issues.map((i) => `${i.path.join('.') || 'event'}: ${i.message}`).join('; ') };
};
