/**
 * The chaos suite's two sizes: a small form of every case inside `make test`, and the full form under
 * `make chaos` (AGENTARK_CHAOS=full). Figures go to stdout one per line, `chaos: <name>: <value>`.
 */
export const chaosFull = process.env.AGENTARK_CHAOS === 'full';

export const chaosSize = <T>(small: T, full: T): T => (chaosFull ? full : small);

export function figure(name: string, value: string | number): void {
  console.log(`chaos: ${name}: ${value}`);
}
