import { createHash } from 'node:crypto';

/**
 * A config's identity for stage manifests: two configs that differ only in key order hash the
 * same, so reordering a JSON file never invalidates finished stages.
 */
export function stableStringify(value: unknown): string {
  return JSON.stringify(sortKeys(value, '$'));
}

function sortKeys(value: unknown, path: string): unknown {
  if (typeof value === 'bigint' || typeof value === 'function' || typeof value === 'symbol') {
    throw new TypeError(`config hash: ${path} is a ${typeof value}, which has no JSON form`);
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new TypeError(`config hash: ${path} is ${value}, which has no JSON form`);
  }
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item, i) => sortKeys(item ?? null, `${path}[${i}]`));
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return sortKeys((toJSON as () => unknown).call(value), path);
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const item = (value as Record<string, unknown>)[key];
    if (item !== undefined) sorted[key] = sortKeys(item, `${path}.${key}`);
  }
  return sorted;
}

/** `sha256:<hex>` of the config's stable JSON. */
export function hashConfig(value: unknown): string {
  return `sha256:${createHash('sha256').update(stableStringify(value)).digest('hex')}`;
}
