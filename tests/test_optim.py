"""Optimizers against PyTorch: the same model, data and options give the same trajectory."""
import copy

import numpy as np
import pytest
import torch

import chainrule as cr

STEPS = 50

CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.1, nesterov=True)),
    ("SGD", dict(lr=0.01, momentum=0.9, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.5), eps=1e-6)),  # lerp weight >= 0.5 branch
    ("Adam", dict(lr=0.01, maximize=True, amsgrad=True, weight_decay=0.01)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, alpha=0.4, centered=True, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.001, maximize=True, eps=1e-4)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, initial_accumulator_value=0.1)),
    ("Adagrad", dict(lr=0.05, maximize=True, eps=1e-6)),
]


def case_id(case):
    name, options = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in options.items())


def mlp_arrays(dtype=np.float64, seed=0):
    """A 4-8-3 MLP's weights and a regression batch, as NumPy arrays both libraries copy."""
    rng = np.random.default_rng(seed)
    return dict(
        x=rng.standard_normal((16, 4)).astype(dtype),
        y=rng.standard_normal((16, 3)).astype(dtype),
        w1=(rng.standard_normal((4, 8)) * 0.5).astype(dtype),
        b1=(rng.standard_normal(8) * 0.1).astype(dtype),
        w2=(rng.standard_normal((8, 3)) * 0.5).astype(dtype),
        b2=np.zeros(3, dtype=dtype),
    )


def mlp_loss(lib, params, x, y):
    w1, b1, w2, b2 = params
    hidden = lib.tanh(x @ w1 + b1)
    return ((hidden @ w2 + b2 - y) ** 2).mean()


def run(lib, name, options, arrays, steps=STEPS, closure=False):
    """Train with `lib`'s optimizer; return the parameters after every step as NumPy arrays."""
    params = [lib.tensor(arrays[k].copy(), requires_grad=True) for k in ("w1", "b1", "w2", "b2")]
    x, y = lib.tensor(arrays["x"]), lib.tensor(arrays["y"])
    opt = getattr(lib.optim, name)(params, **options)
    trajectory = []
    for _ in range(steps):
        def step_closure():
            opt.zero_grad()
            loss = mlp_loss(lib, params, x, y)
            loss.backward()
            return loss

        if closure:
            opt.step(step_closure)
        else:
            step_closure()
            opt.step()
        trajectory.append([p.detach().numpy().copy() for p in params])
    return trajectory, opt, params


def assert_same_trajectory(ours, theirs, rtol=1e-7, atol=1e-12):
    assert len(ours) == len(theirs)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for pa, pb in zip(a, b):
            np.testing.assert_allclose(pa, pb, rtol=rtol, atol=atol,
                                       err_msg=f"step {step}")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_trajectory_matches_torch_float64(case):
    name, options = case
    arrays = mlp_arrays()
    ours, _, _ = run(cr, name, options, arrays)
    theirs, _, _ = run(torch, name, options, arrays)
    assert not np.allclose(ours[-1][0], arrays["w1"])  # the optimizer really moved
    assert_same_trajectory(ours, theirs)


@pytest.mark.parametrize("name,options", [("SGD", dict(lr=0.05, momentum=0.9)),
                                          ("Adam", dict(lr=0.01)),
                                          ("RMSprop", dict(lr=0.01, centered=True)),
                                          ("Adagrad", dict(lr=0.1))])
