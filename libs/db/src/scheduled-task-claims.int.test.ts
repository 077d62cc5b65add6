import { postgresUnavailableReason, startPostgresServer, type PostgresServer } from '@trainyard/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type Database, openDatabase } from './database';
import { createScheduledTaskClaims } from './scheduled-task-claims';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The same promises on both backends: a claim is due once per interval, whoever asks. */
const claimBehaviour = (open: () => Promise<Database[]>) => {
  it('grants the first claim, refuses the rest until the interval is up, then grants one again', async () => {
    const [db] = await open();
    if (!db) throw new Error('no database');
    const a = createScheduledTaskClaims(db.sql, 'instance-a');
    const b = createScheduledTaskClaims(db.sql, 'instance-b');
    expect(await a.claim('gc', 400)).toBeInstanceOf(Date);
    expect(await b.claim('gc', 400)).toBeUndefined();
    expect(await a.claim('gc', 400)).toBeUndefined();
    // Another task has its own schedule.
    expect(await b.claim('sweep', 400)).toBeInstanceOf(Date);
    await sleep(450);
    expect(await b.claim('gc', 400)).toBeInstanceOf(Date);
    expect(await a.claim('gc', 400)).toBeUndefined();
    expect(await a.lastRuns()).toEqual([
      { task: 'gc', holder: 'instance-b', startedAt: expect.any(Date), runs: 2 },
      { task: 'sweep', holder: 'instance-b', startedAt: expect.any(Date), runs: 1 },
    ]);
  });

  it('of many instances asking at the same moment, exactly one wins', async () => {
    const dbs = await open();
    const claimants = Array.from({ length: 12 }, (_unused, index) => {
      const db = dbs[index % dbs.length];
      if (!db) throw new Error('no database');
      return createScheduledTaskClaims(db.sql, `instance-${index}`);
    });
    for (let round = 0; round < 3; round += 1) {
      const won = await Promise.all(claimants.map((claims) => claims.claim(`race-${round}`, 60_000)));
      expect(won.filter(Boolean)).toHaveLength(1);
    }
  });
};

describe('scheduled task claims on PGlite', () => {
  let db: Database;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.close());
  claimBehaviour(async () => [db]);
});

const skip = postgresUnavailableReason();
describe.skipIf(skip)(`scheduled task claims on PostgreSQL, several instances (pools) on one database${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let server: PostgresServer;
  const opened: Database[] = [];
  let counter = 0;
  beforeAll(async () => {
    server = await startPostgresServer();
  }, 60_000);
  afterAll(async () => {
    for (const db of opened) await db.close();
    await server?.stop();
  });
  claimBehaviour(async () => {
    const url = await server.createDatabase(`claims_${counter++}`);
    // Three "instances": each its own pool, as separate server processes would have.
    const dbs = await Promise.all([0, 1, 2].map(() => openDatabase({ kind: 'postgresql', url })));
    opened.push(...dbs);
    const [first] = dbs;
    if (!first) throw new Error('no database');
    await first.migrate();
    return dbs;
  });
});
