/** A loaded model: how many bytes it holds, and how to let them go. */
export interface LoadedModel {
  bytes: number;
  release(): Promise<void>;
}

interface Entry<M extends LoadedModel> {
  loading: Promise<M>;
  bytes: number;
  users: number;
  evicted: boolean;
}

/**
 * Loaded models by version id, bounded by their bytes (least recently used first out). A model is
 * loaded once however many requests ask for it at once; an evicted model is released when its
 * last running request ends, never under one. A model larger than the whole bound is loaded for
 * its request and released after it. A failed load is not kept: the next request tries again.
 */
export const createLoadedModelCache = <M extends LoadedModel>(maxBytes: number) => {
  const entries = new Map<string, Entry<M>>();
  let cachedBytes = 0;

  const releaseIfIdle = (entry: Entry<M>): void => {
    if (entry.evicted && entry.users === 0) void entry.loading.then((model) => model.release()).catch(() => undefined);
  };
  const evict = (key: string, entry: Entry<M>): void => {
    if (entries.get(key) === entry) entries.delete(key);
    cachedBytes -= entry.bytes;
    entry.bytes = 0;
    entry.evicted = true;
    releaseIfIdle(entry);
  };
  const makeRoom = (): void => {
    for (const [key, entry] of entries) {
      if (cachedBytes <= maxBytes) return;
      if (entry.bytes > 0) evict(key, entry); // one still loading holds nothing yet
    }
  };

  return {
    /** Runs `use` with the model of `key`, loading it with `load` unless it is cached. */
    async with<T>(key: string, load: () => Promise<M>, use: (model: M) => Promise<T>): Promise<T> {
      let entry = entries.get(key);
      if (entry) {
        // Most recently used last: Map keeps insertion order.
        entries.delete(key);
        entries.set(key, entry);
      } else {
        const created: Entry<M> = { loading: load(), bytes: 0, users: 0, evicted: false };
        entry = created;
        entries.set(key, created);
        created.loading.then(
          (model) => {
            if (created.evicted) return;
            created.bytes = model.bytes;
            cachedBytes += model.bytes;
            // The newest model is evicted last: it is what a request waits for now.
            if (model.bytes > maxBytes) evict(key, created);
            else makeRoom();
          },
          () => {
            if (entries.get(key) === created) entries.delete(key);
          },
        );
      }
      entry.users += 1;
      try {
        return await use(await entry.loading);
      } finally {
        entry.users -= 1;
        releaseIfIdle(entry);
      }
    },
    /** Bytes of the models held now, and how many. */
    stats: () => ({ bytes: cachedBytes, models: entries.size }),
    async clear(): Promise<void> {
      for (const [key, entry] of entries) evict(key, entry);
    },
  };
};

export type LoadedModelCache<M extends LoadedModel> = ReturnType<typeof createLoadedModelCache<M>>;
