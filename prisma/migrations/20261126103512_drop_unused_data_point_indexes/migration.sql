-- DropIndex
DROP INDEX "TrainingDataPoint_createdAt_id_idx";

-- DropIndex
DROP INDEX "TrainingDataPoint_qualityScore_idx";

