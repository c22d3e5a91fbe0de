"""Adadelta, Adamax, NAdam, RAdam, Rprop, ASGD, Adafactor, LBFGS and SparseAdam against PyTorch.

Most tests feed both libraries the same gradients, computed by NumPy from the current
parameter values (`numpy_grads`), so any difference comes from the optimizer's arithmetic
alone: float64 trajectories must agree to 1e-12. An MLP trained through autograd checks the
usual path as well.
"""
import copy

import numpy as np
import pytest
import torch

import chainrule as cr

STEPS = 15
PARAM_SHAPES = [(4, 3), (3,), (2, 3, 5)]  # a matrix, a vector, and a batch of matrices (Adafactor)

CASES = [
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.5, eps=1e-4)),
    ("Adadelta", dict(weight_decay=0.1, maximize=True)),
    ("Adadelta", dict(lr=2.0, rho=1.0, foreach=False, capturable=False, differentiable=False)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.05, betas=(0.3, 0.5), eps=1e-3)),  # lerp weight >= 0.5 branch
    ("Adamax", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, momentum_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("NAdam", dict(lr=0.05, betas=(0.5, 0.9), eps=1e-4, maximize=True)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.6))),  # rho_t > 5 from step 6: both branches
    ("RAdam", dict(lr=0.01, betas=(0.5, 0.5))),  # rho_t never exceeds 5
    ("RAdam", dict(lr=0.01, betas=(0.8, 0.7), weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, betas=(0.8, 0.7), weight_decay=0.1, decoupled_weight_decay=True,
                   maximize=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.1, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2))),
    ("Rprop", dict(lr=0.05, maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=4)),  # the average starts at step 5
    ("ASGD", dict(lr=0.05, t0=0, weight_decay=0.1, maximize=True)),
    ("Adafactor", dict()),
    ("Adafactor", dict(lr=0.05, beta2_decay=-0.5, eps=(1e-20, 1e-2), d=1.5)),
    ("Adafactor", dict(lr=0.05, weight_decay=0.1, maximize=True)),
    ("Adafactor", dict(lr=0.2, d=100.0, eps=(None, 0.5))),
]


def case_id(case):
    name, options = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in options.items())


def initial_arrays(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for shape in PARAM_SHAPES]


def numpy_grads(arrays, step):
    """The gradient of a bumpy nonconvex function plus a fixed per-step perturbation."""
    rng = np.random.default_rng(100 + step)
    grads = []
    for a in arrays:
        noise = rng.standard_normal(a.shape).astype(a.dtype)
        grads.append(np.sin(3 * a) + 0.5 * a - 0.2 + a.dtype.type(0.3) * noise)
    return grads


def make_params(lib, arrays):
    return [lib.tensor(a.copy(), requires_grad=True) for a in arrays]


def set_grads(lib, params, step):
    for p, g in zip(params, numpy_grads([p.detach().numpy() for p in params], step)):
        p.grad = lib.tensor(g)


def snapshot(params):
    return [p.detach().numpy().copy() for p in params]


def run(lib, name, options, dtype=np.float64, steps=STEPS, scheduler=None):
    """`steps` optimizer steps on NumPy gradients; the parameters after each step."""
    params = make_params(lib, initial_arrays(dtype))
    opt = getattr(lib.optim, name)(params, **options)
    sched = scheduler(lib, opt) if scheduler else None
    trajectory = []
    for step in range(steps):
        set_grads(lib, params, step)
        opt.step()
        if sched:
            sched.step()
        trajectory.append(snapshot(params))
    return trajectory, opt, params


def assert_same_trajectory(ours, theirs, rtol=1e-12, atol=1e-14):
    assert len(ours) == len(theirs)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for pa, pb in zip(a, b):
            assert pa.dtype == pb.dtype
            np.testing.assert_allclose(pa, pb, rtol=rtol, atol=atol, err_msg=f"step {step}")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_trajectory_matches_torch_float64(case):
    name, options = case
    ours, _, _ = run(cr, name, options)
    theirs, _, _ = run(torch, name, options)
    assert not np.allclose(theirs[-1][0], initial_arrays(np.float64)[0])  # it really moved
    assert_same_trajectory(ours, theirs)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_trajectory_matches_torch_float32(case):
    name, options = case
    ours, _, _ = run(cr, name, options, np.float32)
    theirs, _, _ = run(torch, name, options, np.float32)
    # float32 rounding follows PyTorch's (Python scalars stay weak); only fused multiply-adds
    # and reduction orders inside PyTorch's kernels can differ in the last bit.
    assert_same_trajectory(ours, theirs, rtol=2e-5, atol=1e-6)


