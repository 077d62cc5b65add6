import { describe, expect, it } from 'vitest';
import { artifactName } from './artifacts.schema';

describe('artifact names', () => {
  it('take any well-formed text, and refuse control characters and lone surrogates with a reason', () => {
    expect(artifactName.parse('output/model/naïve café 😀.bin')).toBe('output/model/naïve café 😀.bin');
    expect(artifactName.safeParse('a\u0007b').error?.issues[0]?.message).toMatch(/control characters/);
    // Half of an emoji's surrogate pair, either half: not Unicode text, and the database refuses it.
    for (const name of ['half \ud83d of an emoji', '\ude00']) expect(artifactName.safeParse(name).error?.issues[0]?.message).toMatch(/lone surrogate/);
  });
});
