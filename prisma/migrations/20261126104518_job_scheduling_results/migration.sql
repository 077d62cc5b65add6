-- AlterTable
ALTER TABLE "TrainingJob" ADD COLUMN     "exitCode" INTEGER,
ADD COLUMN     "finalMetrics" JSONB,
ADD COLUMN     "modelVersionId" UUID,
ADD COLUMN     "notBefore" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN     "progressMessage" TEXT,
ADD COLUMN     "validationReport" JSONB;

-- CreateIndex
CREATE INDEX "TrainingJob_datasetSnapshotId_idx" ON "TrainingJob"("datasetSnapshotId");

