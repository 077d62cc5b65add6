-- CreateTable
CREATE TABLE "TrainingDataPoint" (
    "id" UUID NOT NULL,
    "aiText" TEXT NOT NULL,
    "humanizedText" TEXT NOT NULL,
    "contentHash" TEXT NOT NULL,
    "detectionScoreBefore" DOUBLE PRECISION,
    "detectionScoreAfter" DOUBLE PRECISION,
    "improvement" DOUBLE PRECISION,
    "qualityScore" DOUBLE PRECISION NOT NULL,
    "feedbackRating" INTEGER,
    "feedbackComment" TEXT,
    "sourceTransformationId" TEXT,
    "sourceModel" TEXT,
    "sourceProvider" TEXT,
    "language" TEXT,
    "tags" TEXT[],
    "excluded" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TrainingDataPoint_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TrainingJob" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "trainer" JSONB NOT NULL,
    "executor" TEXT NOT NULL DEFAULT 'local',
    "hyperparameters" JSONB NOT NULL DEFAULT '{}',
    "resources" JSONB NOT NULL DEFAULT '{}',
    "validation" JSONB,
    "targetModelName" TEXT,
    "priority" INTEGER NOT NULL DEFAULT 0,
    "maxAttempts" INTEGER NOT NULL DEFAULT 1,
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "idempotencyKey" TEXT,
    "datasetSnapshotId" UUID,
    "parentVersionId" UUID,
    "progress" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "leaseOwner" TEXT,
    "leaseToken" TEXT,
    "leaseExpiresAt" TIMESTAMPTZ(3),
    "error" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMPTZ(3),
    "finishedAt" TIMESTAMPTZ(3),

    CONSTRAINT "TrainingJob_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ModelArtifact" (
    "id" UUID NOT NULL,
    "sha256" CHAR(64) NOT NULL,
    "name" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "mediaType" TEXT NOT NULL DEFAULT 'application/octet-stream',
    "size" BIGINT NOT NULL,
    "trainingJobId" UUID,
    "modelVersionId" UUID,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ModelArtifact_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ModelRegistry" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "tags" TEXT[],
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "active" BOOLEAN NOT NULL DEFAULT true,
    "parentId" UUID,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ModelRegistry_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ModelVersion" (
    "id" UUID NOT NULL,
    "modelId" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'ready',
    "description" TEXT NOT NULL DEFAULT '',
    "metrics" JSONB NOT NULL DEFAULT '{}',
    "tags" TEXT[],
    "trainingJobId" UUID,
    "datasetSnapshotId" UUID,
    "parentVersionId" UUID,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ModelVersion_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "TrainingDataPoint_contentHash_key" ON "TrainingDataPoint"("contentHash");

-- CreateIndex
CREATE INDEX "TrainingDataPoint_createdAt_id_idx" ON "TrainingDataPoint"("createdAt", "id");

-- CreateIndex
CREATE INDEX "TrainingDataPoint_qualityScore_idx" ON "TrainingDataPoint"("qualityScore");

-- CreateIndex
CREATE UNIQUE INDEX "TrainingJob_idempotencyKey_key" ON "TrainingJob"("idempotencyKey");

-- CreateIndex
CREATE INDEX "TrainingJob_status_priority_createdAt_idx" ON "TrainingJob"("status", "priority", "createdAt");

-- CreateIndex
CREATE INDEX "ModelArtifact_sha256_idx" ON "ModelArtifact"("sha256");

-- CreateIndex
CREATE INDEX "ModelArtifact_trainingJobId_idx" ON "ModelArtifact"("trainingJobId");

-- CreateIndex
CREATE INDEX "ModelArtifact_modelVersionId_idx" ON "ModelArtifact"("modelVersionId");

-- CreateIndex
CREATE UNIQUE INDEX "ModelRegistry_name_key" ON "ModelRegistry"("name");

-- CreateIndex
CREATE UNIQUE INDEX "ModelVersion_modelId_version_key" ON "ModelVersion"("modelId", "version");

-- AddForeignKey
ALTER TABLE "ModelArtifact" ADD CONSTRAINT "ModelArtifact_trainingJobId_fkey" FOREIGN KEY ("trainingJobId") REFERENCES "TrainingJob"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModelArtifact" ADD CONSTRAINT "ModelArtifact_modelVersionId_fkey" FOREIGN KEY ("modelVersionId") REFERENCES "ModelVersion"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModelRegistry" ADD CONSTRAINT "ModelRegistry_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "ModelRegistry"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModelVersion" ADD CONSTRAINT "ModelVersion_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "ModelRegistry"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModelVersion" ADD CONSTRAINT "ModelVersion_trainingJobId_fkey" FOREIGN KEY ("trainingJobId") REFERENCES "TrainingJob"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModelVersion" ADD CONSTRAINT "ModelVersion_parentVersionId_fkey" FOREIGN KEY ("parentVersionId") REFERENCES "ModelVersion"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
