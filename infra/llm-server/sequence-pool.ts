import { queueFull, unavailable } from './errors';

interface Waiter<T> {
  resolve: (item: T) => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * Hands a fixed set of items (the context's sequences) to requests one at a time each.
 * Requests beyond the set wait in FIFO order, up to `maxQueue`; one more is refused with a 429
 * so that a flood of calls backs off instead of piling up memory and latency.
 */
export class SequencePool<T> {
  private readonly free: T[];
  private readonly waiters: Waiter<T>[] = [];
  private closed = false;

  constructor(
    items: readonly T[],
    private readonly maxQueue: number,
    private readonly retryAfterSeconds = 1,
  ) {
    this.free = [...items];
  }

  get idle(): number {
    return this.free.length;
  }

  get queued(): number {
    return this.waiters.length;
  }

  acquire(signal?: AbortSignal): Promise<T> {
    if (this.closed) return Promise.reject(unavailable('server is shutting down', this.retryAfterSeconds));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const item = this.free.pop();
    if (item !== undefined) return Promise.resolve(item);
    if (this.waiters.length >= this.maxQueue) {
      return Promise.reject(queueFull(this.waiters.length, this.retryAfterSeconds));
    }
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = { resolve, reject, signal };
      if (signal) {
        // A client that hung up while queued must not hold its place (or later a sequence).
        waiter.onAbort = () => {
          this.remove(waiter);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
    });
  }

  release(item: T): void {
    const next = this.waiters.shift();
    if (next === undefined) {
      this.free.push(item);
      return;
    }
    this.detach(next);
    next.resolve(item);
  }

  /** Refuses new work and fails everything still waiting; items already handed out come back through release(). */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) {
      this.detach(waiter);
      waiter.reject(unavailable('server is shutting down', this.retryAfterSeconds));
    }
  }

  private remove(waiter: Waiter<T>): void {
    const index = this.waiters.indexOf(waiter);
    if (index >= 0) this.waiters.splice(index, 1);
  }

  private detach(waiter: Waiter<T>): void {
    if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
  }
}
