/**
 * Artifact keys are relative, slash-separated paths such as `runs/<runId>/debates/<id>.json`.
 * They are validated once here so that the disk and S3 backends agree on what a key means:
 * a key that could escape the store's folder, or that S3 and a filesystem would read differently,
 * is refused instead of being normalised into something else.
 */

export class InvalidKeyError extends Error {
  override readonly name = 'InvalidArtifactKey';
  constructor(readonly key: string, readonly reason: string) {
    super(`invalid artifact key ${JSON.stringify(key)}: ${reason}`);
  }
}

function problemOf(key: string, allowTrailingSlash: boolean): string | null {
  if (key.length === 0) return 'it is empty';
  if (key.includes('\0')) return 'it contains a NUL character';
  if (key.includes('\\')) return "it contains a backslash (use '/' between segments)";
  if (key.startsWith('/')) return 'it is an absolute path (keys are relative to the store)';
  if (/^[A-Za-z]:/.test(key)) return 'it looks like a drive-letter path (keys are relative to the store)';
  const body = allowTrailingSlash && key.endsWith('/') ? key.slice(0, -1) : key;
  for (const segment of body.split('/')) {
    if (segment === '') return "it has an empty segment ('//' or a trailing '/')";
    if (segment === '..') return "it has a '..' segment";
    // '.' would be collapsed on disk but kept verbatim by S3: two backends, two different objects.
    if (segment === '.') return "it has a '.' segment";
  }
  return null;
}

/** Returns the key unchanged, or throws InvalidKeyError naming it and the rule it breaks. */
export function validateKey(key: string): string {
  const problem = problemOf(key, false);
  if (problem !== null) throw new InvalidKeyError(key, problem);
  return key;
}

/** A list prefix: '' (everything), or a key-like string that may end with '/' or part of a segment. */
export function validatePrefix(prefix: string): string {
  if (prefix === '') return prefix;
  const problem = problemOf(prefix, true);
  if (problem !== null) throw new InvalidKeyError(prefix, problem);
  return prefix;
}

/** Joins segments with '/', then validates the result. */
export function joinKey(...segments: string[]): string {
  return validateKey(segments.join('/'));
}
