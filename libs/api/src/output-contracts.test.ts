import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { appRouter } from './app.router';
import { router, scopedProcedure } from './trpc';

/** Paths of the router's procedures that declare no output schema (`.output(...)`). */
const withoutOutput = (procedures: Record<string, unknown>): string[] =>
  Object.entries(procedures)
    .filter(([, procedure]) => !(procedure as { _def: { output?: unknown } })._def.output)
    .map(([path]) => path);

describe('output contracts', () => {
  it('every procedure declares its output with a schema (from libs/contracts)', () => {
    const procedures = appRouter._def.procedures as Record<string, unknown>;
    expect(Object.keys(procedures).length).toBeGreaterThan(50);
    expect(withoutOutput(procedures)).toEqual([]);
  });

  it('the check finds a procedure without one', () => {
    const sample = router({
      checked: scopedProcedure.output(z.object({ ok: z.boolean() })).query(() => ({ ok: true })),
      unchecked: scopedProcedure.query(() => ({ ok: true })),
    });
    expect(withoutOutput(sample._def.procedures as Record<string, unknown>)).toEqual(['unchecked']);
  });
});
