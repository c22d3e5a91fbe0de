"""Random numbers that repeat PyTorch's CPU streams: after `manual_seed(s)` the same calls
give the same numbers as `torch` (checked against PyTorch in tests/test_random.py).

PyTorch's CPU generator is a 32-bit Mersenne Twister (mt19937) whose state is initialised
from the low 32 bits of the 64-bit seed (`init_genrand`), plus a cached second normal sample.
NumPy's `MT19937` runs the same recurrence in C, so we set its key ourselves and read its raw
32-bit outputs in bulk; every sampler below turns those words into values the way ATen's CPU
kernels do, in the same order:

bit-exact (float32 and float64 identical to torch):
  rand / rand_like / uniform_      float32: 24 random bits * 2^-24; float64: 53 of 64 bits
  randn / randn_like / normal_ / normal(mean, std, size), contiguous tensors of >= 16 values
      float32: ATen's vectorised Box-Muller (`normal_fill_AVX2`, used on AVX2 and AVX512
      machines) over blocks of 16 uniforms, with its Cephes-style polynomial log and sincos,
      emulated operation by operation including the fused multiply-adds the compiler forms;
      a size not divisible by 16 redraws 16 fresh uniforms for the last block, as ATen does.
      float64: scalar Box-Muller with glibc's log (via `math.log`), cos and sin.
  fewer than 16 values or non-contiguous: `normal_distribution<double>`, which caches the
      second sample of each pair in the generator (kept across calls and in get_rng_state)
  randint / random_ (modulo of 32 or 64 random bits), randperm (Fisher-Yates with 32-bit
  draws, ATen's algorithm for n < 2^32/20), bernoulli_(p) / bernoulli(p) (a double uniform
  < p, so Dropout's masks match), bernoulli(probs), exponential_ (computed in double from a
  double uniform and cast, as ATen's CPU kernel does), multinomial (with replacement: binary
  search in the float cumulative sum; without, or one sample: argmax/topk of p / Exp(1)),
  Generator objects, manual_seed / initial_seed, and get_rng_state / set_rng_state, whose
  5056-byte layout is PyTorch's (states can be passed between chainrule and torch).

near-exact (a documented, very rare 1-ulp difference):
  fused multiply-adds are emulated in higher precision and rounded once more: float32 via
  float64 (a double rounding can differ once in ~2^29 results), float64 via an error-free
  product (a tie case can differ). Affects uniform_(a, b) and normal_(mean, std) with
  non-trivial bounds/scales.

not emulated: values for non-contiguous tensors follow TensorIterator's memory order only for
plain permuted/strided views; bfloat16; randperm for n >= 2^32/20 (ATen switches algorithm).
"""
from __future__ import annotations

import math

import numpy as np

from . import _dtype
from .tensor import Tensor, _check_device

_make = Tensor._make

DEFAULT_SEED = 67280421310721
_MT_N = 624
_U64 = (1 << 64) - 1
_STATE_BYTES = 5056  # sizeof(THGeneratorStateNew) in ATen
_F32 = np.float32


def _mt_init_key(seed32):
    """mt19937's init_genrand: the 624-word state for a 32-bit seed."""
    key = [seed32]
    prev = seed32
    for j in range(1, _MT_N):
        prev = (1812433253 * (prev ^ (prev >> 30)) + j) & 0xFFFFFFFF
        key.append(prev)
    return np.array(key, dtype=np.uint32)