def state_as_numpy(value):
    if isinstance(value, (torch.Tensor, cr.Tensor)):
        return ("tensor", str(value.dtype).replace("chainrule.", "torch."),
                value.detach().numpy())
    if isinstance(value, list):
        return [state_as_numpy(v) for v in value]
    return value


def assert_same_state_value(ours, theirs, rtol, atol, where):
    ours, theirs = state_as_numpy(ours), state_as_numpy(theirs)
    if isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same_state_value(a, b, rtol, atol, f"{where}[{i}]")
    elif isinstance(theirs, tuple):
        assert isinstance(ours, tuple), where
        assert ours[:2] == theirs[:2], where  # tensor, dtype
        np.testing.assert_allclose(ours[2], theirs[2], rtol=rtol, atol=atol, err_msg=where)
    else:
        assert type(ours) is type(theirs), where
        if isinstance(theirs, float):
            assert ours == pytest.approx(theirs, rel=rtol), where
        else:
            assert ours == theirs, where


def assert_same_state_dict(sd, tsd, rtol=1e-12, atol=1e-14):
    assert sd["param_groups"] == tsd["param_groups"]
    assert list(sd["state"]) == list(tsd["state"])
    for index, state in tsd["state"].items():
        assert list(sd["state"][index]) == list(state)  # same keys, in the same order
        for key, value in state.items():
            assert_same_state_value(sd["state"][index][key], value, rtol, atol,
                                    f"{index}/{key}")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_state_dict_matches_torch(case):
    name, options = case
    _, opt, _ = run(cr, name, options, steps=3)
    _, topt, _ = run(torch, name, options, steps=3)
    assert_same_state_dict(opt.state_dict(), topt.state_dict())


def run_resumed(lib, name, options, dtype, saved, params_after, first_step, steps):
    """A fresh optimizer on fresh parameters restored from `saved`, then more steps."""
    params = make_params(lib, params_after)
    opt = getattr(lib.optim, name)(params, lr=123.0)  # the options come from the state dict
    opt.load_state_dict(saved)
    trajectory = []
    for step in range(first_step, first_step + steps):
        set_grads(lib, params, step)
        opt.step()
        trajectory.append(snapshot(params))
    return trajectory, opt


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_state_dict_round_trip_continues_as_torchs(case, dtype):
    """Save after 7 steps, load into a fresh optimizer, take 7 more: as torch does.

    (Loading casts every floating state tensor but 'step' to the parameter's dtype, in both
    libraries, so NAdam's mu_product and ASGD's eta and mu become float64 here and the resumed
    float64 run is not quite the uninterrupted one.)"""
    name, options = case
    results = []
    for lib in (cr, torch):
        first, opt, params = run(lib, name, options, dtype, steps=7)
        saved = copy.deepcopy(opt.state_dict())
        rest, opt2 = run_resumed(lib, name, options, dtype, saved, snapshot(params), 7, 7)
        assert opt2.param_groups[0]["lr"] == options.get("lr", opt.defaults["lr"])
        if lib is cr:  # loading copied the state: stepping opt2 left the saved tensors alone
            assert_same_state_dict(saved, opt.state_dict(), rtol=0)
        results.append((first + rest, opt2.state_dict()))
    tol = dict(rtol=2e-5, atol=1e-6) if dtype == np.float32 else {}
    assert_same_trajectory(results[0][0], results[1][0], **tol)
    assert_same_state_dict(results[0][1], results[1][1], **tol)


@pytest.mark.parametrize("case", CASES[::2], ids=case_id)
def test_loading_torchs_state_dict_continues_as_torch(case):
    name, options = case
    _, topt, tparams = run(torch, name, options, steps=6)
    tsd = topt.state_dict()
    converted = {"param_groups": tsd["param_groups"],
                 "state": {i: {k: cr.tensor(v.numpy()) if isinstance(v, torch.Tensor) else v
                               for k, v in s.items()} for i, s in tsd["state"].items()}}
    ours, _ = run_resumed(cr, name, options, np.float64, converted, snapshot(tparams), 6, 6)
    theirs, _ = run_resumed(torch, name, options, np.float64, tsd, snapshot(tparams), 6, 6)
    assert_same_trajectory(ours, theirs)


