-- AlterTable
ALTER TABLE "SweepTrial" ADD COLUMN     "launchError" TEXT;

