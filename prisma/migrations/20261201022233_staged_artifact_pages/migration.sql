-- CreateTable
CREATE TABLE "StagedArtifactPage" (
    "idempotencyKey" TEXT NOT NULL,
    "page" INTEGER NOT NULL,
    "artifacts" JSONB NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "StagedArtifactPage_pkey" PRIMARY KEY ("idempotencyKey","page")
);

-- CreateIndex
CREATE INDEX "StagedArtifactPage_createdAt_idx" ON "StagedArtifactPage"("createdAt");

