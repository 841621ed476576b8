import { CallLimiter } from '../../../activities/llm/limiter';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('CallLimiter', () => {
  it('never has more than its limit in flight, and serves callers first come first served', async () => {
    const limiter = new CallLimiter(3);
    let now = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(Array.from({ length: 12 }, (_, i) => limiter.run('e', async () => {
      order.push(i);
      peak = Math.max(peak, ++now);
      await sleep(5);
      now--;
    })));
    expect(peak).toBe(3);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(limiter.inFlight).toBe(0);
  });

  it('releases the slot of a call that throws', async () => {
    const limiter = new CallLimiter(1);
    await expect(limiter.run('e', async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    await expect(limiter.run('e', async () => 1)).resolves.toBe(1);
  });

  it('after a pause (a 429 Retry-After) starts no call to that endpoint before it ends, others at once', async () => {
    const limiter = new CallLimiter(4);
    limiter.pause('busy', 150);
    const t0 = Date.now();
    const [busy, other] = await Promise.all([limiter.run('busy', async () => Date.now() - t0), limiter.run('other', async () => Date.now() - t0)]);
    expect(busy).toBeGreaterThanOrEqual(140);
    expect(other).toBeLessThan(100);
  });

  it('refuses a size that is not a positive integer', () => {
    expect(() => new CallLimiter(0)).toThrow(/positive integer/);
  });
});