class Generator:
    """A seeded source of random numbers: PyTorch's CPU generator (mt19937).

    >>> g = Generator().manual_seed(0)
    >>> rand(2, generator=g)   # same as torch.rand(2, generator=torch.Generator().manual_seed(0))
    """

    def __init__(self, device="cpu"):
        _check_device(device)
        self.device = device
        self._bits = np.random.MT19937()
        self.manual_seed(DEFAULT_SEED)

    # -- seeding and state ------------------------------------------------------------------
    def manual_seed(self, seed):
        seed = int(seed) & _U64
        self._seed = seed
        self._set_key(_mt_init_key(seed & 0xFFFFFFFF), _MT_N)
        self._fresh = True  # ATen's left=1, next=0: nothing drawn since seeding
        self._next_double_normal = None
        self._next_float_normal = None
        return self

    def seed(self):
        s = int(np.random.SeedSequence().entropy) & _U64
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def _set_key(self, key, pos):
        self._bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": pos}}

    def get_state(self):
        """The state as a uint8 tensor in ATen's layout (THGeneratorStateNew, 5056 bytes)."""
        st = self._bits.state["state"]
        pos = int(st["pos"])
        if pos >= _MT_N:
            left, nxt = 1, (0 if self._fresh else _MT_N)
        else:
            left, nxt = _MT_N - pos + 1, pos
        buf = bytearray(_STATE_BYTES)
        np.frombuffer(buf, np.uint64, 1, 0)[:] = self._seed
        np.frombuffer(buf, np.int32, 2, 8)[:] = (left, 1)
        np.frombuffer(buf, np.uint64, 1, 16)[:] = nxt
        np.frombuffer(buf, np.uint64, _MT_N, 24)[:] = st["key"]
        if self._next_double_normal is not None:
            np.frombuffer(buf, np.float64, 1, 5024)[:] = self._next_double_normal
            np.frombuffer(buf, np.int32, 1, 5040)[:] = 1
        if self._next_float_normal is not None:
            np.frombuffer(buf, np.float32, 1, 5048)[:] = self._next_float_normal
            buf[5052] = 1
        return _make(np.frombuffer(bytes(buf), np.uint8).copy())

    def set_state(self, new_state):
        data = new_state._data if isinstance(new_state, Tensor) else np.asarray(new_state)
        raw = np.ascontiguousarray(data, dtype=np.uint8).tobytes()
        if len(raw) != _STATE_BYTES:
            raise RuntimeError(f"Expected either a THGeneratorState of size 5048 or a "
                               f"CPUGeneratorImplState of size {_STATE_BYTES} but found the "
                               f"input RNG state size to be {len(raw)}")
        seed = int(np.frombuffer(raw, np.uint64, 1, 0)[0])
        left, seeded = (int(v) for v in np.frombuffer(raw, np.int32, 2, 8))
        nxt = int(np.frombuffer(raw, np.uint64, 1, 16)[0])
        if not (seeded and 0 < left <= _MT_N and nxt <= _MT_N):
            raise RuntimeError("Invalid mt19937 state")
        key = np.frombuffer(raw, np.uint64, _MT_N, 24).astype(np.uint32)
        # ATen twists when `--left` reaches 0; NumPy twists when pos reaches 624
        self._set_key(key, _MT_N if left == 1 else nxt)
        self._seed = seed
        self._fresh = left == 1 and nxt == 0
        valid = np.frombuffer(raw, np.int32, 1, 5040)[0]
        self._next_double_normal = (float(np.frombuffer(raw, np.float64, 1, 5024)[0])
                                    if valid else None)
        self._next_float_normal = (float(np.frombuffer(raw, np.float32, 1, 5048)[0])
                                   if raw[5052] else None)
        return self

    # -- raw draws ----------------------------------------------------------------------------
    def _random32(self, n):
        """n outputs of mt19937 (uint64 array holding 32-bit words)."""
        self._fresh = False
        return self._bits.random_raw(n)

    def _random64(self, n):
        """n 64-bit words, each from two draws, the first one high (ATen's random64)."""
        w = self._random32(2 * n)
        return (w[0::2] << np.uint64(32)) | w[1::2]

    def _uniform(self, n, np_dtype):
        """n uniforms in [0, 1) as ATen's uniform_real_distribution<T>(0, 1) makes them."""
        if np_dtype == np.float64:
            return (self._random64(n) & np.uint64((1 << 53) - 1)).astype(np.float64) * 2.0 ** -53
        digits = 11 if np_dtype == np.float16 else 24
        bits = self._random32(n) & np.uint64((1 << digits) - 1)
        return bits.astype(np.float32) * _F32(2.0 ** -digits)

    def _normal_pair_values(self, n, mean, std):
        """n samples of normal_distribution<double>(mean, std), using and refilling the cache."""
        out = []
        while len(out) < n:
            cached = self._next_double_normal
            if cached is not None:
                self._next_double_normal = None
                out.append(_fma64_scalar(cached, std, mean))
                continue
            u1, u2 = self._uniform(2, np.float64)
            radius = math.sqrt(-2.0 * math.log1p(-float(u2)))
            theta = 2.0 * math.pi * float(u1)
            self._next_double_normal = radius * math.sin(theta)
            out.append(_fma64_scalar(radius * math.cos(theta), std, mean))
        return np.array(out, dtype=np.float64)


