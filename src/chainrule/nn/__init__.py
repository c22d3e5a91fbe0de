"""`torch.nn`: modules, layers, losses, initialisation and the functional forms.

    import chainrule as torch
    from chainrule import nn
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 1))
    loss = nn.MSELoss()(model(torch.randn(8, 5)), torch.randn(8, 1))
    loss.backward()
"""
from .parameter import Parameter  # noqa: F401
from .modules import *  # noqa: F401,F403
from .modules import Module  # noqa: F401
from .modules.module import RemovableHandle  # noqa: F401
from . import functional, init  # noqa: F401
from . import modules  # noqa: F401
from . import utils  # noqa: E402,F401  (clip_grad_norm_, parameters_to_vector...)
from .conv import (Conv1d, Conv2d, MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d,  # noqa: E402,F401
                   AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool2d, BatchNorm2d, Unfold,
                   Conv3d, ConvTranspose3d, MaxPool3d, AvgPool3d, AdaptiveAvgPool3d,
                   AdaptiveMaxPool1d, AdaptiveMaxPool3d, BatchNorm3d)
from .rnn import RNNBase, RNN, LSTM, GRU, RNNCellBase, RNNCell, LSTMCell, GRUCell  # noqa: E402,F401
from .attention import MultiheadAttention  # noqa: E402,F401
from .transformer import (Transformer, TransformerEncoder, TransformerDecoder,  # noqa: E402,F401
                          TransformerEncoderLayer, TransformerDecoderLayer)
from .attention import multi_head_attention_forward as _mha_forward  # noqa: E402
functional.multi_head_attention_forward = _mha_forward  # F.multi_head_attention_forward
from .conv import ConvTranspose1d, ConvTranspose2d, Fold  # noqa: E402,F401
from .spatial import (ConstantPad1d, ConstantPad2d, ZeroPad1d, ZeroPad2d,  # noqa: E402,F401
                      ReflectionPad1d, ReflectionPad2d, ReplicationPad1d, ReplicationPad2d,
                      CircularPad1d, CircularPad2d, InstanceNorm1d, InstanceNorm2d,
                      PixelShuffle, PixelUnshuffle, UpsamplingNearest2d, UpsamplingBilinear2d,
                      ConstantPad3d, ZeroPad3d, ReflectionPad3d, ReplicationPad3d, CircularPad3d,
                      InstanceNorm3d)
from .parameter import (Buffer, UninitializedParameter, UninitializedBuffer)  # noqa: E402,F401
from .modules.lazy import (LazyModuleMixin, LazyLinear, LazyConv1d, LazyConv2d,  # noqa: E402,F401
                           LazyConv3d, LazyConvTranspose1d, LazyConvTranspose2d,
                           LazyConvTranspose3d, LazyBatchNorm1d, LazyBatchNorm2d,
                           LazyBatchNorm3d, LazyInstanceNorm1d, LazyInstanceNorm2d,
                           LazyInstanceNorm3d)
