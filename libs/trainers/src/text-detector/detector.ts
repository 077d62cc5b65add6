import { createFeaturizer, type FeatureConfig } from './features';
import { type Model, sigmoid } from './logistic-regression';

export const MODEL_FORMAT = 'trainyard-text-detector';

export interface DetectorConfig extends FeatureConfig {
  format: typeof MODEL_FORMAT;
  version: 1;
  bias: number;
  metrics: Record<string, number>;
}

/** The model's files: float32 weights (1 MiB for 2^18 features) and a small JSON config. */
export const exportDetector = (model: Model, features: FeatureConfig, metrics: Record<string, number>): { 'model.bin': Buffer; 'config.json': string } => {
  const weights = Float32Array.from(model.weights);
  const config: DetectorConfig = { format: MODEL_FORMAT, version: 1, ...features, bias: model.bias, metrics };
  return { 'model.bin': Buffer.from(weights.buffer), 'config.json': JSON.stringify(config, null, 2) };
};

export interface TextDetector {
  config: DetectorConfig;
  /** Probability that each text is machine-written: its detection score in 0..1. */
  score(texts: readonly string[]): number[];
}

export const loadDetector = (configJson: string, weightsFile: Buffer): TextDetector => {
  const config = JSON.parse(configJson) as DetectorConfig;
  if (config.format !== MODEL_FORMAT || config.version !== 1) throw new Error(`Not a ${MODEL_FORMAT} v1 model`);
  if (weightsFile.length !== config.dimension * 4) throw new Error(`model.bin has ${weightsFile.length} bytes; expected ${config.dimension * 4}`);
  const aligned = new Float32Array(config.dimension);
  Buffer.from(aligned.buffer).set(weightsFile);
  const model: Model = { weights: Float64Array.from(aligned), bias: config.bias };
  const featurizer = createFeaturizer(config);
  return { config, score: (texts) => texts.map((text) => sigmoid(featurizer.logit(model.weights, model.bias, text))) };
};
