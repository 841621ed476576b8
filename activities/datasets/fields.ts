import { FieldError } from './errors';

/** Typed reads of a raw JSON record's fields, failing with the field's name and what was wrong. */

export type RawRecord = Record<string, unknown>;

export function asRecord(value: unknown): RawRecord {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new FieldError('(record)', `must be a JSON object, got ${describe(value)}`);
  }
  return value as RawRecord;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.trim() === '' ? 'an empty string' : 'a string';
  return `a ${typeof value}`;
}

/** Dotted paths (`meta.answer`) reach into nested objects, for generic mappings. */
export function fieldValue(record: RawRecord, field: string): unknown {
  let value: unknown = record;
  for (const part of field.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = (value as RawRecord)[part];
  }
  return value;
}

export function requireString(record: RawRecord, field: string): string {
  const value = fieldValue(record, field);
  if (value === undefined) throw new FieldError(field, 'is missing');
  if (typeof value !== 'string') throw new FieldError(field, `must be a string, got ${describe(value)}`);
  if (value.trim() === '') throw new FieldError(field, 'is empty');
  return value;
}

/** Numbers are accepted where datasets commonly store an answer or an id as one. */
export function requireText(record: RawRecord, field: string): string {
  const value = fieldValue(record, field);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return requireString(record, field);
}

export function optionalString(record: RawRecord, field: string): string | undefined {
  const value = fieldValue(record, field);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new FieldError(field, `must be a string when present, got ${describe(value)}`);
  return value.trim() === '' ? undefined : value;
}

/** The dataset's own id when it has one (a string or a number), else undefined. */
export function optionalId(record: RawRecord, field: string): string | undefined {
  const value = fieldValue(record, field);
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string' || value.trim() === '') throw new FieldError(field, `must be a non-empty string or a number, got ${describe(value)}`);
  return value;
}

export function requireStringArray(record: RawRecord, field: string): string[] {
  const value = fieldValue(record, field);
  if (value === undefined) throw new FieldError(field, 'is missing');
  if (!Array.isArray(value)) throw new FieldError(field, `must be an array of strings, got ${describe(value)}`);
  return value.map((item, i) => {
    if (typeof item === 'number' && Number.isFinite(item)) return String(item);
    if (typeof item !== 'string' || item.trim() === '') throw new FieldError(`${field}[${i}]`, `must be a non-empty string, got ${describe(item)}`);
    return item;
  });
}
