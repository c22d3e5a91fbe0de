"""float32 sum/mean bit-identical to PyTorch's CPU cascade sum (ops/_cascade_sum.py)."""
import io
import contextlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule  # noqa: E402
from chainrule.ops import _cascade_sum as cs  # noqa: E402


def _bits(a):
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def _torch_sum(x, axes, keepdim=False):
    t = torch.from_numpy(x)
    if axes is None and keepdim:
        axes = tuple(range(x.ndim))
    out = t.sum() if axes is None else t.sum(dim=axes, keepdim=keepdim)
    return out.numpy()


def _assert_same_bits(x, axes, keepdim=False, threads=None):
    expected = _torch_sum(x, axes, keepdim)
    got = cs.cascade_sum(x, axes, keepdim, threads=threads)
    assert got.shape == expected.shape
    bad = np.flatnonzero(_bits(got).ravel() != _bits(expected).ravel())
    assert bad.size == 0, (x.shape, x.strides, axes, bad.size, got.ravel()[bad[:3]],
                           expected.ravel()[bad[:3]])


def _data(rng, shape):
    """Values of mixed magnitudes, so that summation order shows in the last bits."""
    scale = 10.0 ** rng.integers(-3, 4, size=shape)
    return (rng.standard_normal(shape) * scale).astype(np.float32)


@pytest.fixture
def torch_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_default_threads_match_torch():
    assert cs.NUM_THREADS == torch.get_num_threads()


def test_set_num_threads_follows_torch(torch_threads):
    # a script's torch.set_num_threads(n) changes how torch splits a large sum; chainrule's
    # set_num_threads must change its emulated split the same way
    assert chainrule.get_num_threads() == torch.get_num_threads()
    x = _data(np.random.default_rng(3), (70000,))
    try:
        for n in (1, 3, 2):
            torch.set_num_threads(n)
            chainrule.set_num_threads(n)
            assert chainrule.get_num_threads() == torch.get_num_threads() == n
            got = chainrule.from_numpy(x).sum().numpy()
            assert _bits(got) == _bits(torch.from_numpy(x).sum().numpy())
    finally:
        chainrule.set_num_threads(torch.get_num_threads())


