"""Learning-rate schedulers: the lr sequences equal PyTorch's."""
import math
import warnings

import pytest
import torch

import chainrule as cr

EPOCHS = 40


def lr_sequence(lib, make_scheduler, epochs=EPOCHS, groups=1, metrics=None):
    params = [lib.ones(2, requires_grad=True) for _ in range(groups)]
    opt = lib.optim.SGD([{"params": [p], "lr": 0.1 * (i + 1)} for i, p in enumerate(params)],
                        lr=0.1, momentum=0.9)
    scheduler = make_scheduler(lib, opt)
    lrs = [scheduler.get_last_lr()]
    for epoch in range(epochs):
        opt.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[epoch])
        lrs.append(scheduler.get_last_lr())
        assert [g["lr"] for g in opt.param_groups] == lrs[-1]
    return lrs, scheduler


def halve(epoch):
    return 0.5 ** (epoch // 3)


SCHEDULERS = {
    "StepLR": lambda lib, opt: lib.optim.lr_scheduler.StepLR(opt, step_size=7, gamma=0.3),
    "MultiStepLR": lambda lib, opt: lib.optim.lr_scheduler.MultiStepLR(
        opt, milestones=[5, 12, 12, 30], gamma=0.5),
    "ExponentialLR": lambda lib, opt: lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.93),
    "CosineAnnealingLR": lambda lib, opt: lib.optim.lr_scheduler.CosineAnnealingLR(
        opt, T_max=10, eta_min=0.001),
    "LambdaLR": lambda lib, opt: lib.optim.lr_scheduler.LambdaLR(opt, lr_lambda=halve),
    "LambdaLR-per-group": lambda lib, opt: lib.optim.lr_scheduler.LambdaLR(
        opt, lr_lambda=[halve, lambda e: 1 / (e + 1)]),
    "MultiplicativeLR": lambda lib, opt: lib.optim.lr_scheduler.MultiplicativeLR(
        opt, lr_lambda=lambda e: 0.95 if e % 2 else 0.9),
    "ConstantLR": lambda lib, opt: lib.optim.lr_scheduler.ConstantLR(opt, factor=0.4,
                                                                     total_iters=6),
    "LinearLR": lambda lib, opt: lib.optim.lr_scheduler.LinearLR(
        opt, start_factor=0.1, end_factor=0.9, total_iters=13),
    "PolynomialLR": lambda lib, opt: lib.optim.lr_scheduler.PolynomialLR(opt, total_iters=30,
                                                                         power=2.0),
    "CosineAnnealingWarmRestarts": lambda lib, opt:
        lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2, eta_min=1e-3),
    "OneCycleLR": lambda lib, opt: lib.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=[0.5, 1.0], total_steps=EPOCHS),
    "OneCycleLR-three-phase-linear": lambda lib, opt: lib.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=0.3, epochs=5, steps_per_epoch=9, pct_start=0.25, three_phase=True,
        anneal_strategy="linear"),
    "CyclicLR": lambda lib, opt: lib.optim.lr_scheduler.CyclicLR(
        opt, base_lr=0.01, max_lr=[0.1, 0.2], step_size_up=4, step_size_down=7),
    "CyclicLR-triangular2": lambda lib, opt: lib.optim.lr_scheduler.CyclicLR(
        opt, base_lr=0.01, max_lr=0.1, step_size_up=3, mode="triangular2"),
    "CyclicLR-exp_range": lambda lib, opt: lib.optim.lr_scheduler.CyclicLR(
        opt, base_lr=0.01, max_lr=0.1, step_size_up=5, mode="exp_range", gamma=0.97),
    "SequentialLR": lambda lib, opt: lib.optim.lr_scheduler.SequentialLR(
        opt, [lib.optim.lr_scheduler.LinearLR(opt, start_factor=0.2, total_iters=5),
              lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=20),
              lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)], milestones=[5, 25]),
    "ChainedScheduler": lambda lib, opt: lib.optim.lr_scheduler.ChainedScheduler(
        [lib.optim.lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=4),
         lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)]),
}


@pytest.mark.parametrize("name", SCHEDULERS)
def test_lr_sequence_equals_torch(name):
    groups = 2
    ours, _ = lr_sequence(cr, SCHEDULERS[name], groups=groups)
    theirs, _ = lr_sequence(torch, SCHEDULERS[name], groups=groups)
    assert ours == theirs  # exact: the same chainable formulas in the same order
    assert len({tuple(x) for x in ours}) > 1


