-- AlterTable
ALTER TABLE "TrainingJob" ADD COLUMN     "reproducedFrom" JSONB,
ADD COLUMN     "trainerIdentity" JSONB;