SCHEDULES = {
    "StepLR": lambda lib, opt: lib.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5),
    "ExponentialLR": lambda lib, opt: lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.8),
    "CosineAnnealingLR": lambda lib, opt: lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=8),
}


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
@pytest.mark.parametrize("name,options", [("NAdam", dict(lr=0.05)), ("RAdam", dict(lr=0.05)),
                                          ("Adamax", dict(lr=0.05)), ("Adadelta", dict()),
                                          ("ASGD", dict(lr=0.05, t0=3)), ("Rprop", dict()),
                                          ("Adafactor", dict(lr=0.05))])
def test_lr_scheduler_drives_the_optimizer_as_in_torch(name, options, schedule):
    ours, opt, _ = run(cr, name, options, scheduler=SCHEDULES[schedule])
    theirs, topt, _ = run(torch, name, options, scheduler=SCHEDULES[schedule])
    assert_same_trajectory(ours, theirs)
    assert opt.param_groups[0]["lr"] == topt.param_groups[0]["lr"]


def mlp_loss(lib, params, x, y):
    w1, b1, w2, b2 = params
    return ((lib.tanh(x @ w1 + b1) @ w2 + b2 - y) ** 2).mean()


@pytest.mark.parametrize("name", ["Adadelta", "Adamax", "NAdam", "RAdam", "Rprop", "ASGD",
                                  "Adafactor"])
def test_mlp_trained_through_autograd_matches_torch(name):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((16, 4)), rng.standard_normal((16, 3)),
              rng.standard_normal((4, 8)) * 0.5, rng.standard_normal(8) * 0.1,
              rng.standard_normal((8, 3)) * 0.5, np.zeros(3)]
    results = []
    for lib in (cr, torch):
        x, y = lib.tensor(arrays[0]), lib.tensor(arrays[1])
        params = make_params(lib, arrays[2:])
        opt = getattr(lib.optim, name)(params, lr=0.05)
        trajectory = []
        for _ in range(20):
            def closure():
                opt.zero_grad()
                loss = mlp_loss(lib, params, x, y)
                loss.backward()
                return loss
            trajectory.append(opt.step(closure).item())
        results.append(trajectory + [snapshot(params)])
    ours, theirs = results
    # The gradients come from matmuls summed in another order: agreement to ~1e-10.
    np.testing.assert_allclose(ours[:-1], theirs[:-1], rtol=1e-10)
    assert_same_trajectory([ours[-1]], [theirs[-1]], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["Adadelta", "Adamax", "NAdam", "RAdam", "Rprop", "ASGD",
                                  "Adafactor", "LBFGS", "SparseAdam"])
def test_repr_and_defaults_match_torch(name):
    opt = getattr(cr.optim, name)([cr.ones(2, requires_grad=True)])
    topt = getattr(torch.optim, name)([torch.ones(2, requires_grad=True)])
    assert repr(opt) == repr(topt)
    assert opt.defaults == topt.defaults


def test_param_groups_with_their_own_options_match_torch():
    results = []
    for lib in (cr, torch):
        params = make_params(lib, initial_arrays(np.float64))
        opt = lib.optim.NAdam([{"params": params[:1], "momentum_decay": 0.05},
                               {"params": params[1:], "lr": 0.1, "betas": (0.5, 0.6)}],
                              lr=0.01, weight_decay=0.01)
        for step in range(STEPS):
            set_grads(lib, params, step)
            opt.step()
        results.append((snapshot(params), opt.state_dict()))
    assert_same_trajectory([results[0][0]], [results[1][0]])
    assert_same_state_dict(results[0][1], results[1][1])


def test_parameters_without_grad_are_skipped():
    w, unused = cr.ones(2, requires_grad=True), cr.ones(2, requires_grad=True)
    for name in ["Adadelta", "Adamax", "NAdam", "RAdam", "Rprop", "ASGD", "Adafactor"]:
        opt = getattr(cr.optim, name)([w, unused])
        (w * 3).sum().backward()
        opt.step()
        assert unused.tolist() == [1.0, 1.0] and unused not in opt.state


# -- LBFGS ----------------------------------------------------------------------------------

def rosenbrock(lib, x):
    return ((1 - x[:-1]) ** 2 + 100 * (x[1:] - x[:-1] ** 2) ** 2).sum()


def regression_arrays():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((20, 3))
    y = x @ np.array([[1.5], [-2.0], [0.5]]) + 0.3 + 0.1 * rng.standard_normal((20, 1))
    return x, y


def regression_loss(lib, params, data):
    w, b = params
    x, y = data
    return ((lib.tanh(x @ w) + x @ w * 0.5 + b - y) ** 2).mean()


