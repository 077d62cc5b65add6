-- AlterTable
ALTER TABLE "ModelArtifact" ADD COLUMN     "metadata" JSONB NOT NULL DEFAULT '{}';

-- CreateIndex
CREATE INDEX "ModelArtifact_type_createdAt_id_idx" ON "ModelArtifact"("type", "createdAt", "id");