# -- fused multiply-add, as the compiler contracts `a * b + c` in ATen's kernels --------------
def _fma32(a, b, c):
    """float32 fma: the product of two floats is exact in float64; one more rounding."""
    b = np.asarray(b, np.float32).astype(np.float64)
    c = np.asarray(c, np.float32).astype(np.float64)
    return (np.asarray(a, np.float32).astype(np.float64) * b + c).astype(np.float32)


def _split(a):
    big = a * 134217729.0  # 2^27 + 1: Veltkamp split into two 26-bit halves
    hi = big - (big - a)
    return hi, a - hi


def _fma64(a, b, c):
    """float64 fma from an error-free product (Dekker) and sum (Knuth)."""
    a = np.asarray(a, np.float64)
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(np.float64(b))
    perr = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    s = p + c
    bb = s - p
    serr = (p - (s - bb)) + (c - bb)
    with np.errstate(invalid="ignore"):
        out = s + (serr + perr)
    return np.where(np.isfinite(out), out, p + c)


def _fma64_scalar(a, b, c):
    if b == 1.0 and c == 0.0:
        return a
    return float(_fma64(np.float64(a), b, c))


# -- ATen's vectorised Box-Muller for float32 (Cephes-style log and sincos) --------------------
_LOG_POLY = (7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1,
             1.4249322787E-1, -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1,
             3.3333331174E-1)


def _log_ps(x):
    """Natural log of positive float32s by the Cephes polynomial ATen's AVX2 kernel uses."""
    x = np.maximum(x, np.array(0x00800000, np.uint32).view(_F32))  # no denormals
    bits = x.view(np.uint32)
    e = ((bits >> 23).astype(np.int32) - 0x7F).astype(_F32) + _F32(1)
    # mantissa scaled into [0.5, 1)
    x = ((bits & np.uint32(0x807FFFFF)) | np.uint32(0x3F000000)).view(_F32)
    small = x < _F32(0.707106781186547524)
    x = (x - _F32(1)) + np.where(small, x, _F32(0))
    e = e - small.astype(_F32)
    z = x * x
    y = np.full_like(x, _LOG_POLY[0])
    for coef in _LOG_POLY[1:]:
        y = _fma32(y, x, coef)
    y = y * x
    y = _fma32(y, z, e * _F32(-2.12194440e-4))
    y = _fma32(-z, 0.5, y)
    return _fma32(e, 0.693359375, x + y)


def _sincos_ps(x):
    """(sin, cos) of float32s by the Cephes polynomials ATen's AVX2 kernel uses."""
    sign_sin = np.signbit(x)
    x = np.abs(x)
    octant = (x * _F32(1.27323954473516)).astype(np.int32)  # 4/pi
    octant = (octant + 1) & ~1
    y = octant.astype(_F32)
    sign_sin ^= (octant & 4) != 0
    use_sin_poly = (octant & 2) == 0
    sign_cos = (~(octant - 2) & 4) != 0
    # extended-precision reduction x - y*pi/4 in three parts
    x = _fma32(y, -0.78515625, x)
    x = _fma32(y, -2.4187564849853515625e-4, x)
    x = _fma32(y, -3.77489497744594108e-8, x)
    z = x * x
    cos_poly = _fma32(_F32(2.443315711809948E-005), z, -1.388731625493765E-003)
    cos_poly = _fma32(cos_poly, z, 4.166664568298827E-002)
    cos_poly = _fma32(cos_poly * z, z, -(z * _F32(0.5))) + _F32(1)
    sin_poly = _fma32(_F32(-1.9515295891E-4), z, 8.3321608736E-3)
    sin_poly = _fma32(sin_poly, z, -1.6666654611E-1)
    sin_poly = _fma32(sin_poly * z, x, x)
    s = np.where(use_sin_poly, sin_poly, cos_poly)
    c = np.where(use_sin_poly, cos_poly, sin_poly)
    return np.where(sign_sin, -s, s), np.where(sign_cos, -c, c)


