import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { Link, useParams } from 'react-router-dom';
import { api, type LineageGraph } from '../api';
import { QueryState } from '../components/states';
import { layoutLineage } from '../lib/lineage-layout';

const KIND_LABEL: Record<string, string> = { snapshot: 'dataset snapshot', job: 'training job', artifact: 'artifact', version: 'model version' };

const LineageSvg = ({ graph }: { graph: LineageGraph }) => {
  const placed = useMemo(() => layoutLineage(graph), [graph]);
  return (
    <svg className="lineage" width={placed.width} height={placed.height} role="img" aria-label="Lineage graph" data-testid="lineage-graph">
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" className="arrow-head" />
        </marker>
      </defs>
      {placed.edges.map((edge) => (
        <g key={`${edge.from}-${edge.to}`}>
          <polyline className={`edge edge-${edge.kind}`} points={edge.points.map((point) => `${point.x},${point.y}`).join(' ')} markerEnd="url(#arrow)">
            <title>{edge.kind.replace(/_/g, ' ')}</title>
          </polyline>
        </g>
      ))}
      {placed.nodes.map((node) => (
        <g key={node.id} className={`node node-${node.kind}`} transform={`translate(${node.x - node.width / 2},${node.y - node.height / 2})`}>
          <title>{`${KIND_LABEL[node.kind] ?? node.kind}: ${node.label}`}</title>
          <rect width={node.width} height={node.height} rx={6} />
          <text x={10} y={16} className="node-kind">
            {KIND_LABEL[node.kind] ?? node.kind}
          </text>
          <text x={10} y={32}>
            {node.label.length > 34 ? `${node.label.slice(0, 33)}…` : node.label}
          </text>
        </g>
      ))}
    </svg>
  );
};

export const LineageScreen = () => {
  const { name = '' } = useParams();
  const lineage = useQuery({ queryKey: ['models', 'lineage', name], queryFn: () => api.models.lineage.query({ model: name }) });
  return (
    <section aria-labelledby="lineage-title">
      <header className="screen-header">
        <h1 id="lineage-title">Lineage of {name}</h1>
        <Link to={`/models/${name}`}>Versions</Link>
      </header>
      <QueryState query={lineage} what="lineage" isEmpty={(graph) => graph.nodes.length === 0} empty="This model has no versions yet.">
        {(graph) => (
          <>
            <div className="lineage-scroll">
              <LineageSvg graph={graph} />
            </div>
            <ul className="sr-only" aria-label="Lineage as a list">
              {graph.edges.map((edge) => (
                <li key={`${edge.from}-${edge.to}`}>
                  {graph.nodes.find((node) => node.id === edge.from)?.label} {edge.kind.replace(/_/g, ' ')}{' '}
                  {graph.nodes.find((node) => node.id === edge.to)?.label}
                </li>
              ))}
            </ul>
          </>
        )}
      </QueryState>
    </section>
  );
};
