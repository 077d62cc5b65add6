/** What a user types to pick a version: `3`, `v3`, an alias, `latest` or `active`. */
export const parseVersionRef = (text: string): { version: number } | { alias: string } | undefined => {
  const trimmed = text.trim();
  const numbered = /^v?(\d{1,9})$/i.exec(trimmed);
  if (numbered) return Number(numbered[1]) >= 1 ? { version: Number(numbered[1]) } : undefined;
  return /^[a-z][a-z0-9_-]{0,63}$/i.test(trimmed) ? { alias: trimmed } : undefined;
};

/** Texts pasted one per paragraph (blank line between), or one per line when there are no blank lines. */
export const splitTexts = (input: string): string[] => {
  const separator = /\n\s*\n/.test(input) ? /\n\s*\n/ : /\n/;
  return input
    .split(separator)
    .map((text) => text.trim())
    .filter(Boolean);
};
