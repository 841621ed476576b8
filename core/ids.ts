/**
 * Ids and keys derived from a run id and a problem id. They must be one-to-one: two problems (or two
 * runs) may never share an artifact key or a workflow id, or one would be taken for the other's work.
 */

/**
 * A problem id as one key segment: every character outside [A-Za-z0-9._-] and every "~" becomes "~"
 * plus four hex digits of its UTF-16 code unit. Fixed width and "~" escaped, so the mapping is
 * one-to-one; "." and ".." also get escaped so a segment is never a path step.
 */
export function safeItem(id: string): string {
  const escaped = id.replace(/[^A-Za-z0-9._-]/g, (c) => `~${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped === '.' || escaped === '..' ? escaped.replace(/\./g, '~002e') : escaped;
}

export const debateKey = (runId: string, problemId: string): string => `runs/${runId}/debates/${safeItem(problemId)}.json`;

/** Run ids never contain "/", so "/" separates the parts unambiguously. */
export const generateWorkflowId = (runId: string): string => `generate-${runId}`;
export const debateWorkflowId = (runId: string, problemId: string): string => `debate/${runId}/${problemId}`;
