/**
 * A figure as the bench prints it, `name: value (ratio to its reference)`, with the target it is
 * held to, so the JSON says both what was measured and whether it is good enough.
 */

export interface Target {
  /** What is compared: the value itself or its ratio to the reference. */
  on: 'value' | 'ratio';
  op: '<=' | '<' | '>=';
  bound: number;
}

export interface Row {
  name: string;
  value: number | null;
  unit: string;
  reference?: { name: string; value: number };
  ratio?: number | null;
  target?: Target;
  met?: boolean | null;
  note?: string;
}

export function row(name: string, value: number | null, unit: string, extra: { reference?: { name: string; value: number | null }; target?: Target; note?: string } = {}): Row {
  const ref = extra.reference && extra.reference.value !== null && Number.isFinite(extra.reference.value) ? { name: extra.reference.name, value: extra.reference.value } : undefined;
  const ratio = ref && value !== null && ref.value !== 0 ? value / ref.value : ref ? null : undefined;
  const out: Row = { name, value, unit, ...(ref ? { reference: ref } : {}), ...(ratio !== undefined ? { ratio } : {}) };
  if (extra.target) {
    out.target = extra.target;
    const x = extra.target.on === 'value' ? value : ratio;
    out.met = x === null || x === undefined ? null : compare(x, extra.target);
  }
  if (extra.note) out.note = extra.note;
  return out;
}

function compare(x: number, t: Target): boolean {
  switch (t.op) {
    case '<=':
      return x <= t.bound;
    case '<':
      return x < t.bound;
    case '>=':
      return x >= t.bound;
  }
}

const UNITS: Record<string, (v: number) => string> = {
  s: (v) => `${v.toFixed(1)} s`,
  'calls/s': (v) => `${v.toFixed(1)} calls/s`,
  'problems/s': (v) => `${v.toFixed(2)} problems/s`,
  bytes: (v) => (v >= 1024 * 1024 ? `${(v / 1024 / 1024).toFixed(2)} MiB` : `${(v / 1024).toFixed(1)} KiB`),
  cores: (v) => `${v.toFixed(2)} cores`,
  '': (v) => (Number.isInteger(v) ? String(v) : v.toFixed(3)),
};

export function formatValue(value: number | null, unit: string): string {
  if (value === null) return 'n/a';
  return (UNITS[unit] ?? ((v: number) => `${Number.isInteger(v) ? v : v.toFixed(3)} ${unit}`))(value);
}

/** `name: value (ratio × reference)`, then the target and whether it is met. */
export function formatRow(r: Row): string {
  const ratio = r.reference ? ` (${r.ratio === null || r.ratio === undefined ? 'n/a' : r.ratio.toFixed(3)} × ${r.reference.name})` : '';
  const bound = r.target ? (r.target.on === 'ratio' ? `ratio ${r.target.op} ${r.target.bound}` : `${r.target.op} ${formatValue(r.target.bound, r.unit)}`) : '';
  const target = r.target ? `  [target ${bound}: ${r.met === null ? 'n/a' : r.met ? 'met' : 'NOT met'}]` : '';
  return `${r.name}: ${formatValue(r.value, r.unit)}${ratio}${target}${r.note ? `  (${r.note})` : ''}`;
}