def _box_muller16(u, mean, std, np_dtype):
    """ATen's normal_fill_16 on rows of 16 uniforms: u[:, :8] -> radius, u[:, 8:] -> angle."""
    if np_dtype == np.float32:
        radius = np.sqrt(_F32(-2) * _log_ps(_F32(1) - u[:, :8]))
        s, c = _sincos_ps(_F32(2 * math.pi) * u[:, 8:])
        mean, std = _F32(mean), _F32(std)
        return np.concatenate([_fma32(radius * c, std, mean), _fma32(radius * s, std, mean)],
                              axis=1)
    u1 = (1.0 - u[:, :8]).ravel()
    logs = np.fromiter(map(math.log, u1.tolist()), np.float64, u1.size).reshape(-1, 8)
    radius = np.sqrt(-2.0 * logs)
    theta = 2.0 * math.pi * u[:, 8:]
    both = np.concatenate([radius * np.cos(theta), radius * np.sin(theta)], axis=1)
    return both if (std == 1.0 and mean == 0.0) else _fma64(both, std, mean)


def _normal_values(gen, shape, np_dtype, mean, std, contiguous=True):
    """Values of `empty(shape).normal_(mean, std)` in fill order."""
    n = int(np.prod(shape, dtype=np.int64))
    if np_dtype in (np.float32, np.float64) and n >= 16 and contiguous:
        u = gen._uniform(n, np_dtype)
        out = np.empty(n, np_dtype)
        full = n // 16 * 16
        out[:full] = _box_muller16(u[:full].reshape(-1, 16), mean, std, np_dtype).ravel()
        if n % 16:  # ATen redraws 16 uniforms for the last (overlapping) block
            tail = gen._uniform(16, np_dtype).reshape(1, 16)
            out[n - 16:] = _box_muller16(tail, mean, std, np_dtype).ravel()
        return out.reshape(shape)
    return gen._normal_pair_values(n, float(mean), float(std)).astype(np_dtype).reshape(shape)


# -- module-level API -------------------------------------------------------------------------
default_generator = Generator()


def manual_seed(seed):
    """Seed the global generator; later random calls repeat exactly (and match torch)."""
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


def _uniform_values(gen, n, np_dtype, low=0.0, high=1.0):
    """uniform_real_distribution<T>(low, high): x * (high - low) + low, fused, in T."""
    calc = np.float64 if np_dtype == np.float64 else np.float32
    x = gen._uniform(n, np_dtype)
    if low == 0.0 and high == 1.0:
        return x.astype(np_dtype, copy=False)
    lo, hi = calc(low), calc(high)
    span = calc(hi - lo)
    fused = _fma64(x, span, lo) if calc is np.float64 else _fma32(x, span, lo)
    return fused.astype(np_dtype, copy=False)


def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False):
    """Uniform samples in [0, 1)."""
    shape = _size(size)
    np_dtype = _float_dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    data = _uniform_values(_gen(generator), n, np_dtype).reshape(shape)
    return _finish(data, requires_grad, device)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False):
    """Standard normal samples."""
    shape = _size(size)
    data = _normal_values(_gen(generator), shape, _float_dtype(dtype), 0.0, 1.0)
    return _finish(data, requires_grad, device)


