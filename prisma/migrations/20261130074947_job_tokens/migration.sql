-- CreateTable
CREATE TABLE "JobToken" (
    "id" UUID NOT NULL,
    "jobId" UUID NOT NULL,
    "attempt" INTEGER NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "readableBlobs" TEXT[],
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "revokedAt" TIMESTAMPTZ(3),

    CONSTRAINT "JobToken_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "JobToken_tokenHash_key" ON "JobToken"("tokenHash");

-- CreateIndex
CREATE INDEX "JobToken_jobId_idx" ON "JobToken"("jobId");

