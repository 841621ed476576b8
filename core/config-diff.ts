/**
 * What differs between the config a run was first started with and the one it is started with again,
 * and which of those fields a restart may change (only how fast and how patiently the run works, never
 * what it computes: the dataset, the debate's shape, the teacher, the prompts, the seed).
 */

/** Dotted paths a restart may change when its input lists them in `allowConfigChange` (a parent covers its fields). */
export const CHANGEABLE_FIELDS = [
  'window', 'childrenPerExecution', 'settleAfterSeconds', 'llmQueue', 'noWorkerTimeoutMinutes', 'debateTimeoutMinutes', 'breaker',
] as const;

export interface ConfigChange {
  path: string;
  old: unknown;
  new: unknown;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Leaf-wise differences (arrays compared whole), sorted by path. */
export function diffConfig(old: unknown, next: unknown, prefix = ''): ConfigChange[] {
  if (isRecord(old) && isRecord(next)) {
    const keys = [...new Set([...Object.keys(old), ...Object.keys(next)])].sort();
    return keys.flatMap((k) => diffConfig(old[k], next[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(old) === JSON.stringify(next) ? [] : [{ path: prefix || '(config)', old, new: next }];
}

const covers = (parent: string, path: string): boolean => path === parent || path.startsWith(`${parent}.`);

export const isChangeable = (path: string): boolean => CHANGEABLE_FIELDS.some((c) => covers(c, path));

/** The changes not covered by `allowed` (each entry a changeable path or a parent of one). */
export function refusedChanges(changes: ConfigChange[], allowed: readonly string[]): ConfigChange[] {
  return changes.filter((c) => !(isChangeable(c.path) && allowed.some((a) => covers(a, c.path))));
}

export function describeChanges(changes: ConfigChange[]): string {
  const show = (v: unknown): string => (v === undefined ? '(unset)' : JSON.stringify(v));
  return changes.map((c) => `${c.path}: ${show(c.old)} → ${show(c.new)}`).join('; ');
}
