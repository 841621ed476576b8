"""The order of examples (Sampler) and the dataset readers."""

from agentark_trainer import data


def test_the_sampler_builds_one_permutation_per_epoch_not_one_per_step(monkeypatch):
    s = data.Sampler(n=1000, global_batch=8, seed=3)
    calls = []
    real = data.Sampler._perm
    monkeypatch.setattr(data.Sampler, "_perm", lambda self, e: calls.append(e) or real(self, e))
    batches = [s.batch(step) for step in range(2 * s.steps_per_epoch())]
    assert calls == [0, 1]
    # every epoch is a permutation of all examples (the last batch of epoch 0 runs into epoch 1)
    flat = [i for b in batches for i in b]
    assert sorted(flat[:1000]) == list(range(1000))
    assert flat == [i for st in range(len(batches)) for i in data.Sampler(1000, 8, 3).batch(st)]


def test_the_sampler_order_is_a_function_of_seed_and_step_only():
    a, b = data.Sampler(50, 4, 7), data.Sampler(50, 4, 7)
    assert [a.batch(i) for i in (0, 5, 12, 30)] == [b.batch(i) for i in (30, 12, 5, 0)][::-1]
    assert data.Sampler(50, 4, 8).batch(0) != a.batch(0)
