import type { VersionBundle } from '@trainyard/contracts';
import { DomainError } from '@trainyard/core';
import type { Database, SqlQueryable } from '@trainyard/db';

type BundleArtifact = VersionBundle['artifacts'][number];

/**
 * Pages of a pushed version's artifact records, staged before `receiveVersion` registers the
 * version: a version of 100 000 small files is ~25 MB of records, more than one request body
 * may carry. Keyed by the push's idempotency key, so a resumed push stages the same pages again
 * (each page replaces itself) and nothing is counted twice.
 */
export const createStagedArtifacts = (database: Database) => {
  const { sql } = database;
  return {
    /** Keeps one page (replacing the same page staged earlier); returns how many records it holds. */
    async stage(idempotencyKey: string, page: number, artifacts: readonly BundleArtifact[]): Promise<{ staged: number }> {
      await sql.query(
        `INSERT INTO "StagedArtifactPage" ("idempotencyKey", "page", "artifacts") VALUES ($1, $2, $3::jsonb)
         ON CONFLICT ("idempotencyKey", "page") DO UPDATE SET "artifacts" = EXCLUDED."artifacts", "createdAt" = now()`,
        [idempotencyKey, page, JSON.stringify(artifacts)],
      );
      return { staged: artifacts.length };
    },

    /**
     * The page numbers of a push — `expected` records on pages 0, 1, 2, … with none missing —
     * or FAILED_PRECONDITION saying what is staged (the pusher stages again).
     */
    async pagesOf(idempotencyKey: string, expected: number): Promise<number[]> {
      const pages = await sql.query<{ page: number; count: number | string }>(
        `SELECT "page", jsonb_array_length("artifacts") AS "count" FROM "StagedArtifactPage" WHERE "idempotencyKey" = $1 ORDER BY "page"`,
        [idempotencyKey],
      );
      const staged = pages.reduce((sum, row) => sum + Number(row.count), 0);
      if (staged !== expected || pages.some((row, index) => row.page !== index)) {
        throw new DomainError(
          'FAILED_PRECONDITION',
          `Stage the version's artifact records first (sync.stageArtifacts): ${staged} of ${expected} are staged, on pages ${pages.map((row) => row.page).join(', ') || 'none'}`,
          { staged, expected },
        );
      }
      return pages.map((row) => row.page);
    },

    /** One staged page's records (through `queryable`: inside the transaction that registers them). */
    async page(queryable: SqlQueryable, idempotencyKey: string, page: number): Promise<BundleArtifact[]> {
      const [row] = await queryable.query<{ artifacts: BundleArtifact[] | string }>(
        `SELECT "artifacts" FROM "StagedArtifactPage" WHERE "idempotencyKey" = $1 AND "page" = $2`,
        [idempotencyKey, page],
      );
      if (!row) throw new DomainError('FAILED_PRECONDITION', `Page ${page} of the push's artifact records is no longer staged; push again`, { page });
      return typeof row.artifacts === 'string' ? (JSON.parse(row.artifacts) as BundleArtifact[]) : row.artifacts;
    },

    /** Drops a push's pages (in the transaction that registered its version, or once it was registered before). */
    async forget(queryable: SqlQueryable, idempotencyKey: string): Promise<void> {
      await queryable.query(`DELETE FROM "StagedArtifactPage" WHERE "idempotencyKey" = $1`, [idempotencyKey]);
    },

    /** Pages of pushes that never registered their version (a pusher that gave up); returns how many went. */
    async sweep(olderThanMs: number): Promise<number> {
      const swept = await sql.query(`DELETE FROM "StagedArtifactPage" WHERE "createdAt" < $1 RETURNING "page"`, [new Date(Date.now() - olderThanMs)]);
      return swept.length;
    },
  };
};

export type StagedArtifacts = ReturnType<typeof createStagedArtifacts>;
