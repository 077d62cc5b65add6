import type { SqlQueryable } from './sql-executor';

/**
 * A start of a scheduled task is allowed this much before its interval is up: every instance
 * asks on its own timer, and a timer that fires a few milliseconds "early" by the database's
 * clock (query latency differs from tick to tick) must not skip a whole interval.
 */
export const claimSlackMs = (intervalMs: number): number => Math.min(intervalMs * 0.05, 60_000);

/**
 * Claims the next run of a task, or does nothing when it last started less than its interval
 * ago (by the database's clock). One statement: PostgreSQL locks the conflicting row and
 * re-checks the WHERE on its newest version, so of several instances asking at once exactly
 * one gets a row back. (An advisory lock would only keep runs apart in time: an instance whose
 * timer fires just after another's run finished would run the task again.)
 */
const CLAIM = `
INSERT INTO "ScheduledTaskRun" ("task", "holder", "startedAt", "runs") VALUES ($1, $2, now(), 1)
ON CONFLICT ("task") DO UPDATE
  SET "holder" = EXCLUDED."holder", "startedAt" = EXCLUDED."startedAt", "runs" = "ScheduledTaskRun"."runs" + 1
  WHERE "ScheduledTaskRun"."startedAt" <= EXCLUDED."startedAt" - make_interval(secs => $3::double precision / 1000)
RETURNING "startedAt"`;

export interface ScheduledTaskRun {
  task: string;
  holder: string;
  startedAt: Date;
  runs: number;
}

/**
 * Once-per-interval claims of background tasks shared by every instance of a server on one
 * database (a PGlite server is one instance; the same SQL works there).
 */
export const createScheduledTaskClaims = (sql: SqlQueryable, holder: string) => ({
  holder,

  /**
   * When this instance won the run of `task` that is due now (it should run it): the run's start
   * by the database's clock, which is what keeps runs apart. Undefined when another instance has it.
   */
  async claim(task: string, intervalMs: number): Promise<Date | undefined> {
    const [row] = await sql.query<{ startedAt: Date }>(CLAIM, [task, holder, intervalMs - claimSlackMs(intervalMs)]);
    return row && new Date(row.startedAt);
  },

  /** Each task's last run, for operators and tests. */
  async lastRuns(): Promise<ScheduledTaskRun[]> {
    const rows = await sql.query<{ task: string; holder: string; startedAt: Date; runs: string | number | bigint }>(
      `SELECT "task", "holder", "startedAt", "runs" FROM "ScheduledTaskRun" ORDER BY "task"`,
    );
    return rows.map((row) => ({ ...row, runs: Number(row.runs) }));
  },
});

export type ScheduledTaskClaims = ReturnType<typeof createScheduledTaskClaims>;
