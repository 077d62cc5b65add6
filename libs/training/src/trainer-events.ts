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
const name = z
  .string()
  .min(1)
  .max(128)
  .refine((value) => !reservedName(value), 'is a reserved name (__proto__, constructor, prototype)');

export const trainerEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('progress'), fraction: z.number().min(0).max(1), message: z.string().max(1_000).optional() }),
  z.object({ type: z.literal('metric'), name, step: finite, value: finite, time: finite.optional() }),
  /** Batched form: [name, step, value] triples, so a fast trainer sends one line per batch. */
  z.object({ type: z.literal('metrics'), points: z.array(z.tuple([name, finite, finite])).max(100_000) }),
  z.object({ type: z.literal('checkpoint'), path: z.string().min(1).max(1_024), step: finite.optional() }),
  z.object({ type: z.literal('log'), level: z.enum(['debug', 'info', 'warn', 'error']).default('info'), message: z.string().max(10_000) }),
  z.object({ type: z.literal('artifact'), path: z.string().min(1).max(1_024), kind: z.string().max(32).optional() }),
  /** The versions of what the trainer runs on (the Python SDK: python, torch, numpy…), recorded in the job's trainer identity. */
  z.object({
    type: z.literal('environment'),
    packages: z.record(name, z.string().max(256)).refine((packages) => Object.keys(packages).length <= 200, 'at most 200 packages'),
  }),
]);
export type TrainerEvent = z.infer<typeof trainerEvent>;

/**
 * `nonFinite`: metric points skipped because their step or value was not a finite number — bare
 * NaN/Infinity/-Infinity tokens (Python's json.dumps writes them; they are not JSON) or null.
 * `event` is null when nothing of the line is left to record.
 */
export type ParsedEventLine = { ok: true; event: TrainerEvent | null; nonFinite?: number } | { ok: false; error: string };

// The hot path: a fast trainer sends thousands of points per line, many lines per second.
// Checked by hand with the same rules as the schema, because the reader must keep up or the
// trainer blocks on a full pipe.
const fastMetricsBatch = (json: { points?: unknown }): ParsedEventLine => {
  const points = json.points;
  if (!Array.isArray(points) || points.length > 100_000) return { ok: false, error: 'points: must be an array of at most 100 000 [name, step, value]' };
  let nonFinite = 0;
  for (let i = 0; i < points.length; i += 1) {
    const point: unknown = points[i];
    // A point without a finite step or value (null, or NaN/Infinity turned into null) is counted and left out.
    if (
      Array.isArray(point) &&
      point.length === 3 &&
      (point[1] === null || point[2] === null) &&
      typeof point[0] === 'string' &&
      point[0].length > 0 &&
      point[0].length <= 128 &&
      !reservedName(point[0]) &&
      (point[1] === null || Number.isFinite(point[1])) &&
      (point[2] === null || Number.isFinite(point[2]))
    ) {
      nonFinite += 1;
      continue;
    }
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
  if (nonFinite === 0) return { ok: true, event: { type: 'metrics', points: points as Array<[string, number, number]> } };
  const finitePoints = (points as Array<[string, number | null, number | null]>).filter(
    (point): point is [string, number, number] => point[1] !== null && point[2] !== null,
  );
  return { ok: true, event: finitePoints.length > 0 ? { type: 'metrics', points: finitePoints } : null, nonFinite };
};

const NON_FINITE_TOKEN = /NaN|Infinity/;

/**
 * The line with every bare NaN, Infinity and -Infinity outside strings replaced by null, or
 * undefined if it has none (Python's json.dumps writes them by default; JSON has no such tokens).
 */
export const nullNonFiniteTokens = (line: string): string | undefined => {
  let out = '';
  let from = 0;
  let inString = false;
  for (let i = 0; i < line.length; i += 1) {
    const c = line.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i += 1; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
      continue;
    }
    const token = line.startsWith('NaN', i) ? 'NaN' : line.startsWith('Infinity', i) ? 'Infinity' : line.startsWith('-Infinity', i) ? '-Infinity' : undefined;
    if (token) {
      out += `${line.slice(from, i)}null`;
      i += token.length - 1;
      from = i + 1;
    }
  }
  return from === 0 ? undefined : out + line.slice(from);
};

/** A `metric` event whose step or value is null: counted and skipped if the rest of it is valid. */
const nullMetric = (json: Record<string, unknown>): ParsedEventLine | undefined => {
  if (json['type'] !== 'metric' || (json['value'] !== null && json['step'] !== null)) return undefined;
  const rest = trainerEvent.safeParse({ ...json, step: json['step'] ?? 0, value: json['value'] ?? 0, time: json['time'] ?? undefined });
  return rest.success ? { ok: true, event: null, nonFinite: 1 } : undefined;
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
  let repaired = false;
  try {
    json = JSON.parse(line);
  } catch (error) {
    // Not JSON only because of NaN/Infinity? Then read them as null: the metric points they
    // stand for are counted and skipped, the rest of the line is kept.
    const nulled = NON_FINITE_TOKEN.test(line) ? nullNonFiniteTokens(line) : undefined;
    try {
      if (nulled === undefined) throw error;
      json = JSON.parse(nulled);
      repaired = true;
    } catch {
      return { ok: false, error: `not JSON: ${(error as Error).message}` };
    }
  }
  if (typeof json === 'object' && json !== null && (json as { type?: unknown }).type === 'metrics' && Object.keys(json).length === 2) {
    return fastMetricsBatch(json as { points?: unknown });
  }
  if (typeof json === 'object' && json !== null) {
    const skipped = nullMetric(json as Record<string, unknown>);
    if (skipped) return skipped;
  }
  const parsed = trainerEvent.safeParse(json);
  return parsed.success
    ? { ok: true, event: parsed.data }
    : {
        ok: false,
        error: `${repaired ? 'NaN/Infinity (not JSON) read as null; ' : ''}${parsed.error.issues.map((i) => `${i.path.join('.') || 'event'}: ${i.message}`).join('; ')}`,
      };
};
