import { describe, expect, it } from 'vitest';
import { parseArgv } from './argv';

describe('a command typed into the form', () => {
  it('splits one line into words, quotes keeping spaces', () => {
    expect(parseArgv('python3 train.py --epochs 3')).toEqual(['python3', 'train.py', '--epochs', '3']);
    expect(parseArgv(`  /usr/bin/python3   "my script.py" --name 'a b' ""  `)).toEqual(['/usr/bin/python3', 'my script.py', '--name', 'a b', '']);
  });

  it('takes several lines as one argument each, spaces and all', () => {
    expect(parseArgv('python3\n/data/my script.py\n\n--lr\n0.1\n')).toEqual(['python3', '/data/my script.py', '--lr', '0.1']);
    expect(parseArgv('a\r\nb c')).toEqual(['a', 'b c']);
  });

  it('is empty for nothing typed', () => {
    expect(parseArgv('')).toEqual([]);
    expect(parseArgv(' \n \n')).toEqual([]);
  });
});