def _int_values(gen, n, low, high):
    """ATen's uniform_int_from_to_distribution: (random % range) + low."""
    span = int(high) - int(low)
    if span <= 0:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    words = gen._random64(n) if span >= 1 << 32 else gen._random32(n)
    return (words % np.uint64(span)).astype(np.int64) + np.int64(low)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False):
    """Integers in [low, high)."""
    if size is None:
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    shape = tuple(int(s) for s in size)
    n = int(np.prod(shape, dtype=np.int64))
    data = _int_values(_gen(generator), n, low, high).reshape(shape)
    if dtype is not None:
        data = data.astype(_dtype.to_numpy_dtype(dtype))
    return _finish(data, requires_grad, device)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0..n-1 (ATen's CPU Fisher-Yates with 32-bit draws)."""
    n = int(n)
    perm = list(range(n))
    if n > 1:
        draws = _gen(generator)._random32(n - 1).tolist()
        for i, word in enumerate(draws):
            j = i + word % (n - i)
            perm[i], perm[j] = perm[j], perm[i]
    data = np.array(perm, dtype=np.int64)
    if dtype is not None:
        data = data.astype(_dtype.to_numpy_dtype(dtype))
    return _finish(data, requires_grad, device)


def _random_like(input, dtype, requires_grad, memory_format, fill):
    """A tensor laid out as PyTorch's empty_like(input), filled in memory order by `fill`."""
    from ._size import like_array

    arr = like_array(input._data, _dtype.to_numpy_dtype(dtype or input.dtype), memory_format)
    out = fill(Tensor._make(arr))
    out._requires_grad = requires_grad
    return out


def rand_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    if input._data.flags.c_contiguous:
        return rand(input._data.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)
    return _random_like(input, dtype, requires_grad, memory_format, uniform_)


def randn_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    if input._data.flags.c_contiguous:
        return randn(input._data.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)
    return _random_like(input, dtype, requires_grad, memory_format, normal_)


def randint_like(input, low=0, high=None, *, dtype=None, device=None, requires_grad=False):
    if high is None:
        low, high = 0, low
    return randint(low, high, input._data.shape, dtype=dtype or input.dtype)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, device=None,
           requires_grad=False):
    """Normal samples; with tensor mean/std, PyTorch's N(0, 1) * std + mean (two roundings)."""
    g = _gen(generator)
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        ref = mean if isinstance(mean, Tensor) else std
        np_dtype = ref._data.dtype.type
        if isinstance(std, Tensor):
            data = _normal_values(g, shape, np_dtype, 0.0, 1.0)
            data = (data * s.astype(np_dtype, copy=False)).astype(np_dtype, copy=False)
        else:
            data = _normal_values(g, shape, np_dtype, 0.0, float(std))
        data = (data + np.asarray(m).astype(np_dtype, copy=False)).astype(np_dtype, copy=False)
        return _make(np.array(data, order="C"))  # (ascontiguousarray makes 0-d results 1-d)
    shape = tuple(int(v) for v in size)
    data = _normal_values(g, shape, _float_dtype(dtype), float(mean), float(std))
    return _finish(data, requires_grad, device)


def bernoulli(input, p=None, *, generator=None):
    """0/1 samples: P(1) = input's values (or the number p)."""
    out = np.empty(input._data.shape, input._data.dtype)
    if p is None:
        _fill(out, lambda g, n: _bernoulli_tensor_values(g, n, input._data, out), generator)
    else:
        _fill(out, lambda g, n: _gen(g)._uniform(n, np.float64) < p, generator)
    return _make(out)


