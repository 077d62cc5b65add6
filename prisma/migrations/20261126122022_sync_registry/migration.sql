-- AlterTable
ALTER TABLE "ModelVersion" ADD COLUMN     "provenance" JSONB;

-- CreateTable
CREATE TABLE "ApiToken" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "scope" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMPTZ(3),
    "revokedAt" TIMESTAMPTZ(3),

    CONSTRAINT "ApiToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SyncRemote" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SyncRemote_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SyncOutbox" (
    "id" UUID NOT NULL,
    "remoteId" UUID NOT NULL,
    "direction" TEXT NOT NULL,
    "modelName" TEXT NOT NULL,
    "versionRef" JSONB NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "bytesTotal" BIGINT NOT NULL DEFAULT 0,
    "bytesDone" BIGINT NOT NULL DEFAULT 0,
    "progress" JSONB NOT NULL DEFAULT '{}',
    "idempotencyKey" TEXT NOT NULL,
    "localVersion" INTEGER,
    "remoteVersion" INTEGER,
    "error" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SyncOutbox_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RemoteVersionLink" (
    "id" UUID NOT NULL,
    "remoteId" UUID NOT NULL,
    "localVersionId" UUID NOT NULL,
    "remoteModel" TEXT NOT NULL,
    "remoteVersion" INTEGER NOT NULL,
    "direction" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RemoteVersionLink_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "UploadSession" (
    "id" UUID NOT NULL,
    "sha256" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "partSize" INTEGER NOT NULL,
    "s3UploadId" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "UploadSession_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ReceivedPush" (
    "idempotencyKey" TEXT NOT NULL,
    "versionId" UUID NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ReceivedPush_pkey" PRIMARY KEY ("idempotencyKey")
);

-- CreateIndex
CREATE UNIQUE INDEX "ApiToken_tokenHash_key" ON "ApiToken"("tokenHash");

-- CreateIndex
CREATE UNIQUE INDEX "SyncRemote_name_key" ON "SyncRemote"("name");

-- CreateIndex
CREATE UNIQUE INDEX "SyncOutbox_idempotencyKey_key" ON "SyncOutbox"("idempotencyKey");

-- CreateIndex
CREATE INDEX "SyncOutbox_state_nextAttemptAt_idx" ON "SyncOutbox"("state", "nextAttemptAt");

-- CreateIndex
CREATE UNIQUE INDEX "RemoteVersionLink_remoteId_localVersionId_key" ON "RemoteVersionLink"("remoteId", "localVersionId");

-- CreateIndex
CREATE UNIQUE INDEX "RemoteVersionLink_remoteId_remoteModel_remoteVersion_key" ON "RemoteVersionLink"("remoteId", "remoteModel", "remoteVersion");

-- CreateIndex
CREATE INDEX "UploadSession_sha256_idx" ON "UploadSession"("sha256");

-- AddForeignKey
ALTER TABLE "SyncOutbox" ADD CONSTRAINT "SyncOutbox_remoteId_fkey" FOREIGN KEY ("remoteId") REFERENCES "SyncRemote"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RemoteVersionLink" ADD CONSTRAINT "RemoteVersionLink_remoteId_fkey" FOREIGN KEY ("remoteId") REFERENCES "SyncRemote"("id") ON DELETE CASCADE ON UPDATE CASCADE;

