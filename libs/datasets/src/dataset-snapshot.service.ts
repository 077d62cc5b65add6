import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import type { BlobReferenceSource, BlobStore } from '@trainyard/artifacts';
import type { DataFilter, SnapshotOutput } from '@trainyard/contracts';
import { DomainError, isUuid, newId, notFound, pageOf, sha256Hex } from '@trainyard/core';
import type { Database, Prisma, SqlQueryable } from '@trainyard/db';
import { filterToSql } from './data-filter.sql';
import { type ArrivingSnapshot, importSnapshot } from './snapshot-import';
import { type SnapshotManifest, snapshotManifest } from './snapshot-manifest';

/**
 * Pages aim at about this many characters of JSONL, so memory stays flat whether texts are
 * tweets or essays: a small first page measures the lines, later pages are sized from it.
 */
const PAGE_CHARS = 8 * 1024 * 1024;
const FIRST_PAGE_ROWS = 100;
const MAX_PAGE_ROWS = 50_000;

export interface SnapshotLine {
  contentHash: string;
  split: 'train' | 'validation';
  aiText: string;
  humanizedText: string;
  qualityScore: number;
  tags: string[];
}

/**
 * Deterministic assignment: the same pair, seed and fraction land in the same split on any
 * machine, whatever else is in the dataset.
 */
export const splitOf = (contentHash: string, seed: number, validationFraction: number): 'train' | 'validation' =>
  Number.parseInt(sha256Hex(`${seed}:${contentHash}`).slice(0, 8), 16) / 2 ** 32 < validationFraction ? 'validation' : 'train';

// Fixed offsets in a line: the hash is 64 hex characters, so the split always starts at the same place.
const HASH_START = '{"contentHash":"'.length;
const SPLIT_START = HASH_START + 64 + '","split":"'.length;

/**
 * One page of a snapshot: each point's JSONL line, split included, built by the database. One
 * text column out of PGlite costs far less than five typed columns turned back into JSON here
 * (about 1 s less per 100 000 points). The line is byte-for-byte `JSON.stringify` of a
 * SnapshotLine and the split exactly splitOf's (the snapshot test checks both).
 */
const snapshotPageSql = (where: string, param: { after: string; seed: string; fraction: string; limit: string }): string => `
  SELECT '{"contentHash":' || to_json("contentHash") || ',"split":"' || s.split || '","aiText":' || to_json("aiText")
      || ',"humanizedText":' || to_json("humanizedText") || ',"qualityScore":' || to_json("qualityScore") || ',"tags":' || to_json("tags") || '}' AS line
  FROM "TrainingDataPoint" CROSS JOIN LATERAL (
    SELECT CASE WHEN ('x' || left(encode(sha256(convert_to(${param.seed} || ':' || "contentHash", 'UTF8')), 'hex'), 8))::bit(32)::bigint
      / 4294967296.0::float8 < ${param.fraction}::float8 THEN 'validation' ELSE 'train' END AS split
  ) s
  WHERE ${where} AND "contentHash" > ${param.after}
  ORDER BY "contentHash" LIMIT ${param.limit}`;

type SnapshotRow = Prisma.DatasetSnapshotGetPayload<object>;

const nameTaken = (name: string, id: string): DomainError =>
  new DomainError('CONFLICT', `A dataset snapshot named "${name}" already exists (${id}); snapshots are immutable, so choose another name`, { name, id });

const toOutput = (row: SnapshotRow): SnapshotOutput => ({ ...row, blobSize: Number(row.blobSize) });

/**
 * What keeps a snapshot from being deleted: the training jobs and model versions that name it.
 * Their owners (training, model registry) sit above this lib, so they answer through this port,
 * wired in apps/server; each describes up to `limit` of its own, asked in the deletion's transaction.
 */
export interface SnapshotUsers {
  usersOf(tx: SqlQueryable, snapshotId: string, limit: number): Promise<string[]>;
}

export interface SnapshotServiceOptions {
  /** Asked when a snapshot is deleted (built after this service: a function). */
  users?: () => readonly SnapshotUsers[];
  /** Where jobs' materialised copies of snapshots live (`<dataDir>/snapshots/<id>/`): removed with the snapshot. */
  materialisedRoot?: string;
}

