"""optim.swa_utils against PyTorch: AveragedModel (SWA and EMA), SWALR, update_bn."""
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr


def make_model(lib, seed=0):
    """Linear-BatchNorm-Tanh-Linear in float64 with weights both libraries share."""
    rng = np.random.default_rng(seed)
    model = lib.nn.Sequential(lib.nn.Linear(3, 5), lib.nn.BatchNorm1d(5), lib.nn.Tanh(),
                              lib.nn.Linear(5, 1)).double()
    with lib.no_grad():
        for p in model.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)) * 0.5))
    return model


def batches(lib, n=6, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 8, 3))
    y = np.sin(x.sum(-1, keepdims=True))
    return [(lib.tensor(a), lib.tensor(b)) for a, b in zip(x, y)]


def train_and_average(lib, epochs=5, **averaged_options):
    """SGD epochs; the AveragedModel is updated after each. Its state dict after each update."""
    model = make_model(lib)
    averaged = lib.optim.swa_utils.AveragedModel(model, **averaged_options)
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    history = []
    for _ in range(epochs):
        for x, y in batches(lib):
            opt.zero_grad()
            ((model(x) - y) ** 2).mean().backward()
            opt.step()
        averaged.update_parameters(model)
        history.append({k: v.detach().numpy().copy() for k, v in averaged.state_dict().items()})
    return history, averaged, model


def assert_same_history(ours, theirs):
    assert len(ours) == len(theirs)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        assert list(a) == list(b)
        for key in b:
            assert a[key].dtype == b[key].dtype, key
            np.testing.assert_allclose(a[key], b[key], rtol=1e-12, atol=1e-14,
                                       err_msg=f"update {step}: {key}")


AVERAGING = {
    "swa": lambda lib: dict(),
    "swa_buffers": lambda lib: dict(use_buffers=True),
    "ema_multi": lambda lib: dict(multi_avg_fn=lib.optim.swa_utils.get_ema_multi_avg_fn(0.7)),
    "ema_multi_buffers": lambda lib: dict(
        multi_avg_fn=lib.optim.swa_utils.get_ema_multi_avg_fn(0.7), use_buffers=True),
    "ema": lambda lib: dict(avg_fn=lib.optim.swa_utils.get_ema_avg_fn(0.6)),
    "swa_multi": lambda lib: dict(multi_avg_fn=lib.optim.swa_utils.get_swa_multi_avg_fn()),
    "swa_fn": lambda lib: dict(avg_fn=lib.optim.swa_utils.get_swa_avg_fn()),
}


@pytest.mark.parametrize("averaging", sorted(AVERAGING))
def test_averaged_model_matches_torch(averaging):
    ours, averaged, model = train_and_average(cr, **AVERAGING[averaging](cr))
    theirs, taveraged, _ = train_and_average(torch, **AVERAGING[averaging](torch))
    assert_same_history(ours, theirs)
    assert repr(averaged) == repr(taveraged)
    assert averaged.n_averaged.item() == 5 and averaged.n_averaged.dtype == cr.int64
    x = cr.tensor(np.linspace(-1, 1, 12).reshape(4, 3))
    averaged.eval()
    taveraged.eval()
    np.testing.assert_allclose(averaged(x).detach().numpy(),
                               taveraged(torch.tensor(x.numpy())).detach().numpy(), rtol=1e-12)
    assert not np.allclose(ours[-1]["module.0.weight"],
                           model[0].weight.detach().numpy())  # an average, not a copy


def test_averaged_model_keeps_its_own_copy_and_no_grad_history():
    model = make_model(cr)
    averaged = cr.optim.swa_utils.AveragedModel(model)
    assert averaged.module is not model
    assert averaged.module[0].weight is not model[0].weight
    averaged.update_parameters(model)
    averaged.update_parameters(model)
    for p in averaged.parameters():
        assert p.is_leaf and p.grad_fn is None and p.requires_grad


def test_averaged_model_refuses_two_averaging_functions():
    utils = cr.optim.swa_utils
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        utils.AveragedModel(make_model(cr), avg_fn=utils.get_swa_avg_fn(),
                            multi_avg_fn=utils.get_swa_multi_avg_fn())


