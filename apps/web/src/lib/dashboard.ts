/** The snapshot a fresh local database is seeded with (apps/server demo-dataset.ts). */
export const DEMO_SNAPSHOT_NAME = 'demo (synthetic pairs)';

/** A count read from one page of a list: "200+" when there are more pages than were read. */
export const pageCount = (page: { items: readonly unknown[]; nextCursor: string | null } | undefined): string =>
  page === undefined ? '…' : `${page.items.length}${page.nextCursor ? '+' : ''}`;

export interface NewJobPrefill {
  trainer?: string;
  snapshotId?: string;
}

/** The jobs screen with its new-job form open and filled in (`/jobs?new=1&trainer=…&snapshot=…`). */
export const newJobHref = (prefill: NewJobPrefill): string => {
  const search = new URLSearchParams({ new: '1' });
  if (prefill.trainer) search.set('trainer', prefill.trainer);
  if (prefill.snapshotId) search.set('snapshot', prefill.snapshotId);
  return `/jobs?${search.toString()}`;
};

/** What `newJobHref` asked for; undefined when the form is not to be opened. */
export const prefillFromSearch = (search: URLSearchParams): NewJobPrefill | undefined => {
  if (search.get('new') !== '1') return undefined;
  const trainer = search.get('trainer');
  const snapshotId = search.get('snapshot');
  return { ...(trainer ? { trainer } : {}), ...(snapshotId ? { snapshotId } : {}) };
};
