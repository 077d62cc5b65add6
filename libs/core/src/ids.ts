import { v7 as uuidv7 } from 'uuid';

/** Time-ordered UUIDs: rows inserted later sort later, which keeps cursor pagination stable. */
export const newId = (): string => uuidv7();

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const isUuid = (value: string): boolean => UUID_PATTERN.test(value);
