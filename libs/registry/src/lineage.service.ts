import type { Database } from '@trainyard/db';
import { type LineageGraph, lineageGraph, type LineageSources } from './lineage.query';

/** The lineage of models and versions, as a service: the API asks it, never the database. */
export const createLineageService = ({ database, ...owners }: Omit<LineageSources, 'sql'> & { database: Database }) => {
  const sources: LineageSources = { sql: database.sql, ...owners };
  return {
    /** Every version reachable from the model (or one version) by parent and child links, with its snapshot, job and artifacts. */
    graph: (model: string, version?: number): Promise<LineageGraph> => lineageGraph(sources, model, version),
  };
};

export type LineageService = ReturnType<typeof createLineageService>;
