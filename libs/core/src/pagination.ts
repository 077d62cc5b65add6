export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * Turns `limit + 1` fetched rows into a page: the extra row only says that more exist, and
 * the cursor is the last returned row's key.
 */
export const pageOf = <T>(rows: readonly T[], limit: number, cursorOf: (item: T) => string): Page<T> => {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null };
};
