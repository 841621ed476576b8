import type { TaskKind } from '../problem';
import { choiceFromSpan } from './choice';
import { numericValue } from './numeric';
import { answerPhrase, hashLine, lastBoxed, lastLine, lastNumber, trimWs } from './spans';

/**
 * Where each kind of task looks for its final answer, most explicit first. A source that yields
 * nothing usable for the kind (no number for `numeric`, no letter or option for `choice`) is
 * skipped, so a stray `#### Step 2` heading or an empty `\boxed{}` does not hide the real answer.
 */
export function extractAnswer(task: TaskKind, completion: string, options?: readonly string[]): string | null {
  switch (task) {
    case 'numeric':
      return firstUsable(
        [() => hashLine(completion), () => lastBoxed(completion), () => answerPhrase(completion, true), () => lastNumber(completion)],
        (span) => numericValue(span) !== null,
      );
    case 'math':
      // MATH solutions end in \boxed{}; it outranks a `####` line there.
      return firstUsable(
        [() => lastBoxed(completion), () => hashLine(completion), () => answerPhrase(completion, true), () => lastNumber(completion)],
        (span) => span !== '',
      );
    case 'choice':
      // `A:` at a line start is how options are listed, not an answer, so it is not an answer phrase here.
      for (const [find, wholeLine] of [
        [() => lastBoxed(completion), false],
        [() => answerPhrase(completion, false), false],
        [() => lastLine(completion), true],
      ] as const) {
        const span = find();
        const answer = span === null ? null : choiceFromSpan(span, options, wholeLine);
        if (answer !== null) return answer;
      }
      return null;
    case 'text':
      return firstUsable(
        [() => lastBoxed(completion), () => answerPhrase(completion, true), () => lastLine(completion)],
        (span) => trimWs(span) !== '',
      );
  }
}

function firstUsable(sources: ReadonlyArray<() => string | null>, usable: (span: string) => boolean): string | null {
  for (const find of sources) {
    const span = find();
    if (span !== null && usable(span)) return span;
  }
  return null;
}
