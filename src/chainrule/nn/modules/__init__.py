"""The module classes of `torch.nn`."""
from .module import Module  # noqa: F401
from .container import (Sequential, ModuleList, ModuleDict, ParameterList,  # noqa: F401
                        ParameterDict)
from .linear import Identity, Linear, Bilinear  # noqa: F401
from .activation import (ReLU, ReLU6, Sigmoid, Tanh, LeakyReLU, ELU, GELU, SiLU,  # noqa: F401
                         Softplus, Softmax, LogSoftmax, Softmin, LogSigmoid, Hardtanh,
                         Threshold, Step)
from .dropout import Dropout  # noqa: F401
from .flatten import Flatten, Unflatten  # noqa: F401
from .loss import (L1Loss, MSELoss, HuberLoss, SmoothL1Loss, NLLLoss,  # noqa: F401
                   CrossEntropyLoss, BCELoss, BCEWithLogitsLoss, MultiMarginLoss)
from .sparse import Embedding  # noqa: F401
from .normalization import LayerNorm, BatchNorm1d  # noqa: F401
from .activation import (Mish, Hardswish, Hardsigmoid, SELU, Softsign, Tanhshrink,  # noqa: F401
                         CELU, Hardshrink, Softshrink, GLU, PReLU, Upsample)
from .dropout import Dropout1d, Dropout2d, Dropout3d  # noqa: F401
from .normalization import GroupNorm, RMSNorm  # noqa: F401
from .distance import CosineSimilarity, PairwiseDistance  # noqa: F401
from .loss import (KLDivLoss, MarginRankingLoss, HingeEmbeddingLoss,  # noqa: F401
                   CosineEmbeddingLoss, SoftMarginLoss, TripletMarginLoss, PoissonNLLLoss,
                   GaussianNLLLoss)
from .activation import Softmax2d, RReLU  # noqa: F401,E402
from .dropout import AlphaDropout, FeatureAlphaDropout  # noqa: F401,E402
from .normalization import LocalResponseNorm  # noqa: F401,E402
from .pooling import LPPool1d, LPPool2d, MaxUnpool1d, MaxUnpool2d  # noqa: F401,E402
from .loss import (MultiLabelMarginLoss, MultiLabelSoftMarginLoss,  # noqa: F401,E402
                   TripletMarginWithDistanceLoss)