/** Immutable dataset snapshots: a filter frozen into a JSONL blob plus a manifest row. */
export const createDatasetSnapshotService = (database: Database, blobs: BlobStore, options: SnapshotServiceOptions = {}) => {
  const { sql, prisma } = database;

  const references: BlobReferenceSource = {
    async referencedHashes() {
      const rows = await prisma.datasetSnapshot.findMany({ select: { blobSha256: true } });
      return new Set(rows.map((row) => row.blobSha256));
    },
  };

  return {
    references,

    /**
     * Names are unique. Checked before the (possibly long) freeze, and again under a
     * transaction-scoped advisory lock on the name when the manifest row is written, so two
     * concurrent creates cannot both win. No unique index: databases from before this rule may
     * hold duplicate names, and those stay as they are.
     */
    async create(input: { name: string; filter: DataFilter; validationFraction: number; seed: number }): Promise<SnapshotOutput> {
      const findNamed = async (queryable: Pick<typeof sql, 'query'>): Promise<string | undefined> =>
        (await queryable.query<{ id: string }>(`SELECT "id" FROM "DatasetSnapshot" WHERE "name" = $1 LIMIT 1`, [input.name]))[0]?.id;
      const existing = await findNamed(sql);
      if (existing) throw nameTaken(input.name, existing);
      const where = filterToSql(input.filter);
      const next = where.params.length + 1;
      const counts = { total: 0, train: 0, validation: 0 };
      // Ordered by content hash, so identical data gives a byte-identical blob (one blob, deduplicated).
      async function* lines(): AsyncGenerator<string> {
        let after = '';
        let pageRows = FIRST_PAGE_ROWS;
        for (;;) {
          const rows = await sql.query<{ line: string }>(
            snapshotPageSql(where.sql, { after: `$${next}`, seed: `$${next + 1}`, fraction: `$${next + 2}`, limit: `$${next + 3}` }),
            [...where.params, after, String(input.seed), input.validationFraction, pageRows],
          );
          if (rows.length === 0) return;
          let chunk = '';
          for (const { line } of rows) {
            counts.total += 1;
            counts[line.charCodeAt(SPLIT_START) === 118 /* v */ ? 'validation' : 'train'] += 1;
            chunk += `${line}\n`;
          }
          yield chunk;
          after = (rows.at(-1) as { line: string }).line.slice(HASH_START, HASH_START + 64);
          pageRows = Math.max(1, Math.min(MAX_PAGE_ROWS, Math.floor((PAGE_CHARS * rows.length) / chunk.length)));
        }
      }
      const stored = await blobs.put(Readable.from(lines()));
      const id = newId();
      // Raw SQL inside the transaction: on PGlite the transaction holds the only connection.
      await sql.transaction(async (tx) => {
        await tx.query(`SELECT pg_advisory_xact_lock(hashtext('DatasetSnapshot.name'), hashtext($1))`, [input.name]);
        const taken = await findNamed(tx);
        if (taken) throw nameTaken(input.name, taken);
        await tx.query(
          `INSERT INTO "DatasetSnapshot" ("id", "name", "filter", "validationFraction", "seed", "totalCount", "trainCount", "validationCount", "blobSha256", "blobSize")
           VALUES ($1::uuid, $2, $3::jsonb, $4, $5, $6, $7, $8, $9, $10::bigint)`,
          [
            id,
            input.name,
            JSON.stringify(input.filter),
            input.validationFraction,
            input.seed,
            counts.total,
            counts.train,
            counts.validation,
            stored.sha256,
            String(stored.size),
          ],
        );
      });
      return this.get(id);
    },

    async get(id: string): Promise<SnapshotOutput> {
      const row = await prisma.datasetSnapshot.findUnique({ where: { id } });
      if (!row) throw notFound('Dataset snapshot', { id });
      return toOutput(row);
    },

    /** The manifest a version trained on this snapshot carries when it is pushed; null if the snapshot is gone. */
    manifestOf: (id: string): Promise<SnapshotManifest | null> => snapshotManifest(database, id),

    /** The content hash of the snapshot with this id, or null: a pull checks it before downloading the data. */
    hashOf: async (id: string): Promise<string | null> =>
      (await prisma.datasetSnapshot.findUnique({ where: { id }, select: { blobSha256: true } }))?.blobSha256 ?? null,

    /** A snapshot made elsewhere, under its own id and hash, in the caller's transaction (snapshot-import.ts). */
    importSnapshot: (tx: SqlQueryable, snapshot: ArrivingSnapshot, provenance: unknown): Promise<{ created: boolean }> =>
      importSnapshot(tx, snapshot, provenance),

    /** The same in a transaction of its own (a snapshot pushed or pulled alone). */
    importAlone: (snapshot: ArrivingSnapshot, provenance: unknown): Promise<{ created: boolean }> =>
      sql.transaction((tx) => importSnapshot(tx, snapshot, provenance)),

    /** Name and training-pair count of each of these snapshots that exists, in no particular order (a new job's check, the lineage graph). */
    summariesOf: (ids: readonly string[]): Promise<Array<{ id: string; name: string; trainCount: number }>> =>
      ids.length === 0
        ? Promise.resolve([])
        : prisma.datasetSnapshot.findMany({ where: { id: { in: [...ids] } }, select: { id: true, name: true, trainCount: true } }),

    /**
     * Hard delete: the manifest row (and this machine's materialised copy of its channels);
     * its data blob goes at the next garbage collection unless another snapshot has the same
     * data. Refused (FAILED_PRECONDITION, naming them) while a training job or a model version
     * names the snapshot — checked in the deletion's transaction, the row locked.
     */
    async delete(id: string): Promise<{ deleted: true; id: string }> {
      await sql.transaction(async (tx) => {
        const [row] = await tx.query<{ id: string }>(`SELECT "id" FROM "DatasetSnapshot" WHERE "id" = $1::uuid FOR UPDATE`, [id]);
        if (!row) throw notFound('Dataset snapshot', { id });
        const users: string[] = [];
        for (const source of options.users?.() ?? []) users.push(...(await source.usersOf(tx, id, 5)));
        if (users.length > 0) {
          throw new DomainError('FAILED_PRECONDITION', `Dataset snapshot ${id} is used by ${users.join(', ')}; delete those first`, { id, users });
        }
        await tx.query(`DELETE FROM "DatasetSnapshot" WHERE "id" = $1::uuid`, [id]);
      });
      // The id is a UUID that was a row here, never client text used as a path.
      if (options.materialisedRoot && isUuid(id)) await rm(join(options.materialisedRoot, id), { recursive: true, force: true });
      return { deleted: true, id };
    },

    /** True while no snapshot exists (the demo data goes only into an empty database). */
    async isEmpty(): Promise<boolean> {
      return (await prisma.datasetSnapshot.findFirst({ select: { id: true } })) === null;
    },

    async list(limit: number, cursor?: string): Promise<{ items: SnapshotOutput[]; nextCursor: string | null }> {
      const rows = await prisma.datasetSnapshot.findMany({ where: cursor ? { id: { lt: cursor } } : {}, orderBy: { id: 'desc' }, take: limit + 1 });
      return pageOf(rows.map(toOutput), limit, (snapshot) => snapshot.id);
    },

    /**
     * Writes the trainer protocol's channels: `<dataDir>/train/data.jsonl` and
     * `<dataDir>/validation/data.jsonl`, reading the blob with hash verification.
     */
    async materialise(id: string, dataDir: string): Promise<{ train: number; validation: number }> {
      const snapshot = await this.get(id);
      await mkdir(join(dataDir, 'train'), { recursive: true });
      await mkdir(join(dataDir, 'validation'), { recursive: true });
      const outputs = {
        train: createWriteStream(join(dataDir, 'train', 'data.jsonl')),
        validation: createWriteStream(join(dataDir, 'validation', 'data.jsonl')),
      };
      const written = { train: 0, validation: 0 };
      const reader = createInterface({ input: await blobs.read(snapshot.blobSha256), crlfDelay: Infinity });
      try {
        for await (const text of reader) {
          const line = JSON.parse(text) as SnapshotLine;
          const out = outputs[line.split];
          written[line.split] += 1;
          if (!out.write(`${text}\n`)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
        }
      } finally {
        await Promise.all(Object.values(outputs).map((out) => new Promise<void>((resolve, reject) => out.once('error', reject).end(() => resolve()))));
      }
      return written;
    },
  };
};

export type DatasetSnapshotService = ReturnType<typeof createDatasetSnapshotService>;
