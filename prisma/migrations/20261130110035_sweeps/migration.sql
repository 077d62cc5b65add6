-- CreateTable
CREATE TABLE "Sweep" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "specHash" TEXT NOT NULL,
    "spec" JSONB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'running',
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Sweep_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SweepTrial" (
    "id" UUID NOT NULL,
    "sweepId" UUID NOT NULL,
    "index" INTEGER NOT NULL,
    "configKey" TEXT NOT NULL,
    "overrides" JSONB NOT NULL,
    "hyperparameters" JSONB NOT NULL,
    "jobId" UUID,
    "runs" INTEGER NOT NULL DEFAULT 0,
    "metricCursor" INTEGER NOT NULL DEFAULT 0,
    "settled" BOOLEAN NOT NULL DEFAULT false,
    "prunedAtRung" DOUBLE PRECISION,
    "prunedValue" DOUBLE PRECISION,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SweepTrial_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SweepRung" (
    "sweepId" UUID NOT NULL,
    "rung" DOUBLE PRECISION NOT NULL,
    "trialId" UUID NOT NULL,
    "value" DOUBLE PRECISION NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SweepRung_pkey" PRIMARY KEY ("sweepId","rung","trialId")
);

-- CreateIndex
CREATE UNIQUE INDEX "Sweep_name_key" ON "Sweep"("name");

-- CreateIndex
CREATE INDEX "SweepTrial_jobId_idx" ON "SweepTrial"("jobId");

-- CreateIndex
CREATE UNIQUE INDEX "SweepTrial_sweepId_configKey_key" ON "SweepTrial"("sweepId", "configKey");

-- CreateIndex
CREATE UNIQUE INDEX "SweepTrial_sweepId_index_key" ON "SweepTrial"("sweepId", "index");

-- AddForeignKey
ALTER TABLE "SweepTrial" ADD CONSTRAINT "SweepTrial_sweepId_fkey" FOREIGN KEY ("sweepId") REFERENCES "Sweep"("id") ON DELETE CASCADE ON UPDATE CASCADE;

