import { Graph, layout } from '@dagrejs/dagre';

export interface LineageInput {
  nodes: ReadonlyArray<{ id: string; kind: string; label: string }>;
  edges: ReadonlyArray<{ from: string; to: string; kind: string }>;
}

export interface PlacedNode {
  id: string;
  kind: string;
  label: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PlacedEdge {
  from: string;
  to: string;
  kind: string;
  points: Array<{ x: number; y: number }>;
}

const NODE_HEIGHT = 40;
const MARGIN = 12;
const charWidth = 7.2;

/** Left-to-right layered layout (dagre): snapshot → job → artifacts → version → child versions. */
export const layoutLineage = (graph: LineageInput): { nodes: PlacedNode[]; edges: PlacedEdge[]; width: number; height: number } => {
  const g = new Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 60, marginx: MARGIN, marginy: MARGIN });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of graph.nodes) g.setNode(node.id, { width: Math.max(90, Math.min(260, node.label.length * charWidth + 24)), height: NODE_HEIGHT });
  const known = new Set(graph.nodes.map((node) => node.id));
  const edges = graph.edges.filter((edge) => known.has(edge.from) && known.has(edge.to));
  for (const edge of edges) g.setEdge(edge.from, edge.to);
  layout(g);
  // The extent from what was placed (edges can bend outside the nodes' box).
  const placedNodes = graph.nodes.map((node) => g.node(node.id) as { x: number; y: number; width: number; height: number });
  const edgePoints = edges.flatMap((edge) => (g.edge(edge.from, edge.to) as { points: Array<{ x: number; y: number }> }).points);
  const width = Math.max(0, ...placedNodes.map((n) => n.x + n.width / 2), ...edgePoints.map((p) => p.x)) + MARGIN;
  const height = Math.max(0, ...placedNodes.map((n) => n.y + n.height / 2), ...edgePoints.map((p) => p.y)) + MARGIN;
  return {
    nodes: graph.nodes.map((node) => {
      const placed = g.node(node.id) as { x: number; y: number; width: number; height: number };
      return { ...node, x: placed.x, y: placed.y, width: placed.width, height: placed.height };
    }),
    edges: edges.map((edge) => ({ ...edge, points: (g.edge(edge.from, edge.to) as { points: Array<{ x: number; y: number }> }).points })),
    width,
    height,
  };
};
