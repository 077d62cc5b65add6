-- AlterTable
ALTER TABLE "TrainingJob" ADD COLUMN     "checkpointPolicy" JSONB NOT NULL DEFAULT '{}';

