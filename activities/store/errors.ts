/**
 * Errors of the artifact store. Each has a distinct `name`, which Temporal carries as the
 * ApplicationFailure type, so a caller (or a retry policy) can match on it.
 */

/** A get/read of a key that holds no object. */
export class ArtifactNotFound extends Error {
  override readonly name = 'ArtifactNotFound';
  constructor(readonly url: string) {
    super(`artifact not found: ${url}`);
  }
}

/** A store URL that names no backend we have, or names one badly. */
export class InvalidStoreUrl extends Error {
  override readonly name = 'InvalidStoreUrl';
  constructor(readonly url: string, reason: string) {
    super(`invalid store URL ${JSON.stringify(url)}: ${reason} (expected file:///absolute/dir or s3://bucket/prefix)`);
  }
}

/** A JSONL line that is not valid JSON. */
export class JsonlParseError extends Error {
  override readonly name = 'JsonlParseError';
  constructor(readonly url: string, readonly line: number, readonly reason: string) {
    super(`${url} line ${line}: invalid JSON (${reason})`);
  }
}

/** A line longer than the reader's limit: refused rather than buffered without bound. */
export class LineTooLong extends Error {
  override readonly name = 'LineTooLong';
  constructor(readonly url: string, readonly line: number, readonly maxBytes: number) {
    super(`${url} line ${line}: line is longer than the maximum of ${maxBytes} bytes`);
  }
}

/** A failure of the backing service that is not about one missing key (no bucket, no access). */
export class ArtifactStoreError extends Error {
  override readonly name = 'ArtifactStoreError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
