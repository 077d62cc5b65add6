-- CreateTable
CREATE TABLE "StoredBlob" (
    "sha256" CHAR(64) NOT NULL,
    "size" BIGINT NOT NULL,
    "storedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "StoredBlob_pkey" PRIMARY KEY ("sha256")
);