@pytest.mark.parametrize("maker", ["get_ema_multi_avg_fn", "get_ema_avg_fn"])
@pytest.mark.parametrize("decay", [-0.1, 1.5])
def test_invalid_decay_raises_torchs_error(maker, decay):
    messages = []
    for lib in (cr, torch):
        with pytest.raises(ValueError) as info:
            getattr(lib.optim.swa_utils, maker)(decay)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_avg_fns_return_the_same_tensors_as_torch():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(4).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    results = []
    for lib in (cr, torch):
        utils = lib.optim.swa_utils
        n = lib.tensor(3)
        outs = [utils.get_ema_avg_fn(0.9)(lib.tensor(a), lib.tensor(b), n),
                utils.get_swa_avg_fn()(lib.tensor(a), lib.tensor(b), n)]
        for fn in (utils.get_ema_multi_avg_fn(0.9), utils.get_swa_multi_avg_fn()):
            avg = [lib.tensor(a)]
            fn(avg, [lib.tensor(b)], n)
            outs.append(avg[0])
        results.append([(str(o.dtype).split(".")[-1], o.numpy()) for o in outs])
    for (dtype, ours), (tdtype, theirs) in zip(*results):
        assert dtype == tdtype
        np.testing.assert_array_equal(ours, theirs)


# -- SWALR ---------------------------------------------------------------------------------

def swalr_lrs(lib, steps=14, groups=1, **options):
    params = [lib.zeros(2, requires_grad=True) for _ in range(groups)]
    opt = lib.optim.SGD([{"params": [p], "lr": 0.5 + i} for i, p in enumerate(params)], lr=1.0)
    scheduler = lib.optim.swa_utils.SWALR(opt, **options)
    lrs = [scheduler.get_last_lr()]
    for _ in range(steps):
        opt.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr())
    return lrs, scheduler, opt


@pytest.mark.parametrize("options", [
    dict(swa_lr=0.05), dict(swa_lr=0.05, anneal_strategy="linear"),
    dict(swa_lr=0.05, anneal_epochs=3), dict(swa_lr=0.2, anneal_epochs=0),
    dict(swa_lr=0.01, anneal_epochs=5, anneal_strategy="linear", last_epoch=-1),
    dict(swa_lr=[0.05, 0.3], anneal_epochs=4, groups=2),
], ids=str)
def test_swalr_schedule_matches_torch(options):
    ours, scheduler, opt = swalr_lrs(cr, **options)
    theirs, tscheduler, topt = swalr_lrs(torch, **options)
    assert ours == theirs  # the same floats, bit for bit
    assert [g["swa_lr"] for g in opt.param_groups] == [g["swa_lr"] for g in topt.param_groups]
    assert sorted(scheduler.state_dict()) == sorted(tscheduler.state_dict())
    for key, value in tscheduler.state_dict().items():
        assert scheduler.state_dict()[key] == value, key


def test_swalr_state_dict_round_trip_continues_the_schedule():
    expected, _, _ = swalr_lrs(torch, steps=10, swa_lr=0.05, anneal_epochs=6,
                               anneal_strategy="linear")
    first, scheduler, opt = swalr_lrs(cr, steps=4, swa_lr=0.05, anneal_epochs=6,
                                      anneal_strategy="linear")
    saved = scheduler.state_dict()
    opt2 = cr.optim.SGD([cr.zeros(2, requires_grad=True)], lr=first[-1][0])
    scheduler2 = cr.optim.swa_utils.SWALR(opt2, swa_lr=1.0)  # cos, until loaded
    scheduler2.load_state_dict(saved)
    opt2.param_groups[0]["swa_lr"] = 0.05
    rest = []
    for _ in range(6):
        opt2.step()
        scheduler2.step()
        rest.append(scheduler2.get_last_lr())
    assert first + rest == expected


@pytest.mark.parametrize("options", [dict(swa_lr=0.1, anneal_strategy="exp"),
                                     dict(swa_lr=0.1, anneal_epochs=-1),
                                     dict(swa_lr=0.1, anneal_epochs=2.5),
                                     dict(swa_lr=[0.1, 0.2])], ids=str)
