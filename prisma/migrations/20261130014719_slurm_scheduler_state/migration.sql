-- AlterTable
ALTER TABLE "TrainingJob" ADD COLUMN     "scheduler" JSONB;