def test_set_num_threads_limits_numpys_blas(torch_threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return {lib["num_threads"] for lib in threadpoolctl.threadpool_info()
                if lib["user_api"] == "blas" and "numpy" in lib["filepath"]}

    before = chainrule.get_num_threads()
    try:
        chainrule.set_num_threads(1)
        assert blas_threads() == {1}
    finally:
        chainrule.set_num_threads(before)
    assert blas_threads() == {before}


@pytest.mark.parametrize("bad", [0, -2, 1.5, True])
def test_set_num_threads_refuses_what_torch_refuses(bad, torch_threads):
    for fn in ("set_num_threads", "set_num_interop_threads"):
        messages = []
        for lib in (torch, chainrule):
            with pytest.raises(RuntimeError) as caught:
                getattr(lib, fn)(bad)
            messages.append(str(caught.value))
        assert messages[0] == messages[1]


def test_numpy_reduce_over_outer_axis_is_sequential():
    # the module relies on this: an axis that is not NumPy's innermost loop is summed in order
    rng = np.random.default_rng(5)
    for shape in [(40, 3), (17, 4, 8), (100, 2)]:
        v = _data(rng, shape)
        acc = v[0].copy()
        for row in v[1:]:
            acc = acc + row
        assert np.array_equal(cs._seq(v), acc)
        assert np.array_equal(cs._seq(np.ascontiguousarray(v.reshape(shape[0], -1)[:, :1])),
                              np.add.accumulate(v.reshape(shape[0], -1)[:, 0])[-1:])


@pytest.mark.parametrize("n", list(range(1, 70)) + [127, 128, 129, 511, 512, 1000, 4097, 30000])
def test_full_sum_1d(n):
    rng = np.random.default_rng(n)
    for _ in range(3):
        _assert_same_bits(_data(rng, (n,)), None)


CASES = [((64, 10), (0,)), ((64, 10), (1,)), ((512, 1024), (0,)), ((512, 1024), (1,)),
         ((33, 65), (0,)), ((33, 65), (1,)), ((7, 9, 11), (0, 2)), ((7, 9, 11), (1,)),
         ((3, 50, 400), (0, 2)), ((50, 3, 400), (0,)), ((2, 3, 4, 5), (1, 3)),
         ((20000, 3), (0,)), ((1030, 70), (0,)), ((600, 100), (0,)), ((600, 100), (1,)),
         ((5, 4000), (0,)), ((300, 300), None), ((70000,), None), ((129, 1000), None),
         ((4, 1, 6), (1,)), ((1, 40), (0,)), ((8, 8, 8), (0, 1, 2))]


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("shape,axes", CASES)
def test_layouts_and_thread_splits(shape, axes, threads, torch_threads):
    torch.set_num_threads(threads)
    rng = np.random.default_rng(len(shape) * 1000 + shape[0])
    x = _data(rng, shape)
    _assert_same_bits(x, axes, threads=threads)
    if x.ndim >= 2:  # transposed and sliced views: TensorIterator's reordering
        flipped = None if axes is None else tuple(x.ndim - 1 - a for a in axes)
        _assert_same_bits(x.T, flipped, threads=threads)
        _assert_same_bits(x[:, ::2], axes, keepdim=True, threads=threads)


def test_random_shapes_and_dims(torch_threads):
    rng = np.random.default_rng(2024)
    for trial in range(150):
        ndim = int(rng.integers(1, 5))
        shape = tuple(int(s) for s in rng.integers(1, 24 if ndim > 2 else 300, ndim))
        x = _data(rng, shape)
        if ndim > 1 and rng.random() < 0.4:
            x = np.transpose(x, rng.permutation(ndim))
        k = int(rng.integers(1, ndim + 1))
        axes = tuple(sorted(int(a) for a in rng.choice(ndim, k, replace=False)))
        _assert_same_bits(x, axes, keepdim=bool(trial % 2))


def test_chainrule_sum_mean_and_broadcast_grad_bits():
    rng = np.random.default_rng(11)
    x = _data(rng, (37, 23))
    for dim in [None, 0, 1, (0, 1)]:
        kw = {} if dim is None else {"dim": dim}
        for name in ["sum", "mean"]:
            got = getattr(chainrule.tensor(x), name)(**kw).numpy()
            want = getattr(torch.tensor(x), name)(**kw).numpy()
            assert np.array_equal(_bits(got), _bits(want)), (name, dim)
    # sum_to in backward: a broadcast bias's gradient is reduced over the batch
    g = _data(rng, (37, 23))
    for lib in (chainrule, torch):
        b = lib.zeros(23, requires_grad=True)
        (lib.tensor(x) + b).backward(lib.tensor(g))
        if lib is chainrule:
            got = b.grad.numpy()
        else:
            want = b.grad.numpy()
    assert np.array_equal(_bits(got), _bits(want))


SEED_003 = '''
t_c = torch.tensor([0.5, 14.0, 15.0, 28.0, 11.0, 8.0, 3.0, -4.0, 6.0, 13.0, 21.0])
t_u = torch.tensor([35.7, 55.9, 58.2, 81.9, 56.3, 48.9, 33.9, 21.8, 48.4, 60.4, 68.4])
t_un = 0.1 * t_u

def model(t_u, w, b):
    return w * t_u + b

def loss_fn(t_p, t_c):
    squared_diffs = (t_p - t_c)**2
    return squared_diffs.mean()

def training_loop(n_epochs, learning_rate, params, t_u, t_c):
    for epoch in range(1, n_epochs + 1):
        if params.grad is not None:
            params.grad.zero_()
        t_p = model(t_u, *params)
        loss = loss_fn(t_p, t_c)
        loss.backward()
        with torch.no_grad():
            params -= learning_rate * params.grad
        if epoch % 500 == 0:
            print('Epoch %d, Loss %f' % (epoch, float(loss)))
    return params

print(training_loop(n_epochs=5000, learning_rate=1e-2,
                    params=torch.tensor([1.0, 0.0], requires_grad=True), t_u=t_un, t_c=t_c))
'''


def _run(source, lib):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(source, {"torch": lib})
    return out.getvalue().splitlines()


def test_seed_003_training_loop_prints_torchs_digits():
    expected = _run(SEED_003, torch)
    got = _run(SEED_003, chainrule)
    assert got == expected


def test_random_1d_lengths_and_thread_counts(torch_threads):
    # every branch of the 1-D cascade: flat orders (< 16), one or more 4-vector rows, one or
    # several 16-row blocks with leftovers (_flat_sum), beyond 256 rows, and two-pass splits
    rng = np.random.default_rng(77)
    lengths = [int(n) for n in rng.integers(16, 9000, 40)] + [
        2047, 2048, 2049, 8191, 8192, 8193, 8200, 16384 + 37, 32767, 32768, 40000 + 5, 100003]
    for i, n in enumerate(lengths):
        threads = 1 + i % 3
        torch.set_num_threads(threads)
        _assert_same_bits(_data(rng, (n,)), None, threads=threads)


def test_random_rows_and_columns_of_contiguous_inputs(torch_threads):
    # C-contiguous inputs reduced over leading, trailing or middle dims (the reshape plans)
    rng = np.random.default_rng(78)
    for trial in range(60):
        threads = 1 + trial % 3
        torch.set_num_threads(threads)
        rows, cols = (int(s) for s in rng.integers(1, 600, 2))
        if rows * cols > 150000:
            cols = max(1, 150000 // rows)
        batch = int(rng.integers(1, 5))
        x = _data(rng, (batch, rows, cols) if trial % 2 else (rows, cols))
        for axes in ([(1,), (2,), (1, 2), (0, 1)] if trial % 2 else [(0,), (1,)]):
            _assert_same_bits(x, axes, keepdim=bool(trial % 4 == 1), threads=threads)


def test_random_views_and_repeated_plans(torch_threads):
    # non-contiguous views go through the general plan; plans are cached per (shape, strides,
    # axes, ...), so each case runs twice on fresh data
    rng = np.random.default_rng(79)
    for trial in range(40):
        threads = 1 + trial % 3
        torch.set_num_threads(threads)
        ndim = int(rng.integers(2, 4))
        shape = tuple(int(s) for s in rng.integers(1, 60 if ndim == 3 else 400, ndim))
        k = int(rng.integers(1, ndim + 1))
        axes = tuple(sorted(int(a) for a in rng.choice(ndim, k, replace=False)))
        perm = rng.permutation(ndim)
        for _ in range(2):
            x = np.transpose(_data(rng, shape), perm)
            if trial % 3 == 0:
                x = x[::2]
            _assert_same_bits(x, axes, threads=threads)


def test_negative_strides_sum_as_the_contiguous_copy():
    rng = np.random.default_rng(80)
    x = _data(rng, (37, 41))
    for axes in [None, (0,), (1,)]:
        got = cs.cascade_sum(x[::-1, ::-1], axes)
        want = _torch_sum(np.ascontiguousarray(x[::-1, ::-1]), axes)
        assert np.array_equal(_bits(got), _bits(want))


def test_results_are_fresh_arrays():
    x = np.ones((4, 1), np.float32)
    r = cs.cascade_sum(x, (1,))
    r += 1
    assert np.all(x == 1) and isinstance(cs.cascade_sum(np.ones(3, np.float32)), np.ndarray)


@pytest.mark.parametrize("lanes", [4, 8, 16])
def test_spelled_out_1d_cascade_matches_the_generic_one(lanes):
    # _flat_sum (per-length plan) against _vec_sum (generic), also for vector widths torch
    # does not run here
    rng = np.random.default_rng(lanes)
    for n in list(range(1, 80)) + [int(n) for n in rng.integers(80, 10000, 25)]:
        v = _data(rng, (n,))
        assert _bits(cs._flat_sum(n, lanes)(v)) == _bits(cs._vec_sum(v, lanes)), n
