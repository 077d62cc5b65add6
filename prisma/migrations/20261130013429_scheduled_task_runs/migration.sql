-- CreateTable
CREATE TABLE "ScheduledTaskRun" (
    "task" TEXT NOT NULL,
    "holder" TEXT NOT NULL,
    "startedAt" TIMESTAMPTZ(3) NOT NULL,
    "runs" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "ScheduledTaskRun_pkey" PRIMARY KEY ("task")
);

