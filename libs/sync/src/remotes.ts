import type { RemoteOutput } from '@trainyard/contracts';
import { DomainError, newId, notFound } from '@trainyard/core';
import type { Database } from '@trainyard/db';
import type { ModelVersionService } from '@trainyard/registry';
import { assertSafeRemoteUrl, type HostResolver, systemResolver } from './remote-address';
import type { RemoteServer, RemoteServerFactory, RemoteSecrets } from './remote-server.port';

/** A remote as callers see it, with its version links: its contract is `remoteOutput` in libs/contracts. */
export type { RemoteOutput };

/** A remote as the outbox keeps it: the row, without its token (that lives in RemoteSecrets). */
export interface RemoteRecord {
  id: string;
  name: string;
  url: string;
}

/**
 * The shared servers this machine syncs with (`SyncRemote`): added with a token (kept in
 * RemoteSecrets, never in the database), listed with their version links, removed; and
 * connected to, re-checking the address every time (a name may resolve elsewhere tomorrow).
 */
export const createRemotes = (deps: {
  database: Database;
  versions: Pick<ModelVersionService, 'numbersOf'>;
  secrets: RemoteSecrets;
  connect: RemoteServerFactory;
  resolver?: HostResolver;
}) => {
  const { prisma } = deps.database;
  const resolver = deps.resolver ?? systemResolver;

  const byName = async (name: string): Promise<RemoteRecord> => {
    const remote = await prisma.syncRemote.findUnique({ where: { name } });
    if (!remote) throw notFound(`Remote ${name}`, { remote: name });
    return remote;
  };

  const list = async (): Promise<RemoteOutput[]> => {
    const remotes = await prisma.syncRemote.findMany({ orderBy: { name: 'asc' }, include: { links: { orderBy: { createdAt: 'asc' } } } });
    const versions = await deps.versions.numbersOf(remotes.flatMap((remote) => remote.links.map((link) => link.localVersionId)));
    const byId = new Map(versions.map((v) => [v.id, v]));
    return remotes.map((remote) => ({
      id: remote.id,
      name: remote.name,
      url: remote.url,
      createdAt: remote.createdAt,
      links: remote.links.flatMap((link) => {
        const local = byId.get(link.localVersionId);
        return local ? [{ model: local.model, localVersion: local.version, remoteVersion: link.remoteVersion, direction: link.direction }] : [];
      }),
    }));
  };

  return {
    byName,
    list,

    async add(input: { name: string; url: string; token: string }): Promise<RemoteOutput> {
      const url = (await assertSafeRemoteUrl(input.url, resolver)).toString().replace(/\/+$/, '');
      const existing = await prisma.syncRemote.findUnique({ where: { name: input.name } });
      if (existing) throw new DomainError('CONFLICT', `A remote named ${input.name} already exists; remove it first`, { remote: input.name });
      const id = newId();
      await deps.secrets.set(id, input.token);
      await prisma.syncRemote.create({ data: { id, name: input.name, url } });
      return (await list()).find((remote) => remote.id === id) as RemoteOutput;
    },

    async remove(name: string): Promise<void> {
      const remote = await byName(name);
      await prisma.syncRemote.delete({ where: { id: remote.id } });
      await deps.secrets.delete(remote.id);
    },

    /** A client for the remote, with its stored token; refuses an address that is not (or no longer) safe. */
    async connect(remote: RemoteRecord): Promise<RemoteServer> {
      const token = await deps.secrets.get(remote.id);
      if (!token) throw new DomainError('FAILED_PRECONDITION', `No token stored for remote ${remote.name}; add it again`);
      await assertSafeRemoteUrl(remote.url, resolver);
      return deps.connect({ url: remote.url, token });
    },
  };
};

export type Remotes = ReturnType<typeof createRemotes>;
