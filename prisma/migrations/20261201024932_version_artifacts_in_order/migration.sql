-- DropIndex
DROP INDEX "ModelArtifact_modelVersionId_idx";

-- CreateIndex
CREATE INDEX "ModelArtifact_modelVersionId_name_id_idx" ON "ModelArtifact"("modelVersionId", "name", "id");

