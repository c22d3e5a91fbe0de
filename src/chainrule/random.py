"""Random numbers: a global generator seeded by `manual_seed`, and the sampling functions."""
from __future__ import annotations

import numpy as np

from . import _dtype
from .tensor import Tensor, _check_device

_make = Tensor._make


class Generator:
    """A seeded source of random numbers (Mersenne Twister)."""

    def __init__(self, device="cpu"):
        _check_device(device)
        self.device = device
        self.manual_seed(67280421310721)

    def manual_seed(self, seed):
        seed = int(seed)
        self._seed = seed
        self._rng = np.random.Generator(np.random.MT19937(seed & 0xFFFFFFFFFFFFFFFF))
        return self

    def seed(self):
        s = int(np.random.SeedSequence().entropy) & 0xFFFFFFFFFFFFFFFF
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        from .creation import tensor

        state = self._rng.bit_generator.state
        return _make(np.frombuffer(repr((self._seed, state)).encode(), dtype=np.uint8).copy())

    def set_state(self, new_state):
        import ast

        seed, state = ast.literal_eval(bytes(new_state._data).decode())
        self._seed = seed
        self._rng = np.random.Generator(np.random.MT19937())
        self._rng.bit_generator.state = state
        return self

    # sampling primitives used below
    def _uniform(self, shape, dtype):
        return self._rng.random(shape, dtype=np.float64).astype(dtype)

    def _normal(self, shape, dtype):
        return self._rng.standard_normal(shape).astype(dtype)

    def _integers(self, low, high, shape):
        return self._rng.integers(low, high, size=shape, dtype=np.int64)

    def _permutation(self, n):
        return self._rng.permutation(n).astype(np.int64)


default_generator = Generator()


def manual_seed(seed):
    """Seed the global generator; later random calls repeat exactly."""
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)


def _gen(generator):
    return generator if generator is not None else default_generator


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(int(s) for s in size)


def _float_dtype(dtype):
    return _dtype.to_numpy_dtype(dtype) if dtype is not None else _dtype.get_default_dtype().np


def _finish(data, requires_grad, device):
    _check_device(device)
    t = _make(data)
    if requires_grad:
        t.requires_grad_(True)
    return t


def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False):
    """Uniform samples in [0, 1)."""
    data = _gen(generator)._uniform(_size(size), _float_dtype(dtype))
    return _finish(data, requires_grad, device)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False):
    """Standard normal samples."""
    data = _gen(generator)._normal(_size(size), _float_dtype(dtype))
    return _finish(data, requires_grad, device)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False):
    """Integers in [low, high)."""
    if size is None:
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    data = _gen(generator)._integers(low, high, tuple(size))
    if dtype is not None:
        data = data.astype(_dtype.to_numpy_dtype(dtype))
    return _finish(data, requires_grad, device)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    data = _gen(generator)._permutation(int(n))
    if dtype is not None:
        data = data.astype(_dtype.to_numpy_dtype(dtype))
    return _finish(data, requires_grad, device)


def rand_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return rand(input._data.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)


def randn_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return randn(input._data.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, device=None, requires_grad=False):
    if high is None:
        low, high = 0, low
    return randint(low, high, input._data.shape, dtype=dtype or input.dtype)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, device=None,
           requires_grad=False):
    g = _gen(generator)
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        ref = mean if isinstance(mean, Tensor) else std
        data = (g._normal(shape, np.float64) * s + m).astype(ref._data.dtype)
        return _make(data)
    data = g._normal(tuple(size), np.float64) * std + mean
    return _finish(data.astype(_float_dtype(dtype)), requires_grad, device)


def bernoulli(input, p=None, *, generator=None):
    probs = input._data if p is None else np.full(input._data.shape, p)
    data = (_gen(generator)._uniform(input._data.shape, np.float64) < probs)
    return _make(data.astype(input._data.dtype))


def multinomial(input, num_samples, replacement=False, *, generator=None):
    g = _gen(generator)
    probs = np.atleast_2d(input._data.astype(np.float64))
    rows = []
    for p in probs:
        p = p / p.sum()
        rows.append(g._rng.choice(len(p), size=num_samples, replace=replacement, p=p))
    out = np.array(rows, dtype=np.int64)
    return _make(out if input._data.ndim == 2 else out[0])


# -- in-place samplers (Tensor methods) -----------------------------------------------------------
def _write(t, values):
    from .ops.inplace import check_inplace

    check_inplace(t)
    np.copyto(t._data, values, casting="unsafe")
    t._vc[0] += 1
    return t


def normal_(t, mean=0.0, std=1.0, *, generator=None):
    return _write(t, _gen(generator)._normal(t._data.shape, np.float64) * std + mean)


def uniform_(t, a=0.0, b=1.0, *, generator=None):
    return _write(t, _gen(generator)._uniform(t._data.shape, np.float64) * (b - a) + a)


def random_(t, low=0, high=None, *, generator=None):
    if high is None:
        low, high = 0, (low if low else 2 ** 24)
    return _write(t, _gen(generator)._integers(low, high, t._data.shape))


def bernoulli_(t, p=0.5, *, generator=None):
    return _write(t, _gen(generator)._uniform(t._data.shape, np.float64) < p)


def exponential_(t, lambd=1.0, *, generator=None):
    u = _gen(generator)._uniform(t._data.shape, np.float64)
    return _write(t, -np.log1p(-u) / lambd)


for _name in ["normal_", "uniform_", "random_", "bernoulli_", "exponential_"]:
    setattr(Tensor, _name, globals()[_name])
Tensor.bernoulli = lambda self, p=None, generator=None: bernoulli(self, p, generator=generator)
Tensor.multinomial = lambda self, n, replacement=False, generator=None: multinomial(
    self, n, replacement, generator=generator)
