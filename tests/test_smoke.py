"""The seed's first autograd listing, against the figures on the slide and real PyTorch."""
import numpy as np
import torch

import chainrule as cr


def test_seed_004_first_graph_matches_slide_and_torch():
    w = cr.ones(3, requires_grad=True)
    x = w + cr.tensor([2])
    assert repr(x) == "tensor([3., 3., 3.], grad_fn=<AddBackward0>)"
    z = (x * 3).mean()
    z.backward()
    assert repr(w.grad) == "tensor([1., 1., 1.])"

    tw = torch.ones(3, requires_grad=True)
    tz = ((tw + torch.tensor([2])) * 3).mean()
    tz.backward()
    assert repr(z) == repr(tz)
    np.testing.assert_array_equal(w.grad.numpy(), tw.grad.numpy())
