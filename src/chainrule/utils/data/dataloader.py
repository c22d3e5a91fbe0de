"""DataLoader: batches from a dataset, in sampler order, through a collate function.

Loading runs in the calling process: `num_workers` is accepted for compatibility and ignored
(NumPy work is not made faster by Python worker processes here).
"""
from __future__ import annotations

import numpy as np

from ...tensor import Tensor
from ._collate import default_collate, default_convert
from .dataset import IterableDataset, _is_plain_tensor_dataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler


class _InfiniteConstantSampler(Sampler):
    def __iter__(self):
        while True:
            yield None


class DataLoader:
    """Iterate over `dataset` in batches of `batch_size` (shuffled with `shuffle=True`).

    >>> loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
    >>> for inputs, targets in loader: ...
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        self.dataset = dataset
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.generator = generator

        if isinstance(dataset, IterableDataset):
            self._dataset_kind = "iterable"
            if shuffle not in {False, None}:
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            self._dataset_kind = "map"
            shuffle = bool(shuffle)
            if hasattr(dataset, "__len__") and len(dataset) == 0:
                # PyTorch would silently yield nothing (or, shuffled, complain about
                # num_samples=0); an empty dataset is almost always a bug upstream.
                raise ValueError("DataLoader got an empty dataset (len(dataset) == 0): there "
                                 "are no samples to load")

        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None:
            if drop_last:
                raise ValueError("batch_size=None option disables auto-batching and is mutually "
                                 "exclusive with drop_last")

        if sampler is None:
            if self._dataset_kind == "iterable":
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self):
        # PyTorch draws a base seed for worker processes from the loader's generator each time
        # an iterator starts; drawing it too keeps the global random stream in step with
        # PyTorch's (so shuffles and later random numbers agree).
        from .sampler import _fresh_seed

        _fresh_seed(self.generator)
        if self._dataset_kind == "iterable":
            return self._iter_iterable()
        return self._iter_map()

    def _iter_map(self):
        dataset, collate = self.dataset, self.collate_fn
        fast = (self._auto_collation and collate is default_collate
                and _is_plain_tensor_dataset(dataset))
        if fast:
            order = _order_array(self._index_sampler)
            if order is not None:
                # The batches are slices of one index array: no per-sample Python.
                size = self._index_sampler.batch_size
                stop = len(order) - (len(order) % size if self._index_sampler.drop_last else 0)
                tensors = dataset.tensors
                for start in range(0, stop, size):
                    rows = order[start:start + size]
                    yield [Tensor._make(t._data[rows]) for t in tensors]
                return
        getitems = getattr(dataset, "__getitems__", None)
        for index in self._index_sampler:
            if fast:
                # default_collate of TensorDataset rows == the tensors indexed by the batch
                # (a list, because default_collate turns the sample tuples into a list).
                rows = np.asarray(index, dtype=np.int64)
                yield [Tensor._make(t._data[rows]) for t in dataset.tensors]
                continue
            if not self._auto_collation:
                yield collate(dataset[index])
            elif callable(getitems):
                yield collate(getitems(index))
            else:
                yield collate([dataset[i] for i in index])

    def _iter_iterable(self):
        stream = iter(self.dataset)
        if not self._auto_collation:
            for sample in stream:
                yield self.collate_fn(sample)
            return
        while True:
            batch = []
            for sample in stream:
                batch.append(sample)
                if len(batch) == self.batch_size:
                    break
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield self.collate_fn(batch)
            if len(batch) < self.batch_size:
                return

    def __len__(self):
        if self._dataset_kind == "iterable":
            length = len(self.dataset)
            if self.batch_size is not None:
                if self.drop_last:
                    return length // self.batch_size
                return -(-length // self.batch_size)
            return length
        return len(self._index_sampler)


def _order_array(batch_sampler):
    """The whole pass's index order as an array, when `batch_sampler` is a plain BatchSampler
    over a plain sequential or random sampler that can give one (else None)."""
    if type(batch_sampler) is not BatchSampler:
        return None
    if type(batch_sampler.sampler) not in (SequentialSampler, RandomSampler):
        return None
    return batch_sampler.sampler._order_array()


def get_worker_info():
    """Always None: data loads in the calling process."""
    return None
