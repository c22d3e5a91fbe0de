"""chainrule's random streams against PyTorch's CPU generator, value for value."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule  # noqa: E402

SEEDS = [0, 1, 7, 42, 123456789, 2 ** 40 + 3, 67280421310721]


def _same(expected, got):
    e = expected.numpy()
    g = np.asarray(got._data)
    assert e.shape == g.shape and e.dtype == g.dtype
    bad = np.flatnonzero(e.ravel() != g.ravel())
    assert bad.size == 0, (bad.size, e.ravel()[bad[:3]], g.ravel()[bad[:3]])


# each call draws from the global stream; a sequence checks that later calls continue it
CALLS = [
    lambda m: m.rand(3),
    lambda m: m.randn(20),
    lambda m: m.randint(0, 10, (5,)),
    lambda m: m.randn(5),
    lambda m: m.randn(3, dtype=m.float64),
    lambda m: m.randn(37, dtype=m.float64),
    lambda m: m.rand(4, 5, dtype=m.float64),
    lambda m: m.randn(2, 3, 17),
    lambda m: m.rand_like(m.zeros(6, 2)),
    lambda m: m.randn_like(m.zeros(4, 5, dtype=m.float64)),
    lambda m: m.randperm(50),
    lambda m: m.empty(100).uniform_(-0.3, 0.3),
    lambda m: m.empty(7, dtype=m.float64).uniform_(-2, 5),
    lambda m: m.empty(1000).bernoulli_(0.8),
    lambda m: m.bernoulli(m.full((30,), 0.4)),
    lambda m: m.bernoulli(m.full((9,), 0.4, dtype=m.float64)),
    lambda m: m.empty(50).exponential_(2.0),
    lambda m: m.empty(20, dtype=m.float64).exponential_(),
    lambda m: m.multinomial(m.tensor([0.1, 0.2, 0.7]), 20, replacement=True),
    lambda m: m.multinomial(m.tensor([[0.1, 0.2, 0.7, 1.0], [1., 1., 1., 1.]]), 3),
    lambda m: m.multinomial(m.tensor([0.1, 0.2, 0.7]), 1),
    lambda m: m.empty(10, dtype=m.int64).random_(),
    lambda m: m.empty(10, dtype=m.int32).random_(),
    lambda m: m.empty(10).random_(),
    lambda m: m.empty(10, dtype=m.float64).random_(),
    lambda m: m.empty(10, dtype=m.uint8).random_(),
    lambda m: m.empty(10).random_(5, 9),
    lambda m: m.empty(10, dtype=m.int64).random_(100),
    lambda m: m.randint(-5, 2 ** 40, (6,)),
    lambda m: m.randint(3, 9, (2, 3), dtype=m.int32),
    lambda m: m.normal(2.0, 3.0, size=(40,)),
    lambda m: m.normal(m.zeros(20), m.ones(20) * 2),
    lambda m: m.normal(m.zeros(5), 0.5),
    lambda m: m.empty(5, 40).t().uniform_(),
    lambda m: m.empty(6, 40).t().normal_(),
    lambda m: m.randn(1000),
    lambda m: m.randn(17),
    lambda m: m.empty(33, dtype=m.float64).normal_(0.5, 3.0),
    lambda m: m.empty(3, dtype=m.float64).normal_(0.5, 3.0),
    lambda m: m.empty(100).normal_(-1.5, 0.01),
]


@pytest.mark.parametrize("seed", SEEDS)
def test_stream_of_calls_matches_torch(seed):
    torch.manual_seed(seed)
    chainrule.manual_seed(seed)
    for i, call in enumerate(CALLS):
        _same(call(torch), call(chainrule))
    assert chainrule.initial_seed() == torch.initial_seed()
    _same(torch.get_rng_state(), chainrule.get_rng_state())


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("n", [1, 2, 15, 16, 31, 64, 100, 1001])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal_and_uniform_sizes(seed, n, dtype):
    for mod in (torch, chainrule):
        mod.manual_seed(seed)
    t_dt, c_dt = getattr(torch, dtype), getattr(chainrule, dtype)
    _same(torch.randn(n, dtype=t_dt), chainrule.randn(n, dtype=c_dt))
    _same(torch.rand(n, dtype=t_dt), chainrule.rand(n, dtype=c_dt))
    _same(torch.empty(n, dtype=t_dt).normal_(0.3, 2.5),
          chainrule.empty(n, dtype=c_dt).normal_(0.3, 2.5))


def test_default_seed_and_state_round_trip():
    fresh = torch.Generator()
    ours = chainrule.Generator()
    assert ours.initial_seed() == fresh.initial_seed() == 67280421310721
    _same(fresh.get_state(), ours.get_state())
    _same(torch.rand(4, generator=fresh), chainrule.rand(4, generator=ours))
    # a state taken from torch restores the same stream in chainrule, and back
    torch.manual_seed(3)
    torch.randn(3)  # leaves a cached normal sample in the state
    state = torch.get_rng_state()
    chainrule.set_rng_state(chainrule.tensor(state.numpy()))
    _same(torch.randn(5), chainrule.randn(5))
    mine = chainrule.get_rng_state()
    torch.set_rng_state(torch.from_numpy(mine.numpy()))
    _same(torch.rand(3), chainrule.rand(3))


def test_state_after_many_draws_and_twists():
    torch.manual_seed(9)
    chainrule.manual_seed(9)
    for n in [1, 623, 1, 700, 5, 1250]:
        _same(torch.rand(n), chainrule.rand(n))
        _same(torch.get_rng_state(), chainrule.get_rng_state())


def test_generators_are_independent_of_global_stream():
    torch.manual_seed(0)
    chainrule.manual_seed(0)
    g_t = torch.Generator().manual_seed(5)
    g_c = chainrule.Generator().manual_seed(5)
    _same(torch.randperm(10, generator=g_t), chainrule.randperm(10, generator=g_c))
    _same(torch.rand(3), chainrule.rand(3))
    _same(torch.randn(20, generator=g_t), chainrule.randn(20, generator=g_c))
    _same(torch.randint(0, 7, (4,), generator=g_t), chainrule.randint(0, 7, (4,), generator=g_c))
    _same(torch.empty(40).bernoulli_(0.3, generator=g_t),
          chainrule.empty(40).bernoulli_(0.3, generator=g_c))


def test_nn_layers_initialise_and_drop_like_torch():
    for mod in (torch, chainrule):
        mod.manual_seed(17)
    lin_t, lin_c = torch.nn.Linear(13, 7), chainrule.nn.Linear(13, 7)
    _same(lin_t.weight.detach(), lin_c.weight.detach())
    _same(lin_t.bias.detach(), lin_c.bias.detach())
    x = np.ones((4, 50), np.float32)
    _same(torch.nn.functional.dropout(torch.tensor(x), 0.3),
          chainrule.nn.functional.dropout(chainrule.tensor(x), 0.3))


def test_large_randperm_and_randn_are_fast_enough_and_exact():
    torch.manual_seed(1)
    chainrule.manual_seed(1)
    _same(torch.randperm(20000), chainrule.randperm(20000))
    _same(torch.randn(100000), chainrule.randn(100000))
    _same(torch.rand(100000, dtype=torch.float64), chainrule.rand(100000, dtype=chainrule.float64))
