import { z } from 'zod';

/** generateDebates's counters, and the one typed object that crosses its continue-as-new. */

export const Counters = z.object({
  done: z.number().int().default(0),
  failed: z.number().int().default(0),
  alreadyDone: z.number().int().default(0),
  calls: z.number().int().default(0),
  promptTokens: z.number().int().default(0),
  completionTokens: z.number().int().default(0),
  turnsByRound: z.array(z.number().int()).default([]),
  correctByRound: z.array(z.number().int()).default([]),
  consensusCorrect: z.number().int().default(0),
  consensusDecided: z.number().int().default(0),
  callsSaved: z.number().int().default(0),
  failures: z.array(z.object({ problemId: z.string(), error: z.string() })).default([]),
});

/** What carries over continue-as-new: where paging stands, what is in flight, the counters so far. */
export const ChainState = z.object({
  total: z.number().int(),
  parts: z.number().int(),
  nextPart: z.number().int(),
  /** Position in `nextPart` to continue from: the problems before it were started by this chain. */
  nextFrom: z.number().int().default(0),
  /** Parts whose already-done problems have been counted (a part re-read after continue-as-new is not counted twice). */
  countedParts: z.number().int(),
  inFlight: z.array(z.string()),
  counters: Counters,
  /** The failure-rate breaker's window: null for a problem done, else its failure's root message. */
  recent: z.array(z.string().nullable()).default([]),
});
export type ChainState = z.infer<typeof ChainState>;
