import type { Watch } from '@kubernetes/client-node';

export interface WatchLoopOptions<T> {
  watch: Watch;
  /** The collection's path, e.g. `/apis/batch/v1/namespaces/<ns>/jobs`. */
  path: string;
  labelSelector: string;
  /** A full list (what the watch resumes from): on start, and again after 410 Gone. */
  list(): Promise<{ items: T[]; resourceVersion: string | undefined }>;
  onSync(items: T[]): void;
  onEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T): void;
  onError?(error: unknown): void;
}

interface Versioned {
  metadata?: { resourceVersion?: string };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Lists, then watches from the list's resourceVersion, for as long as it runs: a watch the API
 * server closes (they do, every few minutes, and a proxy may cut one) is opened again from the
 * last resourceVersion seen; one that answers 410 Gone (that version was compacted away) is
 * replaced by a new list, so no change is missed either way.
 */
export const startWatchLoop = <T extends Versioned>(options: WatchLoopOptions<T>): { stop(): void } => {
  let stopped = false;
  let controller: AbortController | undefined;
  let resourceVersion: string | undefined;
  let listed = false;

  const watchOnce = (): Promise<unknown> =>
    new Promise((resolve) => {
      void options.watch
        .watch(
          options.path,
          { labelSelector: options.labelSelector, resourceVersion, allowWatchBookmarks: true },
          (type: string, object: (T & { code?: number }) | undefined) => {
            if (stopped || !object) return;
            if (type === 'ERROR') {
              // The API server says so in the stream (a Status): the version is too old, list again.
              if (object.code === 410) listed = false;
              else options.onError?.(new Error(`watch ${options.path}: ${JSON.stringify(object)}`));
              return;
            }
            const version = object.metadata?.resourceVersion;
            if (version) resourceVersion = version;
            if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') options.onEvent(type, object);
          },
          resolve,
        )
        .then((opened) => {
          controller = opened;
          if (stopped) opened.abort();
        }, resolve);
    });

  void (async () => {
    let failures = 0;
    while (!stopped) {
      try {
        if (!listed) {
          const list = await options.list();
          if (stopped) break;
          resourceVersion = list.resourceVersion;
          listed = true;
          options.onSync(list.items);
        }
        const closedWith = (await watchOnce()) as { statusCode?: number } | null | undefined;
        if (closedWith?.statusCode === 410) listed = false;
        if (closedWith && !stopped) throw closedWith;
        failures = 0;
      } catch (error) {
        if (stopped) break;
        failures += 1;
        options.onError?.(error);
      }
      await sleep(failures === 0 ? 50 : Math.min(100 * 2 ** failures, 5_000));
    }
  })();

  return {
    stop() {
      stopped = true;
      controller?.abort();
    },
  };
};
