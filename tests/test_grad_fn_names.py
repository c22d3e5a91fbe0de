"""grad_fn names of common layers and functions, as a learner sees them in reprs and drawings:
each expression is run with chainrule and with PyTorch and the output's node names compared."""
import pytest
import torch

import chainrule


def _cases(T):
    F = T.nn.functional
    T.manual_seed(0)
    x = T.randn(4, 6, requires_grad=True)
    x3 = T.randn(2, 4, 6, requires_grad=True)
    img = T.randn(2, 3, 8, 8, requires_grad=True)
    tgt = T.tensor([0, 2, 1, 5])
    return {
     "linear2d": lambda: F.linear(x, T.randn(5, 6), T.randn(5)),
     "linear2d_nobias": lambda: F.linear(x, T.randn(5, 6)),
     "linear3d": lambda: F.linear(x3, T.randn(5, 6), T.randn(5)),
     "Linear_module": lambda: T.nn.Linear(6, 5)(x),
     "Linear_module3d": lambda: T.nn.Linear(6, 5)(x3),
     "layer_norm": lambda: F.layer_norm(x, (6,)),
     "LayerNorm": lambda: T.nn.LayerNorm(6)(x3),
     "softmax": lambda: F.softmax(x, dim=1),
     "log_softmax": lambda: F.log_softmax(x, dim=1),
     "cross_entropy": lambda: F.cross_entropy(x, tgt),
     "nll": lambda: F.nll_loss(F.log_softmax(x, 1), tgt),
     "mse": lambda: F.mse_loss(x, T.zeros(4, 6)),
     "l1": lambda: F.l1_loss(x, T.zeros(4, 6)),
     "bce": lambda: F.binary_cross_entropy(T.sigmoid(x), T.ones(4, 6)),
     "bce_logits": lambda: F.binary_cross_entropy_with_logits(x, T.ones(4, 6)),
     "smooth_l1": lambda: F.smooth_l1_loss(x, T.zeros(4, 6)),
     "huber": lambda: F.huber_loss(x, T.zeros(4, 6)),
     "dropout_train": lambda: F.dropout(x, 0.5, training=True),
     "Dropout_module": lambda: T.nn.Dropout(0.5)(x),
     "batch_norm1d": lambda: T.nn.BatchNorm1d(6)(x),
     "batch_norm2d": lambda: T.nn.BatchNorm2d(3)(img),
     "embedding": lambda: T.nn.Embedding(10, 3)(tgt),
     "conv2d": lambda: T.nn.Conv2d(3, 4, 3)(img),
     "conv1d": lambda: T.nn.Conv1d(4, 2, 3)(x3),
     "conv_transpose2d": lambda: T.nn.ConvTranspose2d(3, 2, 3)(img),
     "conv_transpose1d": lambda: T.nn.ConvTranspose1d(4, 2, 3)(x3),
     "maxpool2d": lambda: F.max_pool2d(img, 2),
     "avgpool2d": lambda: F.avg_pool2d(img, 2),
     "adaptive_avg": lambda: F.adaptive_avg_pool2d(img, 1),
     "gelu": lambda: F.gelu(x),
     "silu": lambda: F.silu(x),
     "relu": lambda: F.relu(x),
     "leaky": lambda: F.leaky_relu(x, 0.1),
     "elu": lambda: F.elu(x),
     "softplus": lambda: F.softplus(x),
     "tanh": lambda: F.tanh(x),
     "sigmoid": lambda: F.sigmoid(x),
     "hardtanh": lambda: F.hardtanh(x),
     "relu6": lambda: F.relu6(x),
     "logsigmoid": lambda: F.logsigmoid(x),
     "normalize": lambda: F.normalize(x),
     "flatten": lambda: T.nn.Flatten()(img),
     "cosine_sim": lambda: F.cosine_similarity(x, x * 2),
     "pad": lambda: F.pad(x, (1, 1)),
     "one_hot_mm": lambda: F.one_hot(tgt, 6).float() @ x.t(),
     "kl_div": lambda: F.kl_div(F.log_softmax(x, 1), F.softmax(x.detach(), 1), reduction="batchmean"),
     "x.T": lambda: x.T,
     "x.mT": lambda: x3.mT,
     "x.norm": lambda: x.norm(),
     "x.norm_dim": lambda: x.norm(dim=1),
     "std": lambda: x.std(),
      "clone": lambda: x.clone(),
     "contiguous_t": lambda: x.t().contiguous(),
     "chunk": lambda: x.chunk(2, 1)[0],
     "unbind": lambda: x.unbind(0)[1],
     "stack": lambda: T.stack([x, x]),
     "cat": lambda: T.cat([x, x], 1),
     "where": lambda: T.where(x > 0, x, T.zeros(1)),
     "masked_fill": lambda: x.masked_fill(x > 0, 0.0),
     "index_select": lambda: x.index_select(0, tgt[:2]),
     "gather": lambda: x.gather(1, tgt.view(4, 1)),
     "x[tgt]": lambda: x[tgt.clamp(max=3)],
     "x[mask]": lambda: x[x > 0],
     "x[:,1]": lambda: x[:, 1],
     "x[None]": lambda: x[None],
     "cumsum": lambda: x.cumsum(1),
     "topk": lambda: x.topk(2, 1)[0],
     "sort": lambda: x.sort(1)[0],
     "max_dim": lambda: x.max(1)[0],
     "amax": lambda: x.amax(1),
     "logsumexp": lambda: x.logsumexp(1),
     "mean_dims": lambda: x3.mean((0, 2)),
     "repeat": lambda: x.repeat(2, 1),
     "expand": lambda: x[:, :1].expand(4, 3),
     "to_double": lambda: x.double(),
     "type_as": lambda: x.type_as(T.zeros(1, dtype=T.float64)),
     "pow": lambda: x ** 2,
     "rpow": lambda: 2 ** x,
     "sqrt_abs": lambda: x.abs().sqrt(),
     "div_scalar": lambda: x / 2,
     "rdiv": lambda: 2 / x,
     "rsub": lambda: 1 - x,
     "matmul_1d": lambda: x @ T.ones(6),
     "bmm": lambda: T.bmm(x3, x3.transpose(1, 2)),
     "baddbmm": lambda: T.baddbmm(T.zeros(2, 4, 4), x3, x3.transpose(1, 2)),
     "addmm": lambda: T.addmm(T.zeros(4, 4), x, x.t()),
     "outer": lambda: T.outer(x[0], x[1]),
     "tril": lambda: x.tril(),
     "triu_": lambda: (x * 1).triu_(),
     "sdpa": lambda: F.scaled_dot_product_attention(x3, x3, x3),
     "interpolate": lambda: F.interpolate(img, scale_factor=2),
     "grid": lambda: F.unfold(img, 2) if hasattr(F, "unfold") else None,
    }


NAMES = sorted(_cases(torch))


@pytest.mark.parametrize("name", NAMES)
def test_grad_fn_name_matches_torch(name):
    ours = _cases(chainrule)[name]()
    theirs = _cases(torch)[name]()
    if theirs is None:
        return
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    assert [f is None for f, _ in ours.grad_fn.next_functions] == [
        f is None for f, _ in theirs.grad_fn.next_functions]