def _bernoulli_tensor_values(gen, n, probs, out):
    probs = np.broadcast_to(probs, out.shape)
    np_dtype = np.float64 if probs.dtype == np.float64 else np.float32
    order = _fill_axes(out)
    flat = np.transpose(probs, order).reshape(-1) if order else probs.reshape(-1)
    return _gen(gen)._uniform(n, np_dtype) < flat.astype(np_dtype, copy=False)


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Category indices drawn from each row of weights, as ATen's CPU kernel draws them."""
    g = _gen(generator)
    w = input._data
    rows = np.atleast_2d(w)
    num_samples = int(num_samples)
    if not replacement or num_samples == 1:
        # Gumbel trick as in ATen: argmax / topk of w / q with q ~ Exp(1)
        q = _exponential_values(g, rows.size, 1.0).astype(rows.dtype).reshape(rows.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            keys = rows / q
        if num_samples == 1:
            out = np.argmax(keys, axis=-1)[:, None]
        else:
            out = np.argsort(-keys, axis=-1, kind="stable")[:, :num_samples]
    else:
        acc = rows.dtype if rows.dtype in (np.float32, np.float64) else np.float32
        out = np.empty((rows.shape[0], num_samples), np.int64)
        for i, row in enumerate(rows.astype(acc)):
            cum = np.cumsum(row)  # sequential, as ATen's loop
            cum = cum / cum[-1]
            cum[-1] = 1
            u = g._uniform(num_samples, np.float64)
            out[i] = np.searchsorted(cum.astype(np.float64), u, side="left")
    out = out.astype(np.int64)
    return _make(out if w.ndim == 2 else out[0])


def _exponential_values(gen, n, lambd):
    """ATen's CPU exponential: -1/lambda * log1p(-u) in double (glibc's log1p), then cast."""
    u = gen._uniform(n, np.float64)
    logs = np.fromiter(map(math.log1p, (-u).tolist()), np.float64, n)
    return (-1.0 / lambd) * logs


# -- in-place samplers (Tensor methods) ---------------------------------------------------------
def _fill_axes(arr):
    """Axis order (outermost first) in which TensorIterator visits `arr`: memory order."""
    if arr.flags.c_contiguous or arr.ndim < 2:
        return None
    return tuple(np.argsort([-abs(s) for s in arr.strides], kind="stable"))


def _fill(arr, make_values, generator):
    """Write make_values(generator, n) into arr in ATen's serial fill order."""
    order = _fill_axes(arr)
    n = arr.size
    values = make_values(generator, n)
    if order is None:
        np.copyto(arr, np.reshape(values, arr.shape), casting="unsafe")
    else:
        view = np.transpose(arr, order)
        np.copyto(view, np.reshape(values, view.shape), casting="unsafe")


def _write(t, make_values, generator):
    from .ops.inplace import check_inplace

    check_inplace(t)
    _fill(t._data, make_values, generator)
    t._vc[0] += 1
    return t


def normal_(t, mean=0.0, std=1.0, *, generator=None):
    arr = t._data
    contiguous = arr.flags.c_contiguous
    dt = arr.dtype.type if arr.dtype.kind == "f" else np.float64
    return _write(t, lambda g, n: _normal_values(_gen(g), (n,), dt, mean, std, contiguous),
                  generator)


def uniform_(t, a=0.0, b=1.0, *, generator=None):
    dt = t._data.dtype.type
    return _write(t, lambda g, n: _uniform_values(_gen(g), n, dt, a, b), generator)


# ATen's random_() without bounds: the range each dtype's values are drawn from
_FULL_RANGE = {np.int64: 1 << 63, np.int32: 1 << 31, np.int16: 1 << 15, np.int8: 1 << 7,
               np.uint8: 1 << 8, np.float32: (1 << 24) + 1, np.float64: (1 << 53) + 1,
               np.float16: (1 << 11) + 1}


def random_(t, low=0, high=None, *, generator=None):
    """Integers in [low, high); random_(n) is [0, n); random_() the dtype's whole range."""
    dt = t._data.dtype.type
    if high is None and low:
        low, high = 0, low
    if high is None:
        def values(g, n):
            if dt is np.bool_:
                return (_gen(g)._random32(n) & np.uint64(1)).astype(np.bool_)
            span = np.uint64(_FULL_RANGE[dt])
            wide = dt in (np.int64, np.float64)
            words = _gen(g)._random64(n) if wide else _gen(g)._random32(n)
            return (words % span).astype(np.int64)
        return _write(t, values, generator)
    return _write(t, lambda g, n: _int_values(_gen(g), n, low, high), generator)


def bernoulli_(t, p=0.5, *, generator=None):
    if isinstance(p, Tensor):
        out = t._data
        return _write(t, lambda g, n: _bernoulli_tensor_values(g, n, p._data, out), generator)
    return _write(t, lambda g, n: _gen(g)._uniform(n, np.float64) < p, generator)


def exponential_(t, lambd=1.0, *, generator=None):
    return _write(t, lambda g, n: _exponential_values(_gen(g), n, lambd), generator)


for _name in ["normal_", "uniform_", "random_", "bernoulli_", "exponential_"]:
    setattr(Tensor, _name, globals()[_name])
Tensor.bernoulli = lambda self, p=None, generator=None: bernoulli(self, p, generator=generator)
Tensor.multinomial = lambda self, n, replacement=False, generator=None: multinomial(
    self, n, replacement, generator=generator)