def test_trajectory_tracks_torch_float32(name, options):
    arrays = mlp_arrays(np.float32)
    ours, _, params = run(cr, name, options, arrays)
    theirs, _, _ = run(torch, name, options, arrays)
    assert params[0].dtype == cr.float32
    assert ours[-1][0].dtype == np.float32
    # float32 matmul sums in a different order than torch's kernels; 50 steps stay close.
    assert_same_trajectory(ours, theirs, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_closure_is_called_and_its_loss_returned(name):
    arrays = mlp_arrays()
    ours, _, _ = run(cr, name, dict(lr=0.01), arrays, steps=5, closure=True)
    theirs, _, _ = run(torch, name, dict(lr=0.01), arrays, steps=5, closure=True)
    assert_same_trajectory(ours, theirs)
    w = cr.ones(2, requires_grad=True)
    opt = getattr(cr.optim, name)([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with cr.no_grad():  # the closure still records: step re-enables grad for it
        loss = opt.step(closure)
    assert loss.item() == 2.0


@pytest.mark.parametrize("case", [CASES[1], CASES[8], CASES[13], CASES[18], CASES[22]],
                         ids=case_id)
def test_state_dict_structure_matches_torch(case):
    name, options = case
    arrays = mlp_arrays()
    _, ours, _ = run(cr, name, options, arrays, steps=3)
    _, theirs, _ = run(torch, name, options, arrays, steps=3)
    sd, tsd = ours.state_dict(), theirs.state_dict()
    assert sd["param_groups"] == tsd["param_groups"]
    assert sd["state"].keys() == tsd["state"].keys()
    for index, state in sd["state"].items():
        assert state.keys() == tsd["state"][index].keys()
        for key, value in state.items():
            expected = tsd["state"][index][key]
            assert repr(value.dtype).replace("chainrule", "torch") == repr(expected.dtype)
            np.testing.assert_allclose(value.numpy(), expected.numpy(), rtol=1e-7)


@pytest.mark.parametrize("case", [CASES[1], CASES[8], CASES[13], CASES[18], CASES[22]],
                         ids=case_id)
def test_resuming_from_state_dict_continues_the_same_trajectory(case):
    name, options = case
    arrays = mlp_arrays()
    theirs, _, _ = run(torch, name, options, arrays, steps=20)
    first, opt, params = run(cr, name, options, arrays, steps=10)
    saved_state = copy.deepcopy(opt.state_dict())
    saved_params = {k: p.detach().numpy().copy() for k, p in zip(("w1", "b1", "w2", "b2"),
                                                                 params)}
    # A fresh optimizer on fresh parameters, restored from the saved state.
    resumed_arrays = dict(arrays, **saved_params)
    params2 = [cr.tensor(resumed_arrays[k], requires_grad=True)
               for k in ("w1", "b1", "w2", "b2")]
    opt2 = getattr(cr.optim, name)(params2, lr=123.0)  # options come from the state dict
    opt2.load_state_dict(saved_state)
    assert opt2.param_groups[0]["lr"] == options["lr"]
    x, y = cr.tensor(arrays["x"]), cr.tensor(arrays["y"])
    rest = []
    for _ in range(10):
        opt2.zero_grad()
        mlp_loss(cr, params2, x, y).backward()
        opt2.step()
        rest.append([p.detach().numpy().copy() for p in params2])
    assert_same_trajectory(first + rest, theirs)
    # Loading copies the state: stepping opt2 did not touch the saved tensors.
    for index, state in opt.state_dict()["state"].items():
        for key, value in state.items():
            np.testing.assert_array_equal(value.numpy(), saved_state["state"][index][key].numpy())


def test_load_state_dict_from_torch_optimizer_values():
    """A state dict's numbers mean the same thing in both libraries."""
    arrays = mlp_arrays()
    theirs, topt, _ = run(torch, "Adam", dict(lr=0.01), arrays, steps=5)
    tsd = topt.state_dict()
    converted = {"param_groups": tsd["param_groups"],
                 "state": {i: {k: cr.tensor(v.numpy()) for k, v in s.items()}
                           for i, s in tsd["state"].items()}}
    params = [cr.tensor(p, requires_grad=True) for p in theirs[-1]]
    opt = cr.optim.Adam(params)
    opt.load_state_dict(converted)
    x, y = cr.tensor(arrays["x"]), cr.tensor(arrays["y"])
    tparams = [torch.tensor(p, requires_grad=True) for p in theirs[-1]]
    topt2 = torch.optim.Adam(tparams)
    topt2.load_state_dict(tsd)
    for _ in range(5):
        for lib, ps, o in ((cr, params, opt), (torch, tparams, topt2)):
            o.zero_grad()
            mlp_loss(lib, ps, lib.tensor(arrays["x"]), lib.tensor(arrays["y"])).backward()
            o.step()
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-7)


def test_param_groups_with_their_own_options_match_torch():
    arrays = mlp_arrays()
    results = []
    for lib in (cr, torch):
        params = [lib.tensor(arrays[k].copy(), requires_grad=True)
                  for k in ("w1", "b1", "w2", "b2")]
        opt = lib.optim.SGD([{"params": params[:2]}, {"params": params[2:], "lr": 0.2}],
                            lr=0.05, momentum=0.9)
        opt.add_param_group  # exists
        x, y = lib.tensor(arrays["x"]), lib.tensor(arrays["y"])
        for _ in range(10):
            opt.zero_grad()
            mlp_loss(lib, params, x, y).backward()
            opt.step()
        results.append(([p.detach().numpy().copy() for p in params], opt))
    (ours, opt), (theirs, topt) = results
    assert_same_trajectory([ours], [theirs])
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.2]
    assert repr(opt) == repr(topt)
    assert opt.state_dict()["param_groups"] == topt.state_dict()["param_groups"]


def test_add_param_group_takes_defaults_and_refuses_duplicates():
    w, b = cr.ones(2, requires_grad=True), cr.zeros(1, requires_grad=True)
    tw, tb = torch.ones(2, requires_grad=True), torch.zeros(1, requires_grad=True)
    opt, topt = cr.optim.Adam([w], lr=0.1), torch.optim.Adam([tw], lr=0.1)
    opt.add_param_group({"params": b, "betas": (0.5, 0.6)})
    topt.add_param_group({"params": tb, "betas": (0.5, 0.6)})
    assert repr(opt) == repr(topt)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": [w]})


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_repr_matches_torch(name):
    opt = getattr(cr.optim, name)([cr.ones(2, requires_grad=True)], lr=0.5)
    topt = getattr(torch.optim, name)([torch.ones(2, requires_grad=True)], lr=0.5)
    assert repr(opt) == repr(topt)
    assert opt.defaults == topt.defaults


def test_zero_grad_sets_none_or_zeros():
    w = cr.ones(3, requires_grad=True)
    opt = cr.optim.SGD([w], lr=0.1)
    (w * 2).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert repr(w.grad) == "tensor([0., 0., 0.])"
    opt.zero_grad()
    assert w.grad is None


def test_parameters_without_grad_are_skipped():
    w, unused = cr.ones(2, requires_grad=True), cr.ones(2, requires_grad=True)
    opt = cr.optim.Adam([w, unused], lr=0.1)
    (w * 3).sum().backward()
    opt.step()
    assert unused.tolist() == [1.0, 1.0]
    assert unused not in opt.state
    assert w.tolist() != [1.0, 1.0]


def test_step_bumps_version_so_stale_saved_tensors_are_caught():
    w = cr.ones(2, requires_grad=True)
    opt = cr.optim.SGD([w], lr=0.1)
    out = (w * w).sum()  # saves w for backward
    out.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


def error_message(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except (ValueError, TypeError) as err:
        return type(err), str(err)
    raise AssertionError("no error")


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", dict(lr=-1.0)), ("SGD", dict(lr=0.1, momentum=-0.5)),
    ("SGD", dict(lr=0.1, nesterov=True)), ("SGD", dict(lr=0.1, weight_decay=-1)),
    ("Adam", dict(betas=(1.0, 0.9))), ("Adam", dict(betas=(0.9, -0.1))),
    ("Adam", dict(eps=-1.0)), ("RMSprop", dict(alpha=-0.1)),
    ("Adagrad", dict(lr_decay=-1.0)), ("Adagrad", dict(initial_accumulator_value=-1.0)),
])
def test_invalid_options_raise_torchs_errors(name, kwargs):
    ours = error_message(getattr(cr.optim, name), [cr.ones(1, requires_grad=True)], **kwargs)
    theirs = error_message(getattr(torch.optim, name), [torch.ones(1, requires_grad=True)],
                           **kwargs)
    assert ours == theirs


