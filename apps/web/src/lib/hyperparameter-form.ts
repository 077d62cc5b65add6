import type { Trainer } from '../api';

/** The JSON Schema a trainer publishes for its hyperparameters (`jobs.trainers`, zod's toJSONSchema output). */
export type HyperparameterSchema = Trainer['hyperparameters'];

export interface HyperparameterField {
  name: string;
  kind: 'integer' | 'number' | 'boolean' | 'text';
  defaultValue: string;
  min: number | undefined;
  max: number | undefined;
  required: boolean;
  description: string | undefined;
}

/** One form field per property, in the schema's order. */
export const fieldsFromSchema = (schema: HyperparameterSchema): HyperparameterField[] =>
  Object.entries(schema.properties ?? {}).map(([name, property]) => ({
    name,
    kind: property.type === 'integer' || property.type === 'number' || property.type === 'boolean' ? property.type : 'text',
    defaultValue: property.default === undefined ? '' : String(property.default),
    min: property.minimum ?? property.exclusiveMinimum,
    max: property.maximum,
    required: (schema.required ?? []).includes(name) && property.default === undefined,
    description: property.description,
  }));

/**
 * Form strings to hyperparameter values. Empty fields are left out (the trainer's default
 * applies); what cannot be a number is reported per field instead of being sent.
 */
export const valuesFromForm = (
  fields: readonly HyperparameterField[],
  form: Readonly<Record<string, string>>,
): { values: Record<string, unknown>; errors: Record<string, string> } => {
  const values: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const field of fields) {
    const raw = (form[field.name] ?? '').trim();
    if (raw === '') {
      if (field.required) errors[field.name] = 'required';
      continue;
    }
    if (field.kind === 'boolean') values[field.name] = raw === 'true';
    else if (field.kind === 'text') values[field.name] = raw;
    else {
      const value = Number(raw);
      if (!Number.isFinite(value)) errors[field.name] = 'must be a number';
      else if (field.kind === 'integer' && !Number.isInteger(value)) errors[field.name] = 'must be a whole number';
      else if (field.min !== undefined && value < field.min) errors[field.name] = `must be at least ${field.min}`;
      else if (field.max !== undefined && value > field.max) errors[field.name] = `must be at most ${field.max}`;
      else values[field.name] = value;
    }
  }
  return { values, errors };
};

/** `val_accuracy>=0.9` → a gate rule; undefined when the text is not one. */
export const parseGateRule = (text: string): { metric: string; op: '>=' | '<=' | '>' | '<'; value: number } | undefined => {
  const match = /^\s*([\w./-]+)\s*(>=|<=|>|<)\s*(-?[\d.]+(?:e-?\d+)?)\s*$/i.exec(text);
  if (!match) return undefined;
  const value = Number(match[3]);
  return Number.isFinite(value) ? { metric: match[1] ?? '', op: match[2] as '>=' | '<=' | '>' | '<', value } : undefined;
};
