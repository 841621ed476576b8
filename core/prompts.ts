import type { ChatMessage } from './chat';
import type { Problem, TaskKind } from './problem';

/**
 * Every prompt of the debate, in one place. Round 1 and the peer-advice rounds follow Du et al.'s
 * multi-agent debate as the paper uses it: each agent keeps its own conversation and in round k > 1
 * receives its peers' round k−1 solutions with the problem restated.
 */

const FORMAT: Record<TaskKind, string> = {
  numeric: 'Reason step by step, then give the final answer as a number on the last line in the form "#### <number>".',
  math: 'Reason step by step, then put the final answer in \\boxed{}.',
  choice: 'Reason step by step, then give the letter of the correct option on the last line in the form "Answer: <letter>".',
  text: 'Reason step by step, then give the final answer on the last line in the form "Answer: <answer>".',
};

export const answerFormat = (task: TaskKind): string => FORMAT[task];

export function problemText(problem: Problem): string {
  const options = problem.options?.length
    ? `\n\nOptions:\n${problem.options.map((o, i) => `${'ABCDE'[i] ?? String(i + 1)}. ${o}`).join('\n')}`
    : '';
  return `${problem.question}${options}`;
}

/** Round 1: the problem, and the answer format of its task kind. */
export function firstRoundMessage(problem: Problem): ChatMessage {
  return { role: 'user', content: `${problemText(problem)}\n\n${answerFormat(problem.task)}` };
}

export const PEER_SOLUTION_HEADER = 'One agent solution:';

/** Round k > 1: the peers' previous solutions as advice, the problem restated. */
export function debateRoundMessage(problem: Problem, peerSolutions: string[]): ChatMessage {
  const peers = peerSolutions.map((s) => `${PEER_SOLUTION_HEADER}\n\`\`\`\n${s.trim()}\n\`\`\``).join('\n\n');
  return {
    role: 'user',
    content:
      `These are the solutions to the problem from other agents:\n\n${peers}\n\n` +
      'Using the reasoning from other agents as additional advice, can you give an updated answer? ' +
      `Examine your solution and that of the other agents step by step. The original problem is:\n\n${problemText(problem)}\n\n` +
      answerFormat(problem.task),
  };
}

/**
 * One agent's conversation for round own.length + 1: the first prompt, then per earlier round its own
 * reply and the next prompt with that round's peer solutions (`peers[j]` are round j + 1's).
 */
export function agentConversation(problem: Problem, own: string[], peers: string[][]): ChatMessage[] {
  const messages: ChatMessage[] = [firstRoundMessage(problem)];
  own.forEach((reply, j) => messages.push({ role: 'assistant', content: reply }, debateRoundMessage(problem, peers[j])));
  return messages;
}

export const FINAL_ANSWER_HEADER = 'Agent final answer:';

/** The summarizer reads every agent's final solution and states the consensus answer. */
export function summarizerMessages(problem: Problem, finalSolutions: string[]): ChatMessage[] {
  const answers = finalSolutions.map((s, i) => `${FINAL_ANSWER_HEADER} ${i + 1}\n\`\`\`\n${s.trim()}\n\`\`\``).join('\n\n');
  return [
    { role: 'system', content: 'You summarise a debate between agents and state the answer they converge on.' },
    {
      role: 'user',
      content:
        `Problem:\n${problemText(problem)}\n\nThe agents' final solutions:\n\n${answers}\n\n` +
        `Summarise the reasoning the agents agree on and give the consensus answer. ${answerFormat(problem.task)}`,
    },
  ];
}

/** LLM verifier, for answers no rule can decide: strictly a JSON verdict. */
export function verifierMessages(problem: Problem, candidate: string): ChatMessage[] {
  return [
    { role: 'system', content: 'You check answers against a reference. Reply with JSON only: {"correct": true} or {"correct": false}.' },
    {
      role: 'user',
      content: `Question:\n${problemText(problem)}\n\nReference answer:\n${problem.gold}\n\nCandidate answer:\n${candidate.trim()}\n\nIs the candidate answer equivalent to the reference answer?`,
    },
  ];
}

export const JUDGE_TRACE_HEADER = 'Solution';

/** LLM judge for DA: choose the k correct traces that differ most in how they solve the problem. */
export function diversityJudgeMessages(problem: Problem, traces: string[], k: number): ChatMessage[] {
  const listed = traces.map((t, i) => `${JUDGE_TRACE_HEADER} ${i}:\n\`\`\`\n${t.trim()}\n\`\`\``).join('\n\n');
  return [
    {
      role: 'system',
      content: 'You compare correct solutions of one problem and pick the ones whose reasoning is most structurally different. Reply with JSON only.',
    },
    {
      role: 'user',
      content:
        `Problem:\n${problemText(problem)}\n\n${listed}\n\n` +
        `Choose the ${k} solutions that differ most from each other in how they decompose the problem, ` +
        'which identities or facts they use, or which assumptions they start from. ' +
        `Reply with JSON: {"selected": [<${k} distinct solution numbers>]}.`,
    },
  ];
}