def run_lbfgs(lib, problem, options, dtype=np.float64, steps=6, load_from=None):
    """Steps of LBFGS; after each: the loss it returned, the parameters, func_evals, n_iter."""
    if problem == "rosenbrock":
        params = [lib.tensor(np.array([-1.2, 1.0, -0.5, 0.8], dtype=dtype), requires_grad=True)]

        def loss_fn():
            return rosenbrock(lib, params[0])
    else:
        x, y = regression_arrays()
        data = (lib.tensor(x.astype(dtype)), lib.tensor(y.astype(dtype)))
        params = [lib.tensor(np.full((3, 1), 0.1, dtype=dtype), requires_grad=True),
                  lib.tensor(np.zeros(1, dtype=dtype), requires_grad=True)]

        def loss_fn():
            return regression_loss(lib, params, data)

    opt = lib.optim.LBFGS(params, **options)
    if load_from is not None:
        for p, array in zip(params, load_from[0]):
            with lib.no_grad():
                p.copy_(lib.tensor(array))
        opt.load_state_dict(load_from[1])

    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    history = []
    for _ in range(steps):
        loss = opt.step(closure)
        state = opt.state[params[0]]
        history.append((loss.item(), snapshot(params), state["func_evals"], state["n_iter"]))
    return history, opt, params


LBFGS_CASES = [
    dict(),
    dict(line_search_fn="strong_wolfe"),
    dict(max_iter=5, history_size=3),
    dict(max_iter=4, history_size=2, line_search_fn="strong_wolfe"),
    dict(lr=0.5, max_iter=7, max_eval=9, tolerance_grad=1e-5, tolerance_change=1e-6),
    dict(lr=0.8, max_iter=1, history_size=4, line_search_fn="strong_wolfe"),
]


def assert_same_lbfgs_history(ours, theirs, rtol=1e-10, atol=1e-12):
    assert len(ours) == len(theirs)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        assert a[2:] == b[2:], f"step {step}: func_evals, n_iter"
        assert a[0] == pytest.approx(b[0], rel=rtol, abs=atol), f"step {step}"
        for pa, pb in zip(a[1], b[1]):
            np.testing.assert_allclose(pa, pb, rtol=rtol, atol=atol, err_msg=f"step {step}")


@pytest.mark.parametrize("problem", ["rosenbrock", "regression"])
@pytest.mark.parametrize("options", LBFGS_CASES, ids=str)
def test_lbfgs_iterates_match_torch_float64(options, problem):
    ours, _, _ = run_lbfgs(cr, problem, options)
    theirs, _, _ = run_lbfgs(torch, problem, options)
    assert theirs[-1][0] < theirs[0][0] * 0.5  # it made progress
    # Rosenbrock's valley amplifies last-bit differences (dot products summed in another order)
    # by ~10x per iteration over the 20-80 iterations here; the iteration and evaluation counts
    # still agree exactly.
    tol = dict(rtol=1e-6, atol=1e-9) if problem == "rosenbrock" else {}
    assert_same_lbfgs_history(ours, theirs, **tol)


@pytest.mark.parametrize("options", [dict(max_iter=2), dict(max_iter=3, history_size=2),
                                     dict(max_iter=3, line_search_fn="strong_wolfe"),
                                     LBFGS_CASES[5]], ids=str)
