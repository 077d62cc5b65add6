import { describe, expect, it } from 'vitest';
import { versionBundleOutput } from './sync.schema';

const describedBundle = (artifactType: string) => ({
  model: { name: 'detector', description: '', tags: [], metadata: {} },
  version: { version: 1, description: '', metrics: {}, tags: [] },
  artifacts: [{ name: 'model.bin', type: artifactType, mediaType: 'application/octet-stream', sha256: 'a'.repeat(64), size: 3, metadata: {} }],
  lineage: {},
  origin: { registry: 'shared', model: 'detector', version: 1 },
});

describe('versionBundleOutput (sync.describeVersion): stored data passes through', () => {
  it('keeps an artifact type outside today’s list, so a version stored with one can still be pulled', () => {
    expect(versionBundleOutput.parse(describedBundle('onnx-export')).artifacts[0]?.type).toBe('onnx-export');
    expect(versionBundleOutput.parse(describedBundle('model')).artifacts[0]?.type).toBe('model');
  });

  it('still refuses a type that is not a string', () => {
    expect(() => versionBundleOutput.parse(describedBundle(42 as unknown as string))).toThrow();
  });
});
