"""Samplers: which indices a DataLoader reads, and in what order."""
from __future__ import annotations


class Sampler:
    """Yields dataset indices; subclasses define `__iter__` (and `__len__` when known)."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)

    def _order_array(self):
        """One pass's indices as an int64 array (the DataLoader's vectorized path)."""
        import numpy as np

        return np.arange(len(self.data_source), dtype=np.int64)


def _fresh_seed(generator=None):
    """One int64 draw from `generator` (default: the global one), as PyTorch takes it."""
    from ...creation import empty
    from ... import _dtype

    return int(empty((), dtype=_dtype.int64).random_(generator=generator).item())


class RandomSampler(Sampler):
    """A random permutation (or, with replacement, `num_samples` random draws).

    Without a generator, each pass seeds a private generator from the global one, as PyTorch
    does, so `manual_seed` makes the order reproducible.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError("replacement should be a boolean value, but got "
                            f"replacement={self.replacement}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError("num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        from ...random import Generator, randint, randperm

        n = len(self.data_source)
        if self.generator is None:
            generator = Generator()
            generator.manual_seed(_fresh_seed())
        else:
            generator = self.generator
        if self.replacement:
            for _ in range(self.num_samples // 32):
                yield from randint(high=n, size=(32,), generator=generator).tolist()
            yield from randint(high=n, size=(self.num_samples % 32,),
                               generator=generator).tolist()
        else:
            for _ in range(self.num_samples // n):
                yield from randperm(n, generator=generator).tolist()
            yield from randperm(n, generator=generator).tolist()[:self.num_samples % n]

    def __len__(self):
        return self.num_samples

    def _order_array(self):
        """One pass's indices as an int64 array, drawn as `__iter__` draws them (the global
        seed, then one permutation from a private generator); None where only the lazy
        iterator reproduces the draws (replacement, a generator of the caller's, num_samples).
        Called when the first batch is wanted, which is when `__iter__` would draw too."""
        if self.replacement or self.generator is not None or self._num_samples is not None:
            return None
        from ...random import Generator, randperm

        generator = Generator()
        generator.manual_seed(_fresh_seed())
        return randperm(len(self.data_source), generator=generator)._data


class SubsetRandomSampler(Sampler):
    """The given indices, in a random order."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        from ...random import randperm

        for i in randperm(len(self.indices), generator=self.generator).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of `batch_size` (the last may be short)."""

    def __init__(self, sampler, batch_size, drop_last):
        if (not isinstance(batch_size, int) or isinstance(batch_size, bool)
                or batch_size <= 0):
            raise ValueError("batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size


class WeightedRandomSampler(Sampler):
    """`num_samples` indices drawn with probabilities proportional to `weights` (one
    torch.multinomial call per pass, so the draws are PyTorch's)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        from ...creation import as_tensor
        from ... import _dtype

        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError("num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError("replacement should be a boolean value, but got "
                             f"replacement={replacement}")
        weights = as_tensor(weights, dtype=_dtype.float64)
        if len(weights.shape) != 1:
            raise ValueError("weights should be a 1d sequence but given weights have shape "
                             f"{tuple(weights.shape)}")
        self.weights = weights
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        from ...random import multinomial

        drawn = multinomial(self.weights, self.num_samples, self.replacement,
                            generator=self.generator)
        yield from iter(drawn.tolist())

    def __len__(self):
        return self.num_samples
