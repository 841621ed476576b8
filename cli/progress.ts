import type { GenerateProgress } from '../workflows/signals';

const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : `${(100 * x).toFixed(1)}%`);

/** One-line summary of a run's progress, for the progress bar and `agentark status`. */
export function progressLine(p: GenerateProgress): string {
  const rounds = p.accuracyByRound.map((a, i) => `r${i + 1} ${pct(a)}`).join(' ');
  return `${p.stage} | done ${p.done + p.alreadyDone}/${p.total} (failed ${p.failed}, in flight ${p.inFlight}) | calls ${p.calls}, tokens ${p.promptTokens + p.completionTokens} | accuracy ${rounds || '–'} | consensus ${pct(p.consensusAccuracy)}`;
}

export function progressReport(p: GenerateProgress): string {
  const lines = [
    `run        ${p.runId}  (stage: ${p.stage})`,
    `problems   ${p.total}: ${p.done} debated now, ${p.alreadyDone} stored earlier, ${p.failed} failed, ${p.inFlight} in flight`,
    `LLM        ${p.calls} calls, ${p.promptTokens} prompt + ${p.completionTokens} completion tokens; early stop saved ${p.callsSaved} calls`,
    `accuracy   ${p.accuracyByRound.map((a, i) => `round ${i + 1}: ${pct(a)}`).join(', ') || '–'}; consensus ${pct(p.consensusAccuracy)}`,
  ];
  for (const f of p.failures.slice(0, 5)) lines.push(`failed     ${f.problemId}: ${f.error}`);
  if (p.failed > 0) lines.push('Start the run again with the same run id to retry the failed problems; finished ones are not redone.');
  return lines.join('\n');
}
