import { RunConfig } from '../../core/config';
import { describeChanges, diffConfig, refusedChanges } from '../../core/config-diff';
import { breakerFailure, recordOutcome, type RecentOutcomes } from '../../workflows/breaker';

const base = RunConfig.parse({ runId: 'r1', dataset: { format: 'demo' } });

describe('frozen run config: what a restart may change', () => {
  it('names every differing leaf by its dotted path, old → new', () => {
    const next = RunConfig.parse({ runId: 'r1', dataset: { format: 'demo', limit: 5 }, debate: { rounds: 2 }, window: 10 });
    const changes = diffConfig(base, next);
    expect(changes.map((c) => c.path)).toEqual(['dataset.limit', 'debate.rounds', 'window']);
    expect(describeChanges(changes)).toBe('dataset.limit: (unset) → 5; debate.rounds: 3 → 2; window: 200 → 10');
    expect(diffConfig(base, RunConfig.parse({ runId: 'r1', dataset: { format: 'demo' } }))).toEqual([]);
  });

  it('lets through only changeable fields that are listed (a parent covers its fields)', () => {
    const next = RunConfig.parse({ runId: 'r1', dataset: { format: 'demo' }, window: 10, breaker: { window: 5 }, teacher: { model: 'm' } });
    const changes = diffConfig(base, next);
    expect(refusedChanges(changes, []).map((c) => c.path)).toEqual(['breaker.window', 'teacher.model', 'window']);
    expect(refusedChanges(changes, ['window', 'breaker']).map((c) => c.path)).toEqual(['teacher.model']);
    // Listing an unchangeable field never lets it through.
    expect(refusedChanges(changes, ['teacher.model']).map((c) => c.path)).toEqual(['breaker.window', 'teacher.model', 'window']);
  });

  it('refuses an allowConfigChange entry that can never change, naming it', () => {
    const parsed = RunConfig.safeParse({ runId: 'r1', dataset: { format: 'demo' }, allowConfigChange: ['window', 'dataset.url'] });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => i.path.join('.'))).toEqual(['allowConfigChange.1']);
    expect(parsed.error!.issues[0].message).toContain("'dataset.url' can never change");
  });
});

describe('failure-rate breaker', () => {
  const run = (outcomes: RecentOutcomes, window: number, maxFailureRate: number) => {
    const recent: RecentOutcomes = [];
    for (const o of outcomes) recordOutcome(recent, o, window);
    return { recent, failure: breakerFailure(recent, { window, maxFailureRate }) };
  };

  it('waits for a full window, then trips above the rate with the most common cause', () => {
    expect(run(Array(9).fill('401 unauthorized'), 10, 0.5).failure).toBeNull();
    const { recent, failure } = run([...Array(20).fill(null), ...Array(4).fill('timeout'), ...Array(6).fill('401 unauthorized')], 10, 0.5);
    expect(recent).toHaveLength(10);
    expect(failure?.message).toContain('10 of the last 10 problems failed');
    expect(failure?.message).toContain('most common cause (6 of them): 401 unauthorized');
    expect(failure?.nonRetryable).toBe(true);
  });

  it('does not trip at or below the rate', () => {
    expect(run([...Array(5).fill(null), ...Array(5).fill('x')], 10, 0.5).failure).toBeNull();
    expect(run([...Array(4).fill(null), ...Array(6).fill('x')], 10, 0.5).failure).not.toBeNull();
  });
});
