/**
 * How many teacher calls this llm worker has in flight at once (AGENTARK_LLM_CONCURRENCY): sized to
 * the inference server's max-num-seqs, it keeps the server's batch full without overloading it.
 * One activity may make several calls (a debate round's n agents); they all queue here, first come
 * first served. A 429 pauses every call to that endpoint for its Retry-After.
 */
export class CallLimiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly pausedUntil = new Map<string, number>();

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`call limit must be a positive integer, got ${limit}`);
  }

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Run `fn` once a slot is free and the endpoint is not paused. */
  async run<T>(endpoint: string, fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      for (let wait = this.pauseLeft(endpoint); wait > 0; wait = this.pauseLeft(endpoint)) await sleep(wait);
      return await fn();
    } finally {
      this.release();
    }
  }

  /** After a 429: no call to this endpoint starts before `ms` from now. */
  pause(endpoint: string, ms: number): void {
    const until = Date.now() + ms;
    if (until > (this.pausedUntil.get(endpoint) ?? 0)) this.pausedUntil.set(endpoint, until);
  }

  private pauseLeft(endpoint: string): number {
    return Math.max(0, (this.pausedUntil.get(endpoint) ?? 0) - Date.now());
  }

  private acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next(); // the slot passes straight to the next caller
    else this.active--;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
