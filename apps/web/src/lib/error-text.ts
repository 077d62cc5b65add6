/** What the UI needs of a failed call (the client's `trainyardErrorInfo`). */
export interface ErrorFacts {
  message: string;
  httpStatus: number | null;
  issues: ReadonlyArray<{ path: readonly string[]; message: string }>;
}

export interface FieldProblem {
  /** The input path as the server names it, e.g. `trainer.cwd` (the key forms match on). */
  key: string;
  /** The same path in words, e.g. `trainer cwd`, `trainer command #1`. */
  label: string;
  message: string;
}

/** `['trainer', 'command', '0']` → `trainer command #1`; an empty path is the input itself. */
export const fieldLabel = (path: readonly string[]): string =>
  path.length === 0 ? 'input' : path.map((segment) => (/^\d+$/.test(segment) ? `#${Number(segment) + 1}` : segment)).join(' ');

/** tRPC's message for a refused input is the validator's issue list as JSON. */
const looksLikeJson = (text: string): boolean => /^\s*[[{]/.test(text);

/**
 * A failure in plain words: one sentence, and each refused field with its own message. The raw
 * validation JSON the server puts in a refused input's message is never shown.
 */
export const describeError = (facts: ErrorFacts): { summary: string; fields: FieldProblem[] } => {
  const fields = facts.issues.map((issue) => ({ key: issue.path.join('.'), label: fieldLabel(issue.path), message: issue.message }));
  if (fields.length === 0) return { summary: looksLikeJson(facts.message) ? 'The server refused the request.' : facts.message, fields };
  if (looksLikeJson(facts.message))
    return { summary: fields.length === 1 ? 'One field was not accepted.' : `${fields.length} fields were not accepted.`, fields };
  // A domain message that already lists the fields ("Invalid X: a: must be …") keeps its first part.
  const listed = fields.some((field) => facts.message.includes(field.message));
  const head = facts.message.split(': ')[0] ?? facts.message;
  return { summary: listed ? head : facts.message, fields };
};

/**
 * Whether trying the same call again can succeed: the server was unreachable (no status), timed
 * out, was overloaded or failed (5xx). A 4xx says something about the request — a 404 stays a
 * 404 — so it offers no retry.
 */
export const isRetryable = (httpStatus: number | null): boolean => httpStatus === null || httpStatus >= 500 || httpStatus === 408 || httpStatus === 429;

/**
 * Refused fields split between the form's own fields (shown under each) and the rest (listed
 * with the error). `fieldOf` maps a server path key (e.g. `trainer.cwd`) to a form field name.
 */
export const placeFieldProblems = (
  fields: readonly FieldProblem[],
  fieldOf: (key: string) => string | undefined,
): { byField: Record<string, string>; rest: FieldProblem[] } => {
  const byField: Record<string, string> = {};
  const rest: FieldProblem[] = [];
  for (const field of fields) {
    const name = fieldOf(field.key);
    if (name === undefined) rest.push(field);
    else byField[name] = byField[name] ? `${byField[name]}; ${field.message}` : field.message;
  }
  return { byField, rest };
};
