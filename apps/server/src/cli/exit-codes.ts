/** Documented in docs/cli.md (exit codes); scripts may rely on them. */
export const EXIT = {
  OK: 0,
  /** Anything not covered below (the message says what). */
  FAILURE: 1,
  /** Bad arguments or input the server refused as invalid. */
  USAGE: 2,
  /** No server running, or it could not be reached. */
  UNREACHABLE: 3,
  /** Token missing, wrong, revoked, or without the needed scope. */
  AUTH: 4,
  NOT_FOUND: 5,
  /** Conflict or failed precondition (e.g. cancelling a finished job, a gate that failed). */
  CONFLICT: 6,
  /** `jobs follow`: the job failed. */
  JOB_FAILED: 7,
  /** `jobs follow`: the job was cancelled. */
  JOB_CANCELLED: 8,
  /** `data import`: the file was imported but some lines were rejected. */
  PARTIAL: 9,
  /** `push`/`pull`: not finished yet (server unreachable); it stays in the outbox and is retried. */
  QUEUED: 10,
  /** Interrupted by Ctrl+C (SIGINT). */
  INTERRUPTED: 130,
} as const;
