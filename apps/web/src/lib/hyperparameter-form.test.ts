import { describe, expect, it } from 'vitest';
import { fieldsFromSchema, parseGateRule, valuesFromForm } from './hyperparameter-form';

// The shape zod's toJSONSchema gives the text-detector's hyperparameters.
const schema = {
  properties: {
    epochs: { type: 'integer', default: 5, minimum: 1, maximum: 200 },
    learningRate: { type: 'number', default: 0.01, exclusiveMinimum: 0, maximum: 1 },
    shuffle: { type: 'boolean', default: true },
    seed: { type: 'integer' },
  },
  required: ['seed'],
};

describe('hyperparameter form from a trainer schema', () => {
  it('makes one typed field per property with its default and bounds', () => {
    expect(fieldsFromSchema(schema)).toEqual([
      { name: 'epochs', kind: 'integer', defaultValue: '5', min: 1, max: 200, required: false, description: undefined },
      { name: 'learningRate', kind: 'number', defaultValue: '0.01', min: 0, max: 1, required: false, description: undefined },
      { name: 'shuffle', kind: 'boolean', defaultValue: 'true', min: undefined, max: undefined, required: false, description: undefined },
      { name: 'seed', kind: 'integer', defaultValue: '', min: undefined, max: undefined, required: true, description: undefined },
    ]);
  });

  it('sends typed values, leaves empty fields to the default, and names every bad field', () => {
    const fields = fieldsFromSchema(schema);
    expect(valuesFromForm(fields, { epochs: '12', learningRate: '', shuffle: 'false', seed: '7' })).toEqual({
      values: { epochs: 12, shuffle: false, seed: 7 },
      errors: {},
    });
    expect(valuesFromForm(fields, { epochs: '2.5', learningRate: 'fast', seed: '' }).errors).toEqual({
      epochs: 'must be a whole number',
      learningRate: 'must be a number',
      seed: 'required',
    });
    expect(valuesFromForm(fields, { epochs: '0', learningRate: '3', seed: '1' }).errors).toEqual({
      epochs: 'must be at least 1',
      learningRate: 'must be at most 1',
    });
  });

  it('parses a gate rule or refuses it', () => {
    expect(parseGateRule('val_accuracy>=0.9')).toEqual({ metric: 'val_accuracy', op: '>=', value: 0.9 });
    expect(parseGateRule(' val_loss < 1e-3 ')).toEqual({ metric: 'val_loss', op: '<', value: 0.001 });
    expect(parseGateRule('accuracy is high')).toBeUndefined();
    expect(parseGateRule('x >= 1.2.3')).toBeUndefined();
  });
});
