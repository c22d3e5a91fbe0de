"""Datasets, samplers and the DataLoader (PyTorch's torch.utils.data API)."""
from .dataset import (Dataset, IterableDataset, TensorDataset, Subset, ConcatDataset,  # noqa
                      ChainDataset, random_split)
from .sampler import (Sampler, SequentialSampler, RandomSampler, SubsetRandomSampler,  # noqa
                      WeightedRandomSampler, BatchSampler)
from ._collate import default_collate, default_convert  # noqa: F401
from .dataloader import DataLoader, get_worker_info  # noqa: F401
