import { describe, expect, it } from 'vitest';
import { datasetSnapshotManifest, receiveSnapshotInput, versionBundleOutput } from './sync.schema';

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

describe('datasetSnapshotManifest: what a pusher claims about a snapshot is bounded', () => {
  const manifest = {
    id: '00000000-0000-4000-8000-000000000001',
    name: 'pairs',
    blobSha256: 'a'.repeat(64),
    blobSize: 10,
    totalCount: 10,
    trainCount: 8,
    validationCount: 2,
    filter: {},
    seed: 42,
    validationFraction: 0.2,
    createdAt: '2026-11-30T00:00:00.000Z',
  };

  it('accepts a consistent manifest, also where the data size is required', () => {
    expect(datasetSnapshotManifest.parse(manifest)).toEqual(manifest);
    expect(receiveSnapshotInput.parse({ manifest, origin: 'laptop' }).manifest).toEqual(manifest);
  });

  it.each([
    ['a seed past a 32-bit column', { seed: 2 ** 31 }],
    ['a negative seed', { seed: -1 }],
    ['a count past a 32-bit column', { totalCount: 2 ** 31, trainCount: 2 ** 31 - 2 }],
    ['a validation fraction over 1', { validationFraction: 1.5 }],
    ['counts that do not add up', { trainCount: 9 }],
  ])('refuses %s', (_what, change) => {
    expect(datasetSnapshotManifest.safeParse({ ...manifest, ...change }).success).toBe(false);
    expect(receiveSnapshotInput.safeParse({ manifest: { ...manifest, ...change }, origin: 'laptop' }).success).toBe(false);
  });

  it('still requires the data size where the data is received', () => {
    const { blobSize: _dropped, ...sizeless } = manifest;
    expect(datasetSnapshotManifest.safeParse(sizeless).success).toBe(true);
    expect(receiveSnapshotInput.safeParse({ manifest: sizeless, origin: 'laptop' }).success).toBe(false);
  });
});
