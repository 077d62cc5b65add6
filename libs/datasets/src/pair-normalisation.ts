import { sha256Hex } from '@trainyard/core';

/**
 * The only normalisation applied before two pairs are compared (documented in docs/training-data.md):
 * Unicode NFC, and trailing whitespace removed from each text. Case, inner whitespace and
 * punctuation are meaningful for style, so they are kept.
 */
// trimEnd removes exactly what /\s+$/u would (WhiteSpace and LineTerminator), without a regex.
export const normaliseText = (text: string): string => text.normalize('NFC').trimEnd();

/** Identical normalised (AI text, humanized text) = the same pair. */
export const pairContentHash = (aiText: string, humanizedText: string): string => sha256Hex(`${normaliseText(aiText)}\u0000${normaliseText(humanizedText)}`);
