import type { HyperparameterSchema } from '@trainyard/contracts';
import { z } from 'zod';

/**
 * A trainer's hyperparameters as JSON Schema for the UI's form. zod leaves out the default of a
 * field whose input differs from its output (a union that also takes "3,5" and turns it into
 * [3, 5]); such a default is filled in from the schema itself, written the way the form takes it.
 */
export const hyperparameterJsonSchema = (schema: z.ZodType<Record<string, unknown>>): HyperparameterSchema => {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as HyperparameterSchema;
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
  for (const [name, property] of Object.entries(json.properties ?? {})) {
    if (property.default !== undefined || !shape?.[name]) continue;
    const parsed = shape[name].safeParse(undefined);
    if (parsed.success && parsed.data !== undefined) property.default = Array.isArray(parsed.data) ? parsed.data.join(',') : parsed.data;
  }
  return json;
};
