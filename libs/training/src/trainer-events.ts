import { RESERVED_JSON_KEYS } from '@trainyard/contracts';
import { z } from 'zod';

/**
 * The trainer protocol's events, one JSON object per line on file descriptor 3. A malformed
 * line is reported and skipped; it never fails the job.
 */
const finite = z.number().refine(Number.isFinite, 'must be finite');
// Metric names become object keys in responses (jobs.metrics, final metrics): the keys superjson
// refuses would make every later read of the job a 500, so such an event is refused (skipped, counted as bad).
const reservedName = (value: string): boolean => RESERVED_JSON_KEYS.has(value);
const name = z.string().min(1).max(128).refine((value) => !reservedName(value), 'is a reserved name (__proto__, constructor, prototype)');

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

// The hot path: a fast trainer sends thousands of points per line, many lines per second.
// Checked by hand with the same rules as the schema, because the reader must keep up or the
// trainer blocks on a full pipe.
const fastMetricsBatch = (json: { points?: unknown }): ParsedEventLine => {
  const points = json.points;
  if (!Array.isArray(points) || points.length > 100_000) return { ok: false, error: 'points: must be an array of at most 100 000 [name, step, value]' };
  for (let i = 0; i < points.length; i += 1) {
    const point: unknown = points[i];
    if (
      !Array.isArray(point) ||
      point.length !== 3 ||
      typeof point[0] !== 'string' ||
      point[0].length === 0 ||
      point[0].length > 128 ||
      !Number.isFinite(point[1]) ||
      !Number.isFinite(point[2])
    ) {
      return { ok: false, error: `points.${i}: must be [name, finite step, finite value]` };
    }
    if (reservedName(point[0])) {
      return { ok: false, error: `points.${i}: the name ${point[0]} is reserved (__proto__, constructor, prototype)` };
    }
  }
  return { ok: true, event: { type: 'metrics', points: points as Array<[string, number, number]> } };
};

/** The first character that is not JSON whitespace, or '' (cheap: no copy of the line). */
const firstNonSpace = (line: string): string => {
  for (let i = 0; i < line.length; i += 1) {
    const c = line.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return line.charAt(i);
  }
  return '';
};

export const parseEventLine = (line: string): ParsedEventLine => {
  // Every event is an object: anything else is refused without the cost of JSON.parse throwing
  // (a trainer may write millions of garbage lines).
  if (firstNonSpace(line) !== '{') return { ok: false, error: 'not JSON: an event is a JSON object' };
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (error) {
    return { ok: false, error: `not JSON: ${(error as Error).message}` };
  }
  if (typeof json === 'object' && json !== null && (json as { type?: unknown }).type === 'metrics' && Object.keys(json).length === 2) {
    return fastMetricsBatch(json as { points?: unknown });
  }
  const parsed = trainerEvent.safeParse(json);
  return parsed.success
    ? { ok: true, event: parsed.data }
    : { ok: false, error: parsed.error.issues.map((i) => `${i.path.join('.') || 'event'}: ${i.message}`).join('; ') };
};