@pytest.mark.parametrize("name", ["OneCycleLR", "CyclicLR", "CyclicLR-exp_range"])
def test_cycled_momentum_equals_torch(name):
    """OneCycleLR and CyclicLR also move the momentum (SGD) or beta1 (Adam) of every group."""
    for opt_name, key in [("SGD", "momentum"), ("Adam", "betas")]:
        seqs = []
        for lib in (cr, torch):
            params = [lib.ones(2, requires_grad=True) for _ in range(2)]
            kwargs = {"momentum": 0.9} if opt_name == "SGD" else {}
            opt = getattr(lib.optim, opt_name)([{"params": [p]} for p in params], lr=0.1,
                                               **kwargs)
            sched = SCHEDULERS[name](lib, opt)
            seq = []
            for _ in range(EPOCHS):
                opt.step()
                sched.step()
                seq.append([g[key] for g in opt.param_groups])
            seqs.append(seq)
        assert seqs[0] == seqs[1]


def test_one_cycle_past_total_steps_raises_like_torch():
    for lib in (cr, torch):
        opt = lib.optim.SGD([lib.ones(1, requires_grad=True)], lr=0.1, momentum=0.9)
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=3)
        for _ in range(3):
            opt.step()
            sched.step()
        with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of "
                                             "total steps is 3"):
            sched.step()


def test_composite_scheduler_state_dict_matches_torch():
    states = []
    for lib in (cr, torch):
        _, sched = lr_sequence(lib, SCHEDULERS["SequentialLR"], epochs=7)
        state = sched.state_dict()
        states.append(state)
    assert states[0].keys() == states[1].keys()
    assert [s.keys() for s in states[0]["_schedulers"]] == \
        [s.keys() for s in states[1]["_schedulers"]]
    assert states[0]["last_epoch"] == states[1]["last_epoch"]


METRICS = [1.0, 0.9, 0.9, 0.9, 0.95, 0.91, 0.89, 0.89, 0.89, 0.89, 0.89, 0.5, 0.5, 0.5, 0.5,
           0.5, 0.5, 0.49999, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4]


@pytest.mark.parametrize("options", [dict(patience=2), dict(patience=1, cooldown=2, factor=0.5),
                                     dict(mode="max", patience=0, threshold_mode="abs"),
                                     dict(patience=1, min_lr=[0.02, 0.05])])
def test_reduce_lr_on_plateau_equals_torch(options):
    def make(lib, opt):
        return lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **options)

    ours, sched = lr_sequence(cr, make, epochs=len(METRICS), groups=2, metrics=METRICS)
    theirs, tsched = lr_sequence(torch, make, epochs=len(METRICS), groups=2, metrics=METRICS)
    assert ours == theirs
    assert sched.best == tsched.best and sched.num_bad_epochs == tsched.num_bad_epochs


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "MultiStepLR"])
def test_state_dict_resumes_the_sequence(name):
    full, _ = lr_sequence(cr, SCHEDULERS[name], epochs=20)
    first, sched = lr_sequence(cr, SCHEDULERS[name], epochs=8)
    state = sched.state_dict()
    _, tsched = lr_sequence(torch, SCHEDULERS[name], epochs=8)
    assert state.keys() == tsched.state_dict().keys()
    assert "optimizer" not in state

    w = cr.ones(2, requires_grad=True)
    opt = cr.optim.SGD([w], lr=sched.optimizer.param_groups[0]["lr"], momentum=0.9)
    opt.param_groups[0]["initial_lr"] = 0.1
    resumed = SCHEDULERS[name](cr, opt)
    resumed.load_state_dict(state)
    rest = []
    for _ in range(12):
        opt.step()
        resumed.step()
        rest.append(resumed.get_last_lr())
    assert first + rest == full


def test_lambda_state_dict_matches_torch_shape():
    ours, sched = lr_sequence(cr, SCHEDULERS["LambdaLR"], epochs=3)
    _, tsched = lr_sequence(torch, SCHEDULERS["LambdaLR"], epochs=3)
    assert sched.state_dict()["lr_lambdas"] == tsched.state_dict()["lr_lambdas"] == [None]


def test_stepping_the_scheduler_before_the_optimizer_warns_like_torch():
    def first_warning(lib):
        opt = lib.optim.SGD([lib.ones(1, requires_grad=True)], lr=0.1)
        sched = lib.optim.lr_scheduler.StepLR(opt, 2)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sched.step()
        return [str(w.message) for w in caught]

    assert first_warning(cr) == first_warning(torch)
    assert first_warning(cr)


def test_errors_match_torch():
    opt = cr.optim.SGD([cr.ones(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match=r"Factor should be < 1.0."):
        cr.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        cr.optim.lr_scheduler.StepLR([], 2)
    with pytest.raises(ValueError, match="Expected 1 lr_lambdas, but got 2"):
        cr.optim.lr_scheduler.LambdaLR(opt, [halve, halve])


def test_cosine_reaches_eta_min_at_t_max():
    lrs, _ = lr_sequence(cr, SCHEDULERS["CosineAnnealingLR"], epochs=10)
    assert math.isclose(lrs[10][0], 0.001, rel_tol=1e-12)
