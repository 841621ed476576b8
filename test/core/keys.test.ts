import { InvalidKeyError, joinKey, validateKey, validatePrefix } from '../../core/keys';

describe('artifact keys', () => {
  it('accepts ordinary relative keys unchanged', () => {
    for (const key of ['a.json', 'runs/r-1/debates/gsm8k-17.json', '.hidden', 'a/b c/d..e.txt']) expect(validateKey(key)).toBe(key);
    expect(joinKey('runs', 'r1', 'manifest.json')).toBe('runs/r1/manifest.json');
  });

  it.each([
    ['', 'it is empty'],
    ['../x', "'..' segment"],
    ['a/../b', "'..' segment"],
    ['a/..', "'..' segment"],
    ['./a', "'.' segment"],
    ['/etc/passwd', 'absolute path'],
    ['C:/x', 'drive-letter'],
    ['a//b', 'empty segment'],
    ['a/', 'empty segment'],
    ['a\\b', 'backslash'],
    ['a\0', 'NUL'],
  ])('refuses %j naming the key and the rule', (key, reason) => {
    let error: unknown;
    try {
      validateKey(key);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidKeyError);
    expect((error as InvalidKeyError).name).toBe('InvalidArtifactKey');
    expect((error as Error).message).toContain(JSON.stringify(key));
    expect((error as Error).message).toContain(reason);
  });

  it('allows list prefixes that end in a slash or part of a name', () => {
    expect(validatePrefix('')).toBe('');
    expect(validatePrefix('runs/r1/')).toBe('runs/r1/');
    expect(validatePrefix('runs/r1/deb')).toBe('runs/r1/deb');
    expect(() => validatePrefix('runs//')).toThrow('empty segment');
    expect(() => validatePrefix('../')).toThrow("'..' segment");
  });
});
