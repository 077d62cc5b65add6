import { z } from 'zod';

/** Limits shared by every input: bounded sizes are part of the contract, not an afterthought. */
export const LIMITS = {
  nameLength: 255,
  descriptionLength: 10_000,
  pageSize: 200,
  tagsPerItem: 50,
  tagLength: 64,
} as const;

export const pageInput = {
  limit: z.number().int().min(1).max(LIMITS.pageSize).default(50),
  cursor: z.string().max(200).optional(),
};
