"""Triangular solvers and Cholesky's info against PyTorch: values and float64 gradients."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule  # noqa: E402


def _pair(array, requires_grad=True):
    return (torch.tensor(array, requires_grad=requires_grad),
            chainrule.tensor(array, requires_grad=requires_grad))


def _well_conditioned(rng, shape):
    a = rng.standard_normal(shape)
    return a + 3 * np.eye(shape[-1])


def _check(fn_torch, fn_ours, arrays):
    ts, cs = zip(*(_pair(a) for a in arrays))
    expected, got = fn_torch(*ts), fn_ours(*cs)
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    w = np.random.default_rng(0).standard_normal(tuple(expected.shape))
    (expected * torch.tensor(w)).sum().backward()
    (got * chainrule.tensor(w)).sum().backward()
    for t, c in zip(ts, cs):
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unitriangular", [True, False])
@pytest.mark.parametrize("batch", [(), (2,)])
def test_solve_triangular(upper, left, unitriangular, batch):
    rng = np.random.default_rng(len(batch) * 8 + upper * 4 + left * 2 + unitriangular)
    A = _well_conditioned(rng, batch + (4, 4))
    B = rng.standard_normal(batch + ((4, 3) if left else (3, 4)))

    def run(lib):
        return lambda a, b: lib.linalg.solve_triangular(a, b, upper=upper, left=left,
                                                        unitriangular=unitriangular)
    _check(run(torch), run(chainrule), [A, B])


@pytest.mark.parametrize("upper", [True, False])
def test_cholesky_solve_and_inverse(upper):
    rng = np.random.default_rng(7)
    M = rng.standard_normal((3, 3))
    L = np.linalg.cholesky(M @ M.T + 3 * np.eye(3))
    L = L.T.copy() if upper else L
    B = rng.standard_normal((3, 2))
    _check(lambda b, l: torch.cholesky_solve(b, l, upper),
           lambda b, l: chainrule.cholesky_solve(b, l, upper), [B, L])
    _check(lambda l: torch.cholesky_inverse(l, upper),
           lambda l: chainrule.cholesky_inverse(l, upper), [L])


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("transpose", [True, False])
def test_triangular_solve(upper, transpose):
    rng = np.random.default_rng(3)
    A, b = _well_conditioned(rng, (3, 3)), rng.standard_normal((3, 2))
    _check(lambda b_, a: torch.triangular_solve(b_, a, upper, transpose).solution,
           lambda b_, a: chainrule.triangular_solve(b_, a, upper, transpose).solution, [b, A])


def test_cholesky_info_and_errors_match_torch():
    cases = [np.array([[4., 2., 1.], [2., 1., 0.], [1., 0., 3.]]),
             np.array([[[4., 0.], [0., 1.]], [[1., 2.], [2., 1.]]]),
             np.array([[2., 1.], [1., 2.]])]
    for a in cases:
        for upper in (False, True):
            t = torch.linalg.cholesky_ex(torch.tensor(a), upper=upper)
            c = chainrule.linalg.cholesky_ex(chainrule.tensor(a), upper=upper)
            np.testing.assert_array_equal(c.info.numpy(), t.info.numpy())
            np.testing.assert_allclose(c.L.numpy(), t.L.numpy(), atol=1e-12)
        messages = []
        for lib in (torch, chainrule):
            for fn in (lambda x: lib.linalg.cholesky(x),
                       lambda x: lib.linalg.cholesky_ex(x, check_errors=True)):
                try:
                    fn(lib.tensor(a))
                    messages.append(None)
                except RuntimeError as e:
                    messages.append(str(e))
        assert messages[:2] == messages[2:]
