import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { hyperparameterJsonSchema } from './hyperparameter-json-schema';

const widths = z.array(z.number().int()).min(1).max(4);
const schema = z.strictObject({
  channels: z.number().int().default(32),
  kernelSizes: z
    .union([
      widths,
      z
        .string()
        .transform((text) => text.split(',').map(Number))
        .pipe(widths),
    ])
    .default([3, 5]),
  mode: z.enum(['a', 'b']).default('b'),
  name: z.string(),
});

describe('hyperparameterJsonSchema', () => {
  it('gives a union-with-transform field its default, written the way the form takes it', () => {
    // Without the fill-in, zod's JSON Schema has no default for kernelSizes and the form shows none.
    expect(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }).properties?.['kernelSizes']).not.toHaveProperty('default');
    const properties = hyperparameterJsonSchema(schema).properties ?? {};
    expect(properties['kernelSizes']?.default).toBe('3,5');
  });

  it('keeps the defaults zod gives and adds none where there is none', () => {
    const properties = hyperparameterJsonSchema(schema).properties ?? {};
    expect(properties['channels']?.default).toBe(32);
    expect(properties['mode']?.default).toBe('b');
    expect(properties['name']).not.toHaveProperty('default');
  });
});
