import { newId } from '@trainyard/core';
import type { Database, SqlQueryable } from '@trainyard/db';

/**
 * Which local version is which version on a remote (`RemoteVersionLink`): written when a push or
 * pull completes, so a repeated pull is a no-op and the remotes listing shows both numbers.
 * Version ids only: their numbers and models are the model registry's (`versions.numbersOf`).
 */
export const createVersionLinks = (database: Database) => {
  const { prisma } = database;
  return {
    /** The local version id a remote's version was pulled (or pushed) as, if any. */
    async localVersionOf(remoteId: string, remoteModel: string, remoteVersion: number): Promise<string | undefined> {
      const link = await prisma.remoteVersionLink.findUnique({ where: { remoteId_remoteModel_remoteVersion: { remoteId, remoteModel, remoteVersion } } });
      return link?.localVersionId;
    },

    /** A pushed version's link, as a statement for the transaction that also marks the entry done (a repeat keeps the first). */
    recordPush(link: { remoteId: string; localVersionId: string; remoteModel: string; remoteVersion: number }) {
      return prisma.remoteVersionLink.upsert({
        where: { remoteId_localVersionId: { remoteId: link.remoteId, localVersionId: link.localVersionId } },
        create: { id: newId(), ...link, direction: 'push' },
        update: {},
      });
    },

    /** Forgets the links of a local version being deleted (registry's `VersionUsers.forget`), in its transaction. */
    async forgetVersion(tx: SqlQueryable, localVersionId: string): Promise<void> {
      await tx.query(`DELETE FROM "RemoteVersionLink" WHERE "localVersionId" = $1`, [localVersionId]);
    },

    /** A pulled version's link, inside the transaction that creates the local version. */
    async recordPull(tx: SqlQueryable, link: { remoteId: string; localVersionId: string; remoteModel: string; remoteVersion: number }): Promise<void> {
      await tx.query(
        `INSERT INTO "RemoteVersionLink" ("id", "remoteId", "localVersionId", "remoteModel", "remoteVersion", "direction") VALUES ($1, $2, $3, $4, $5, 'pull')`,
        [newId(), link.remoteId, link.localVersionId, link.remoteModel, link.remoteVersion],
      );
    },
  };
};

export type VersionLinks = ReturnType<typeof createVersionLinks>;
