import { z } from 'zod';
import type { TaskKind } from '../../core/problem';

/**
 * The wire format of `python -m agentark_trainer check --serve` (trainer/agentark_trainer/check_server.py):
 * one JSON value a line each way. The pool sends a batch as an array and reads one line per element.
 */

export type CheckRequest =
  | { op: 'check'; task: TaskKind; completion: string; gold: string; options?: readonly string[] }
  | { op: 'equivalent'; task: TaskKind; a: string; b: string; options?: readonly string[] };

export const Ready = z.object({ ready: z.literal(true), checker: z.string(), version: z.string(), pid: z.number() });
export type Ready = z.infer<typeof Ready>;

const Id = z.number().int();
export const Reply = z.union([
  z.object({ id: Id, error: z.string() }),
  z.object({ id: Id, equivalent: z.boolean().nullable() }),
  z.object({
    id: Id,
    extracted: z.string().nullable(),
    correct: z.boolean().nullable(),
    checker: z.string(),
    version: z.string(),
    reason: z.string().optional(),
  }),
]);
export type Reply = z.infer<typeof Reply>;
/** A reply without its wire id: what a request's caller gets. */
export type Answer = DistributiveOmit<Reply, 'id'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
