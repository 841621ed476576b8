/**
 * Dataset errors say which file, which line and which field, so a user can open the file at
 * that line and see the problem: "gsm8k test.jsonl line 17: field 'answer' has no '#### <number>' line".
 */

/** One record that cannot become a Problem. `field` is null when the line itself is bad (not JSON, too long). */
export class DatasetRecordError extends Error {
  override readonly name = 'DatasetRecordError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly field: string | null,
    readonly detail: string,
  ) {
    super(`${file} line ${line}: ${field === null ? detail : `field '${field}' ${detail}`}`);
  }
}

/** A file with no records at all, or with none that could be loaded. */
export class DatasetEmptyError extends Error {
  override readonly name = 'DatasetEmptyError';
  constructor(readonly file: string, detail: string) {
    super(`${file}: ${detail}`);
  }
}

/** Options that cannot work for this dataset (a bad mapping, an undecidable MedMCQA answer index). */
export class DatasetConfigError extends Error {
  override readonly name = 'DatasetConfigError';
}

/** Thrown by a format's parser for one record; the loader adds file and line. */
export class FieldError extends Error {
  override readonly name = 'FieldError';
  constructor(readonly field: string, readonly detail: string) {
    super(`field '${field}' ${detail}`);
  }
}
