-- AlterTable
ALTER TABLE "DatasetSnapshot" ADD COLUMN     "provenance" JSONB;

-- AlterTable
ALTER TABLE "SyncOutbox" ADD COLUMN     "includeDataset" BOOLEAN NOT NULL DEFAULT true;