def test_bad_params_raise_torchs_errors():
    assert (error_message(cr.optim.SGD, [], lr=0.1)
            == error_message(torch.optim.SGD, [], lr=0.1))
    assert (error_message(cr.optim.SGD, cr.ones(2, requires_grad=True), lr=0.1)
            == error_message(torch.optim.SGD, torch.ones(2, requires_grad=True), lr=0.1))
    w, tw = cr.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    assert (error_message(cr.optim.SGD, [w * 2], lr=0.1)
            == error_message(torch.optim.SGD, [tw * 2], lr=0.1))
    assert (error_message(cr.optim.SGD, [{"params": {w}}], lr=0.1)
            == error_message(torch.optim.SGD, [{"params": {tw}}], lr=0.1))


def test_load_state_dict_with_wrong_groups_raises():
    opt = cr.optim.SGD([cr.ones(2, requires_grad=True)], lr=0.1)
    other = cr.optim.SGD([cr.ones(2, requires_grad=True), cr.ones(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        opt.load_state_dict(other.state_dict())
    two_groups = cr.optim.SGD([{"params": [cr.ones(1, requires_grad=True)]},
                               {"params": [cr.ones(1, requires_grad=True)]}], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(two_groups.state_dict())


def test_seed_004_sgd_listing_prints_the_slide():
    """Seed 004: `optim.SGD([weights], lr=0.1)` gives the same output as the manual update."""
    weights = cr.ones(4, requires_grad=True)
    optimizer = cr.optim.SGD([weights], lr=0.1)
    lines = []
    for epoch in range(3):
        output = (weights * 3).sum()
        lines.append("[output {0}]: ".format(epoch) + str(output))
        output.backward()
        lines.append("weights.grad: " + str(weights.grad))
        optimizer.step()
        optimizer.zero_grad()
        lines.append("weights: " + str(weights))
    output = (weights * 3).sum()
    assert lines[0] == "[output 0]: tensor(12., grad_fn=<SumBackward0>)"
    assert lines[2] == "weights: tensor([0.7000, 0.7000, 0.7000, 0.7000], requires_grad=True)"
    assert lines[3] == "[output 1]: tensor(8.4000, grad_fn=<SumBackward0>)"
    assert lines[8] == "weights: tensor([0.1000, 0.1000, 0.1000, 0.1000], requires_grad=True)"
    assert repr(output) == "tensor(1.2000, grad_fn=<SumBackward0>)"


def test_nn_linear_model_trajectory_matches_torch():
    """A Linear-ReLU-Linear model and CrossEntropyLoss."""
    nn = cr.nn
    rng = np.random.default_rng(3)
    x = rng.standard_normal((32, 6))
    target = rng.integers(0, 4, 32)
    results = []
    for lib in (cr, torch):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(6, 10), lib.nn.ReLU(), lib.nn.Linear(10, 4))
        model = model.double()
        with lib.no_grad():
            for p, init in zip(model.parameters(), _nn_init_arrays()):
                p.copy_(lib.tensor(init))
        opt = lib.optim.AdamW(model.parameters(), lr=0.01, amsgrad=True)
        loss_fn = lib.nn.CrossEntropyLoss()
        tx, tt = lib.tensor(x), lib.tensor(target)
        trajectory = []
        for _ in range(STEPS):
            opt.zero_grad()
            loss_fn(model(tx), tt).backward()
            opt.step()
            trajectory.append([p.detach().numpy().copy() for p in model.parameters()])
        results.append(trajectory)
    assert_same_trajectory(*results)


def _nn_init_arrays():
    rng = np.random.default_rng(4)
    return [rng.standard_normal((10, 6)) * 0.3, rng.standard_normal(10) * 0.1,
            rng.standard_normal((4, 10)) * 0.3, rng.standard_normal(4) * 0.1]
