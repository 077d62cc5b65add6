/**
 * A command as typed into the new-job form → argv. Several lines: one argument per line, taken
 * as typed (spaces inside a line stay — for paths and arguments with spaces). One line: words
 * split on spaces, where "double" or 'single' quotes keep spaces inside one word. Nothing goes
 * through a shell: the trainer is started with exactly these arguments.
 */
export const parseArgv = (text: string): string[] => {
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  if (lines.length !== 1) return lines;
  const words: string[] = [];
  let word = '';
  let quote: '"' | "'" | undefined;
  let started = false;
  for (const char of lines[0] ?? '') {
    if (quote) {
      if (char === quote) quote = undefined;
      else word += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      started = true;
    } else if (/\s/.test(char)) {
      if (started) words.push(word);
      word = '';
      started = false;
    } else {
      word += char;
      started = true;
    }
  }
  if (started) words.push(word);
  return words;
};
