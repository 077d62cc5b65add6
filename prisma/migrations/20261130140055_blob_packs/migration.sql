-- AlterTable
ALTER TABLE "StoredBlob" ADD COLUMN     "packOffset" BIGINT,
ADD COLUMN     "packSha256" CHAR(64);

-- CreateIndex
CREATE INDEX "StoredBlob_packSha256_idx" ON "StoredBlob"("packSha256");

