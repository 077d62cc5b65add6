import { newId } from '@trainyard/core';
import { createTestDatabase, type Database } from '@trainyard/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JobStatus, jobStatusMove } from './job-state';

/** The status guard of raw UPDATEs (jobStatusMove) on a real database: an illegal move writes nothing. */
let database: Database;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.close());

const jobIn = async (status: JobStatus): Promise<string> => {
  const id = newId();
  await database.sql.query(`INSERT INTO "TrainingJob" ("id", "name", "status", "trainer") VALUES ($1, 'guarded', $2, '{}')`, [id, status]);
  return id;
};
/** An UPDATE written the way the orchestrator writes one: its status part from jobStatusMove. */
const moveTo = async (id: string, to: JobStatus): Promise<number> => {
  const move = jobStatusMove(to, 2);
  const rows = await database.sql.query(`UPDATE "TrainingJob" SET ${move.set}, "error" = $2 WHERE "id" = $1 AND ${move.where} RETURNING "id"`, [
    id,
    `moved to ${to}`,
    ...move.params,
  ]);
  return rows.length;
};
const rowOf = async (id: string) =>
  (await database.sql.query<{ status: string; error: string | null }>(`SELECT "status", "error" FROM "TrainingJob" WHERE "id" = $1`, [id]))[0];

describe('job status moves in SQL', () => {
  it('refuses an illegal move: a succeeded job does not become running, and nothing else in the UPDATE is written', async () => {
    const id = await jobIn('succeeded');
    expect(await moveTo(id, 'running')).toBe(0);
    expect(await moveTo(id, 'queued')).toBe(0);
    expect(await rowOf(id)).toEqual({ status: 'succeeded', error: null });
  });

  it('makes a legal move', async () => {
    const id = await jobIn('queued');
    expect(await moveTo(id, 'running')).toBe(1);
    expect(await rowOf(id)).toEqual({ status: 'running', error: 'moved to running' });
    expect(await moveTo(id, 'running')).toBe(0); // running → running is not in the table either
  });
});
