/** The innermost message of a failure: an activity's own words, not "Activity task failed". */
export function rootMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  let message = e?.message ?? String(err);
  for (let depth = 0; e && depth < 6; depth++, e = e.cause as typeof e) if (e.message) message = e.message;
  return message;
}
