import { z } from 'zod';

/** The longest input a scoring contract may ask for: 64 Ki byte ids per text. */
export const MAX_INPUT_LENGTH = 65_536;

/**
 * `scoring.json`: how to score texts with a version's `model.onnx`, whatever framework made it
 * (libs/training/PROTOCOL.md, "Scoring contract"). Strict: an unknown key is a mistake, not an extension.
 */
export const scoringContract = z.strictObject({
  format: z.literal('onnx'),
  input: z.strictObject({
    name: z.string().min(1).max(200),
    /** int64 ids, byte value + 1, 0 = padding, truncated to maxLength, shape [batch, maxLength]. */
    encoding: z.literal('utf8-bytes'),
    maxLength: z.number().int().min(1).max(MAX_INPUT_LENGTH),
  }),
  output: z.strictObject({
    name: z.string().min(1).max(200),
    /** `probability`: the model's output is P(machine-written) in 0..1; `logit`: its log-odds (sigmoid applied here). */
    kind: z.enum(['probability', 'logit']),
  }),
});
export type ScoringContract = z.infer<typeof scoringContract>;

/** The contract file's largest size: a few hundred bytes are enough. */
export const MAX_CONTRACT_BYTES = 64 * 1024;

/** Parses `scoring.json`'s bytes; the error names every problem in words. */
export const parseScoringContract = (bytes: Buffer): ScoringContract => {
  if (bytes.length > MAX_CONTRACT_BYTES) throw new Error(`scoring.json is ${bytes.length} bytes; at most ${MAX_CONTRACT_BYTES}`);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new Error(`scoring.json is not JSON: ${(error as Error).message}`);
  }
  const parsed = scoringContract.safeParse(json);
  if (!parsed.success) {
    throw new Error(
      `scoring.json does not follow the scoring contract: ${parsed.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
};