def test_lbfgs_float32_rounds_as_torch(options):
    # Short runs: near convergence float32 differences of tiny numbers dominate.
    ours, opt, _ = run_lbfgs(cr, "regression", options, np.float32, steps=3)
    theirs, topt, _ = run_lbfgs(torch, "regression", options, np.float32, steps=3)
    assert_same_lbfgs_history(ours, theirs, rtol=1e-5, atol=1e-6)
    # The algorithm's scalars are float32 tensors or Python floats exactly where torch's are.
    assert_same_state_dict(opt.state_dict(), topt.state_dict(), rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("options", LBFGS_CASES, ids=str)
def test_lbfgs_state_dict_matches_torch(options):
    _, opt, _ = run_lbfgs(cr, "regression", options, steps=2)
    _, topt, _ = run_lbfgs(torch, "regression", options, steps=2)
    assert_same_state_dict(opt.state_dict(), topt.state_dict(), rtol=1e-10)


@pytest.mark.parametrize("options", LBFGS_CASES, ids=str)
def test_lbfgs_state_dict_round_trip_continues_torchs_iterates(options):
    theirs, _, _ = run_lbfgs(torch, "regression", options, steps=5)
    first, opt, params = run_lbfgs(cr, "regression", options, steps=2)
    saved = copy.deepcopy(opt.state_dict())
    rest, _, _ = run_lbfgs(cr, "regression", options, steps=3,
                           load_from=(snapshot(params), saved))
    assert_same_lbfgs_history(first + rest, theirs)


def test_lbfgs_needs_a_closure_and_one_group():
    w, tw = cr.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    assert (error_message(cr.optim.LBFGS([w]).step)
            == error_message(torch.optim.LBFGS([tw]).step))
    groups = [{"params": [cr.ones(1, requires_grad=True)]}, {"params": [w]}]
    tgroups = [{"params": [torch.ones(1, requires_grad=True)]}, {"params": [tw]}]
    assert error_message(cr.optim.LBFGS, groups) == error_message(torch.optim.LBFGS, tgroups)


def test_lbfgs_unknown_line_search_raises_torchs_error():
    messages = []
    for lib in (cr, torch):
        w = lib.ones(2, requires_grad=True)
        opt = lib.optim.LBFGS([w], line_search_fn="armijo")

        def closure():
            opt.zero_grad()
            loss = (w * w).sum()
            loss.backward()
            return loss
        with pytest.raises(RuntimeError) as info:
            opt.step(closure)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_lbfgs_returns_at_once_when_the_gradient_is_zero():
    for lib in (cr, torch):
        w = lib.zeros(2, requires_grad=True)
        opt = lib.optim.LBFGS([w])

        def closure():
            opt.zero_grad()
            loss = (w * w).sum()
            loss.backward()
            return loss
        assert opt.step(closure).item() == 0.0
        assert opt.state_dict()["state"] == {0: {"func_evals": 1, "n_iter": 0}}


# -- SparseAdam and errors ------------------------------------------------------------------

def error_message(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except (ValueError, TypeError, RuntimeError) as err:
        return type(err), str(err)
    raise AssertionError("no error")


def test_sparse_adam_refuses_dense_gradients_as_torch_does():
    messages = []
    for lib in (cr, torch):
        w = lib.ones(2, requires_grad=True)
        opt = lib.optim.SparseAdam([w])
        opt.step()  # no gradient yet: nothing to do
        (w * 2).sum().backward()
        messages.append(error_message(opt.step))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("name,kwargs", [
    ("Adadelta", dict(lr=-1.0)), ("Adadelta", dict(rho=1.5)), ("Adadelta", dict(rho=-0.1)),
    ("Adadelta", dict(eps=-1e-6)), ("Adadelta", dict(weight_decay=-0.1)),
    ("Adamax", dict(lr=-1.0)), ("Adamax", dict(eps=-1.0)), ("Adamax", dict(betas=(1.0, 0.9))),
    ("Adamax", dict(betas=(0.9, -0.1))), ("Adamax", dict(weight_decay=-1)),
    ("NAdam", dict(lr=-1.0)), ("NAdam", dict(eps=-1.0)), ("NAdam", dict(betas=(-0.1, 0.9))),
    ("NAdam", dict(betas=(0.9, 1.0))), ("NAdam", dict(weight_decay=-1)),
    ("NAdam", dict(momentum_decay=-0.004)),
    ("RAdam", dict(lr=-1.0)), ("RAdam", dict(eps=-1.0)), ("RAdam", dict(betas=(1.5, 0.9))),
    ("RAdam", dict(betas=(0.9, 1.0))), ("RAdam", dict(weight_decay=-1)),
    ("Rprop", dict(lr=-1.0)), ("Rprop", dict(etas=(1.5, 1.2))), ("Rprop", dict(etas=(0.5, 0.9))),
    ("Rprop", dict(etas=(0.0, 1.2))),
    ("ASGD", dict(lr=-1.0)), ("ASGD", dict(weight_decay=-0.5)),
    ("LBFGS", dict(lr=-1.0)),
    ("SparseAdam", dict(lr=0.0)), ("SparseAdam", dict(eps=0.0)),
    ("SparseAdam", dict(betas=(1.0, 0.9))), ("SparseAdam", dict(betas=(0.9, -1.0))),
    ("Adafactor", dict(lr=-1.0)), ("Adafactor", dict(beta2_decay=0.5)),
    ("Adafactor", dict(eps=(-1.0, 1e-3))), ("Adafactor", dict(eps=(None, -1e-3))),
    ("Adafactor", dict(d=0.5)), ("Adafactor", dict(weight_decay=-0.1)),
])
def test_invalid_options_raise_torchs_errors(name, kwargs):
    ours = error_message(getattr(cr.optim, name), [cr.ones(1, requires_grad=True)], **kwargs)
    theirs = error_message(getattr(torch.optim, name), [torch.ones(1, requires_grad=True)],
                           **kwargs)
    assert ours == theirs
