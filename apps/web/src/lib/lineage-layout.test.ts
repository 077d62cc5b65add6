import { describe, expect, it } from 'vitest';
import { layoutLineage } from './lineage-layout';

describe('lineage layout', () => {
  it('places snapshot, job and versions left to right and sizes the canvas to hold every node', () => {
    const placed = layoutLineage({
      nodes: [
        { id: 's', kind: 'snapshot', label: 'pairs-v1' },
        { id: 'j', kind: 'job', label: 'run' },
        { id: 'a1', kind: 'artifact', label: 'model: a' },
        { id: 'a2', kind: 'artifact', label: 'model: b' },
        { id: 'a3', kind: 'artifact', label: 'model: c' },
        { id: 'v1', kind: 'version', label: 'm@1' },
        { id: 'v2', kind: 'version', label: 'm@2' },
      ],
      edges: [
        { from: 's', to: 'j', kind: 'trained_on' },
        { from: 'j', to: 'a1', kind: 'produced' },
        { from: 'j', to: 'a2', kind: 'produced' },
        { from: 'j', to: 'a3', kind: 'produced' },
        { from: 'a1', to: 'v1', kind: 'packaged_in' },
        { from: 'v1', to: 'v2', kind: 'fine_tuned_into' },
        { from: 'v1', to: 'gone', kind: 'produced' },
      ],
    });
    const x = Object.fromEntries(placed.nodes.map((node) => [node.id, node.x]));
    expect(x['s']).toBeLessThan(x['j'] ?? 0);
    expect(x['j']).toBeLessThan(x['a1'] ?? 0);
    expect(x['a1']).toBeLessThan(x['v1'] ?? 0);
    expect(x['v1']).toBeLessThan(x['v2'] ?? 0);
    // An edge to a node the graph does not have is dropped, not drawn to nowhere.
    expect(placed.edges).toHaveLength(6);
    for (const node of placed.nodes) {
      expect(node.y + node.height / 2).toBeLessThanOrEqual(placed.height);
      expect(node.x + node.width / 2).toBeLessThanOrEqual(placed.width);
    }
  });
});