def test_swalr_invalid_options_raise_torchs_errors(options):
    messages = []
    for lib in (cr, torch):
        opt = lib.optim.SGD([lib.zeros(2, requires_grad=True)], lr=0.1)
        with pytest.raises(ValueError) as info:
            lib.optim.swa_utils.SWALR(opt, **options)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_swalr_get_lr_outside_step_warns_as_torch():
    _, scheduler, _ = swalr_lrs(cr, steps=2, swa_lr=0.1)
    _, tscheduler, _ = swalr_lrs(torch, steps=2, swa_lr=0.1)
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        lrs = scheduler.get_lr()
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        tlrs = tscheduler.get_lr()
    assert lrs == tlrs
    assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]


# -- update_bn -----------------------------------------------------------------------------

def bn_model(lib):
    model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4, momentum=0.3),
                              lib.nn.ReLU(), lib.nn.Linear(4, 4), lib.nn.BatchNorm1d(4)).double()
    rng = np.random.default_rng(7)
    with lib.no_grad():
        for p in model.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape))))
        model[1].running_mean.fill_(5.0)  # stale statistics update_bn must forget
        model[4].running_var.fill_(9.0)
    return model


@pytest.mark.parametrize("as_tuples", [False, True])
@pytest.mark.parametrize("training", [False, True])
def test_update_bn_matches_torch(as_tuples, training):
    results = []
    for lib in (cr, torch):
        model = bn_model(lib)
        model.train(training)
        loader = batches(lib, n=5)
        if not as_tuples:
            loader = [x for x, _ in loader]
        lib.optim.swa_utils.update_bn(loader, model)
        assert model.training == training
        assert [model[1].momentum, model[4].momentum] == [0.3, 0.1]
        results.append({k: v.detach().numpy() for k, v in model.state_dict().items()})
    ours, theirs = results
    assert list(ours) == list(theirs)
    for key in theirs:
        assert ours[key].dtype == theirs[key].dtype, key
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-12, err_msg=key)
    assert ours["1.num_batches_tracked"] == 5


def test_update_bn_leaves_models_without_batch_norm_alone():
    """InstanceNorm keeps running statistics too, but is not batch norm (in neither library)."""
    for lib in (cr, torch):
        model = lib.nn.Sequential(lib.nn.InstanceNorm1d(4, track_running_stats=True))
        model[0].running_mean.fill_(5.0)
        model.eval()
        lib.optim.swa_utils.update_bn(iter([]), model)
        lib.optim.swa_utils.update_bn([lib.ones(2, 4, 3)], model)
        assert not model.training
        assert model[0].running_mean.tolist() == [5.0] * 4


def test_swa_recipe_end_to_end_matches_torch():
    """The recipe of PyTorch's docs: SGD, then SWA from epoch 3 with SWALR, then update_bn."""
    results = []
    for lib in (cr, torch):
        utils = lib.optim.swa_utils
        model = make_model(lib)
        swa_model = utils.AveragedModel(model)
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        scheduler = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
        swa_scheduler = utils.SWALR(opt, swa_lr=0.05, anneal_epochs=2)
        loader = batches(lib)
        lrs = []
        for epoch in range(8):
            for x, y in loader:
                opt.zero_grad()
                ((model(x) - y) ** 2).mean().backward()
                opt.step()
            if epoch >= 3:
                swa_model.update_parameters(model)
                swa_scheduler.step()
            else:
                scheduler.step()
            lrs.append(opt.param_groups[0]["lr"])
        utils.update_bn(loader, swa_model)
        swa_model.eval()
        out = swa_model(loader[0][0]).detach().numpy()
        results.append((lrs, out, {k: v.detach().numpy().copy()
                                   for k, v in swa_model.state_dict().items()}))
    (lrs, out, sd), (tlrs, tout, tsd) = results
    assert lrs == tlrs
    np.testing.assert_allclose(out, tout, rtol=1e-11)
    assert list(sd) == list(tsd)
    for key in tsd:
        np.testing.assert_allclose(sd[key], tsd[key], rtol=1e-11, err_msg=key)
