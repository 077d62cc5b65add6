-- CreateIndex
CREATE INDEX "ModelAlias_versionId_idx" ON "ModelAlias"("versionId");

-- CreateIndex
CREATE INDEX "ModelVersion_parentVersionId_idx" ON "ModelVersion"("parentVersionId");

