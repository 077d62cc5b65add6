/**
 * Hashed character n-gram features: every n-gram (n in [nMin, nMax]) of the text is hashed
 * (FNV-1a, 32-bit) into one of `dimension` buckets; counts are log-scaled and the vector L2
 * normalised so long and short texts are comparable. Case and punctuation are kept: they are
 * style, which is what the detector learns.
 */
export interface FeatureConfig {
  nMin: number;
  nMax: number;
  /** A power of two. */
  dimension: number;
}

export interface SparseVector {
  indices: Int32Array;
  values: Float32Array;
}

/**
 * Counts are accumulated in one dense array reused across texts (only touched buckets are
 * reset), which is several times faster than a Map per text; the result is identical.
 */
export const createFeaturizer = (config: FeatureConfig) => {
  const mask = config.dimension - 1;
  const counts = new Float64Array(config.dimension);
  let touched = new Int32Array(1_024);

  /** Buckets in first-occurrence order; returns how many. Counts are left in `counts`. */
  const accumulate = (text: string): number => {
    let used = 0;
    const padded = ` ${text} `;
    for (let start = 0; start < padded.length; start += 1) {
      let hash = 0x811c9dc5 ^ config.nMin; // a different seed per n range keeps feature spaces apart
      for (let n = 1; n <= config.nMax && start + n <= padded.length; n += 1) {
        hash = Math.imul(hash ^ padded.charCodeAt(start + n - 1), 0x01000193);
        if (n >= config.nMin) {
          const bucket = (hash ^ n) & mask;
          if (counts[bucket] === 0) {
            if (used === touched.length) {
              const grown = new Int32Array(touched.length * 2);
              grown.set(touched);
              touched = grown;
            }
            touched[used] = bucket;
            used += 1;
          }
          counts[bucket] = (counts[bucket] ?? 0) + 1;
        }
      }
    }
    return used;
  };

  const scaleOf = (used: number): number => {
    let norm = 0;
    for (let i = 0; i < used; i += 1) norm += Math.log1p(counts[touched[i] ?? 0] ?? 0) ** 2;
    return norm > 0 ? 1 / Math.sqrt(norm) : 0;
  };

  return {
    featurize(text: string): SparseVector {
      const used = accumulate(text);
      const scale = scaleOf(used);
      const indices = touched.slice(0, used);
      const values = new Float32Array(used);
      for (let i = 0; i < used; i += 1) {
        const bucket = indices[i] ?? 0;
        values[i] = Math.log1p(counts[bucket] ?? 0) * scale;
        counts[bucket] = 0;
      }
      return { indices, values };
    },
    /** bias + w·x without materialising x; the same float32 feature values as `featurize`. */
    logit(weights: Float64Array, bias: number, text: string): number {
      const used = accumulate(text);
      const scale = scaleOf(used);
      let z = bias;
      for (let i = 0; i < used; i += 1) {
        const bucket = touched[i] ?? 0;
        z += (weights[bucket] ?? 0) * Math.fround(Math.log1p(counts[bucket] ?? 0) * scale);
        counts[bucket] = 0;
      }
      return z;
    },
  };
};

export const featurize = (text: string, config: FeatureConfig): SparseVector => createFeaturizer(config).featurize(text);
