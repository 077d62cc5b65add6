-- AlterTable
ALTER TABLE "ModelRegistry" ADD COLUMN     "activeVersionId" UUID,
ADD COLUMN     "archivedAt" TIMESTAMPTZ(3),
ADD COLUMN     "latestVersion" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "ModelVersion" ADD COLUMN     "validation" JSONB;

-- CreateTable
CREATE TABLE "ModelAlias" (
    "id" UUID NOT NULL,
    "modelId" UUID NOT NULL,
    "alias" TEXT NOT NULL,
    "versionId" UUID NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ModelAlias_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ModelEvent" (
    "id" UUID NOT NULL,
    "modelId" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "data" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ModelEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ModelAlias_modelId_alias_key" ON "ModelAlias"("modelId", "alias");

-- CreateIndex
CREATE INDEX "ModelEvent_modelId_createdAt_idx" ON "ModelEvent"("modelId", "createdAt");

-- AddForeignKey
ALTER TABLE "ModelAlias" ADD CONSTRAINT "ModelAlias_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "ModelRegistry"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModelAlias" ADD CONSTRAINT "ModelAlias_versionId_fkey" FOREIGN KEY ("versionId") REFERENCES "ModelVersion"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModelEvent" ADD CONSTRAINT "ModelEvent_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "ModelRegistry"("id") ON DELETE CASCADE ON UPDATE CASCADE;

