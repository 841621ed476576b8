import { addUsage, noUsage } from '../../core/chat';
import type { DebateRecord } from '../../core/debate-record';
import type { DatasetStats } from '../../core/records';

/**
 * stats.json of buildDatasets (DatasetStats in core/records.ts), accumulated one debate at a time so
 * that no more than one artifact is ever held. Rounds are counted two ways: as run (a problem that
 * stopped early adds nothing to the rounds it skipped) and carried forward (its final answers stand
 * in for the skipped rounds), because only the latter compares round K with round 1 on the same problems.
 */
export class StatsTally {
  problems = 0;
  private readonly ran = new Map<number, { problems: number; turns: number; correct: number }>();
  /** Final-round turns of problems whose last round was r, carried into the rounds after r. */
  private readonly finalByLastRound = new Map<number, { turns: number; correct: number }>();
  private maxRound = 0;
  private consensusCorrect = 0;
  private histogram: number[] = [];
  private correctiveTraces = 0;
  private correctiveProblems = 0;
  private daEligible = 0;
  private readonly selectedBy = { llmJudge: 0, lexical: 0 };
  private earlyStopped = 0;
  private callsSaved = 0;
  private usage = noUsage;
  private undecidedTurns = 0;
  private undecidedSummarizer = 0;
  private readonly checkers = new Map<string, number>();

  constructor(private readonly runId: string) {}

  add(debate: DebateRecord): void {
    this.problems += 1;
    for (const { round, turns } of debate.rounds) {
      const row = this.ran.get(round) ?? { problems: 0, turns: 0, correct: 0 };
      row.problems += 1;
      row.turns += turns.length;
      row.correct += turns.filter((t) => t.correct === true).length;
      this.undecidedTurns += turns.filter((t) => t.correct === null).length;
      this.ran.set(round, row);
    }
    const last = debate.rounds[debate.rounds.length - 1];
    const carried = this.finalByLastRound.get(last.round) ?? { turns: 0, correct: 0 };
    carried.turns += last.turns.length;
    carried.correct += last.turns.filter((t) => t.correct === true).length;
    this.finalByLastRound.set(last.round, carried);
    this.maxRound = Math.max(this.maxRound, debate.roundsPlanned, last.round);

    if (debate.summarizer.correct === true) this.consensusCorrect += 1;
    if (debate.summarizer.correct === null) this.undecidedSummarizer += 1;
    const { correctAgents, correctiveTraces, diverseAgents, diverseSelectedBy } = debate.extraction;
    while (this.histogram.length <= Math.max(debate.agents, correctAgents.length)) this.histogram.push(0);
    this.histogram[correctAgents.length] += 1;
    this.correctiveTraces += correctiveTraces.length;
    if (correctiveTraces.length > 0) this.correctiveProblems += 1;
    if (correctAgents.length >= 2) {
      this.daEligible += 1;
      if (diverseAgents.length > 0 && diverseSelectedBy === 'llm-judge') this.selectedBy.llmJudge += 1;
      if (diverseAgents.length > 0 && diverseSelectedBy === 'lexical') this.selectedBy.lexical += 1;
    }
    if (debate.earlyStopAfterRound !== null) this.earlyStopped += 1;
    this.callsSaved += debate.callsSaved;
    this.usage = addUsage(this.usage, debate.usage);
    for (const v of [...debate.rounds.flatMap((r) => r.turns), debate.summarizer]) {
      const name = v.checker ?? 'unnamed (before checkers were named)';
      this.checkers.set(name, (this.checkers.get(name) ?? 0) + 1);
    }
  }

  finish(daRecords: number): DatasetStats {
    const fraction = (a: number, b: number): number | null => (b === 0 ? null : a / b);
    const carried = { turns: 0, correct: 0 };
    const rounds = Array.from({ length: this.maxRound }, (_, i) => {
      const round = i + 1;
      const ran = this.ran.get(round) ?? { problems: 0, turns: 0, correct: 0 };
      const previous = this.finalByLastRound.get(round - 1);
      carried.turns += previous?.turns ?? 0;
      carried.correct += previous?.correct ?? 0;
      const turnsCarriedForward = ran.turns + carried.turns;
      const correctCarriedForward = ran.correct + carried.correct;
      return {
        round, problems: ran.problems, turns: ran.turns, correct: ran.correct, accuracy: fraction(ran.correct, ran.turns),
        turnsCarriedForward, correctCarriedForward, accuracyCarriedForward: fraction(correctCarriedForward, turnsCarriedForward),
      };
    });
    return {
      runId: this.runId,
      problems: this.problems,
      rounds,
      consensus: { correct: this.consensusCorrect, accuracy: fraction(this.consensusCorrect, this.problems) },
      correctAgentsHistogram: this.histogram,
      correctiveTraces: { traces: this.correctiveTraces, problems: this.correctiveProblems },
      da: { eligibleProblems: this.daEligible, records: daRecords, selectedBy: this.selectedBy },
      earlyStop: { problems: this.earlyStopped, callsSaved: this.callsSaved },
      usage: this.usage,
      undecided: { turns: this.undecidedTurns, summarizer: this.undecidedSummarizer },
      checkers: Object.fromEntries([...this.checkers].sort(([a], [b]) => a.localeCompare(b))),
    };
  }
}
