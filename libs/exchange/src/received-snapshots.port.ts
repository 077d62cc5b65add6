import type { DatasetSnapshotManifest } from '@trainyard/contracts';
import type { SqlQueryable } from '@trainyard/db';

/** A snapshot's manifest with its data blob's size: what a shared server registers once the blob is stored. */
export type SnapshotWithData = DatasetSnapshotManifest & { blobSize: number };

/**
 * Dataset snapshots arriving at a shared server, with a version or alone. The datasets context
 * owns them and sits beside this lib, so it answers through this port (wired in apps/server:
 * datasets' snapshot service).
 */
export interface ReceivedSnapshots {
  /** Registers a snapshot under its own id and hash in the caller's transaction (same id, other hash: CONFLICT). */
  importSnapshot(tx: SqlQueryable, snapshot: SnapshotWithData, provenance: unknown): Promise<{ created: boolean }>;
  /** The same, in a transaction of its own. */
  importAlone(snapshot: SnapshotWithData, provenance: unknown): Promise<{ created: boolean }>;
  /** The manifest of a snapshot held here (with its size), or null. */
  manifestOf(id: string): Promise<DatasetSnapshotManifest | null>;
}
