-- CreateTable
CREATE TABLE "DatasetSnapshot" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "filter" JSONB NOT NULL,
    "validationFraction" DOUBLE PRECISION NOT NULL,
    "seed" INTEGER NOT NULL,
    "totalCount" INTEGER NOT NULL,
    "trainCount" INTEGER NOT NULL,
    "validationCount" INTEGER NOT NULL,
    "blobSha256" CHAR(64) NOT NULL,
    "blobSize" BIGINT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "DatasetSnapshot_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "DatasetSnapshot_createdAt_id_idx" ON "DatasetSnapshot"("createdAt", "id");

-- CreateIndex
CREATE INDEX "TrainingDataPoint_excluded_id_idx" ON "TrainingDataPoint"("excluded", "id");

