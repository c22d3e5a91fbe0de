"""utils.data against PyTorch: batches, structure, lengths, samplers, errors."""
import collections

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import chainrule as cr
import chainrule.utils.data as cdata


def to_numpy(batch):
    """A batch's structure with NumPy leaves (and the leaf type's name), for comparisons."""
    if isinstance(batch, (cr.Tensor, torch.Tensor)):
        return ("tensor", str(batch.dtype).split(".")[-1], batch.detach().numpy().tolist())
    if isinstance(batch, dict):
        return {k: to_numpy(v) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return (type(batch).__name__, tuple(to_numpy(v) for v in batch))
    if isinstance(batch, (list, tuple)):
        return (type(batch).__name__, [to_numpy(v) for v in batch])
    return batch


def both(make):
    """make(lib, data_module) for chainrule and torch."""
    return make(cr, cdata), make(torch, tdata)


def assert_same_batches(make_loader):
    ours, theirs = both(make_loader)
    assert len(ours) == len(theirs)
    assert [to_numpy(b) for b in ours] == [to_numpy(b) for b in theirs]


Point = collections.namedtuple("Point", "x y")


class SeedDataset:
    """Seed 004's SimpleDataset, for either library."""

    def __init__(self, lib, data):
        class SimpleDataset(data.Dataset):
            def __init__(self):
                super().__init__()
                X = [[0.5, 0.9], [14.0, 12.0], [15.0, 13.6], [28.0, 22.8], [11.0, 8.1],
                     [8.0, 7.1], [3.0, 2.9], [-4.0, 0.1], [6.0, 5.3], [13.0, 12.0],
                     [21.0, 19.9], [-1.0, 1.5]]
                y = [35.7, 55.9, 58.2, 81.9, 56.3, 48.9, 33.9, 21.8, 48.4, 60.4, 68.4, 29.1]
                self.X = lib.tensor(X, dtype=lib.float, device="cpu")
                self.y = lib.tensor(y, dtype=lib.float, device="cpu") * 0.01

            def __len__(self):
                return len(self.X)

            def __getitem__(self, idx):
                return {"input": self.X[idx], "target": self.y[idx]}

        self.dataset = SimpleDataset()


def test_seed_004_dict_batches_match_torch():
    def make(lib, data):
        ds = SeedDataset(lib, data).dataset
        return data.DataLoader(dataset=ds, batch_size=len(ds))

    assert_same_batches(make)
    loader = make(cr, cdata)
    batch = next(iter(loader))
    assert set(batch) == {"input", "target"}
    assert batch["input"].shape == cr.Size([12, 2])
    assert batch["target"].shape == cr.Size([12])


@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (4, False), (4, True), (5, True),
                                                  (100, False)])
def test_tensor_dataset_batches_match_torch(batch_size, drop_last):
    x = np.arange(26, dtype=np.float32).reshape(13, 2)
    y = np.arange(13)

    def make(lib, data):
        return data.DataLoader(data.TensorDataset(lib.tensor(x), lib.tensor(y)),
                               batch_size=batch_size, drop_last=drop_last)

    assert_same_batches(make)


SAMPLES = {
    "numbers": [1.5, 2.0, -3.25],
    "ints": [1, 2, 3],
    "bools": [True, False, True],
    "numpy arrays": [np.arange(3, dtype=np.float32) + i for i in range(3)],
    "numpy scalars": [np.float64(1.5), np.float64(2.5), np.float64(3.5)],
    "strings": ["a", "bb", "c"],
    "tuples": [(1, 2.0), (3, 4.0), (5, 6.0)],
    "lists": [[1, 2], [3, 4], [5, 6]],
    "namedtuples": [Point(1.0, 2), Point(3.0, 4), Point(5.0, 6)],
    "nested dicts": [{"a": {"b": [i, float(i)]}, "name": str(i)} for i in range(3)],
    "ordered dicts": [collections.OrderedDict(x=i, y=float(i)) for i in range(3)],
}


@pytest.mark.parametrize("kind", SAMPLES)
def test_default_collate_matches_torch(kind):
    samples = SAMPLES[kind]
    assert to_numpy(cdata.default_collate(samples)) == to_numpy(tdata.default_collate(samples))
    tensors = [cr.tensor([1.0, i]) for i in range(3)]
    ttensors = [torch.tensor([1.0, i]) for i in range(3)]
    assert (to_numpy(cdata.default_collate(tensors))
            == to_numpy(tdata.default_collate(ttensors)))


def test_default_collate_keeps_ordered_dict_type_and_refuses_objects():
    batch = cdata.default_collate(SAMPLES["ordered dicts"])
    assert type(batch) is collections.OrderedDict
    with pytest.raises(TypeError) as ours:
        cdata.default_collate([object(), object()])
    with pytest.raises(TypeError) as theirs:
        tdata.default_collate([object(), object()])
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal"):
        cdata.default_collate([[1, 2], [3]])


def test_collate_fn_and_batch_size_none():
    def make(lib, data):
        return data.DataLoader(list(range(5)), batch_size=None)

    assert_same_batches(make)

    def custom(lib, data):
        return data.DataLoader(list(range(7)), batch_size=3, collate_fn=lambda b: sum(b))

    assert_same_batches(custom)


def test_subset_concat_and_len_match_torch():
    def make(lib, data):
        base = data.TensorDataset(lib.arange(10.0))
        joined = data.Subset(base, [9, 0, 4]) + data.TensorDataset(lib.arange(3.0) - 10)
        assert isinstance(joined, data.ConcatDataset)
        return data.DataLoader(joined, batch_size=2)

    assert_same_batches(make)
    concat = cdata.ConcatDataset([cdata.TensorDataset(cr.arange(3.0)),
                                  cdata.TensorDataset(cr.arange(2.0))])
    assert len(concat) == 5 and concat[-1][0].item() == 1.0
    with pytest.raises(ValueError, match="absolute value of index should not exceed"):
        concat[-6]


def test_iterable_dataset_batches_match_torch():
    def make(lib, data):
        class Stream(data.IterableDataset):
            def __iter__(self):
                return iter(range(7))

        return list(data.DataLoader(Stream(), batch_size=3))

    ours, theirs = both(make)
    assert [to_numpy(b) for b in ours] == [to_numpy(b) for b in theirs]


@pytest.mark.parametrize("lengths", [[3, 7], [0.3, 0.7], [0.25, 0.25, 0.5], [0.33, 0.33, 0.34]])
def test_random_split_lengths_match_torch(lengths):
    ours = cdata.random_split(range(10), lengths, generator=cr.Generator().manual_seed(0))
    theirs = tdata.random_split(range(10), lengths, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    indices = sorted(i for s in ours for i in s.indices)
    assert indices == list(range(10))  # a partition
    again = cdata.random_split(range(10), lengths, generator=cr.Generator().manual_seed(0))
    assert [s.indices for s in again] == [s.indices for s in ours]


def test_random_split_errors_match_torch():
    for lengths in ([3, 3], [1.5, -0.5]):
        with pytest.raises(ValueError) as ours:
            cdata.random_split(range(10), lengths)
        with pytest.raises(ValueError) as theirs:
            tdata.random_split(range(10), lengths)
        assert str(ours.value) == str(theirs.value)


def test_shuffle_is_a_reproducible_permutation():
    x = cr.arange(20)

    def epoch_orders(seed=None, generator=None):
        if seed is not None:
            cr.manual_seed(seed)
        loader = cdata.DataLoader(cdata.TensorDataset(x), batch_size=6, shuffle=True,
                                  generator=generator)
        return [[int(v) for b in loader for v in b[0]] for _ in range(2)]

    first = epoch_orders(seed=1)
    assert sorted(first[0]) == list(range(20)) and first[0] != list(range(20))
    assert first[0] != first[1]  # a new order each epoch
    assert epoch_orders(seed=1) == first
    assert epoch_orders(generator=cr.Generator().manual_seed(5)) == \
        epoch_orders(generator=cr.Generator().manual_seed(5))


@pytest.mark.parametrize("use_generator", [False, True])
def test_shuffle_order_equals_torch(use_generator):
    def orders(lib, data):
        lib.manual_seed(7)
        generator = lib.Generator().manual_seed(3) if use_generator else None
        loader = data.DataLoader(data.TensorDataset(lib.arange(30)), batch_size=4, shuffle=True,
                                 generator=generator)
        return [[int(v) for b in loader for v in b[0]] for _ in range(2)] + \
            [lib.rand(3).tolist()]  # the global stream after two epochs

    ours, theirs = both(orders)
    assert ours[:2] == theirs[:2]
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-6)


@pytest.mark.parametrize("drop_last", [False, True])
def test_tensor_dataset_batches_equal_torch_with_a_draw_mid_epoch(drop_last):
    """The TensorDataset fast path slices one index array per pass; its draws (the global
    seed when the first batch is wanted) must stay where the lazy samplers make them."""
    def run(lib, data):
        lib.manual_seed(11)
        ds = data.TensorDataset(lib.arange(30).reshape(10, 3), lib.arange(10))
        out = []
        for loader in (data.DataLoader(ds, batch_size=4, shuffle=True, drop_last=drop_last),
                       data.DataLoader(ds, batch_size=3, drop_last=drop_last)):
            for _ in range(2):
                batches = []
                for x, y in loader:
                    batches.append((x.tolist(), y.tolist(), lib.rand(1).tolist()))
                out.append(batches)
        return out + [lib.rand(2).tolist()]

    ours, theirs = both(run)
    assert [[b[:2] for b in e] for e in ours[:-1]] == [[b[:2] for b in e] for e in theirs[:-1]]
    draws = lambda out: [v for e in out[:-1] for b in e for v in b[2]] + out[-1]  # noqa
    np.testing.assert_allclose(draws(ours), draws(theirs), rtol=1e-6)


def test_samplers_match_torch_where_deterministic():
    def make(lib, data):
        seq = list(data.SequentialSampler(range(5)))
        batches = list(data.BatchSampler(data.SequentialSampler(range(7)), 3, drop_last=False))
        dropped = list(data.BatchSampler(range(7), 3, drop_last=True))
        return seq, batches, dropped, len(data.BatchSampler(range(7), 3, drop_last=False))

    ours, theirs = both(make)
    assert ours == theirs
    subset = list(cdata.SubsetRandomSampler([10, 20, 30, 40]))
    assert sorted(subset) == [10, 20, 30, 40]
    with_replacement = list(cdata.RandomSampler(range(5), replacement=True, num_samples=40))
    assert len(with_replacement) == 40 and set(with_replacement) <= set(range(5))
    custom = cdata.DataLoader(list(range(6)), batch_sampler=[[0, 1], [5]])
    assert [b.tolist() for b in custom] == [[0, 1], [5]]


def error_of(fn):
    try:
        fn()
    except Exception as err:  # noqa: BLE001 - comparing whatever each library raises
        return type(err).__name__, str(err)
    return None


@pytest.mark.parametrize("kwargs", [dict(batch_size=0), dict(batch_size=-2),
                                    dict(shuffle=True, sampler=[0, 1]),
                                    dict(batch_sampler=[[0]], batch_size=2),
                                    dict(batch_size=None, drop_last=True),
                                    dict(num_workers=-1), dict(drop_last=1)])
def test_bad_arguments_raise_torchs_errors(kwargs):
    def make(lib, data):
        return error_of(lambda: data.DataLoader(list(range(5)), **kwargs))

    ours, theirs = both(make)
    assert ours == theirs and ours is not None


def test_empty_dataset_is_a_clear_error():
    with pytest.raises(ValueError, match="empty dataset"):
        cdata.DataLoader(cdata.TensorDataset(cr.zeros(0, 3)), batch_size=4)
    with pytest.raises(ValueError) as ours:
        cdata.RandomSampler([])
    with pytest.raises(ValueError) as theirs:
        tdata.RandomSampler([])
    assert str(ours.value) == str(theirs.value)


def test_dataset_base_and_tensor_dataset_errors():
    with pytest.raises(NotImplementedError, match="Subclasses of Dataset should implement"):
        cdata.Dataset()[0]
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        cdata.TensorDataset(cr.zeros(3), cr.zeros(4))
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        cdata.DataLoader(cdata.IterableDataset(), shuffle=True)


def test_loader_of_tensors_that_require_grad_keeps_the_graph():
    w = cr.ones(4, 2, requires_grad=True)
    batch = next(iter(cdata.DataLoader(cdata.TensorDataset(w), batch_size=2)))[0]
    assert batch.grad_fn is not None
    batch.sum().backward()
    assert w.grad.tolist() == [[1.0, 1.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]


@pytest.mark.parametrize("replacement", [True, False])
@pytest.mark.parametrize("use_generator", [False, True])
def test_weighted_random_sampler_draws_torchs_indices(replacement, use_generator):
    weights = [0.1, 0.9, 0.4, 0.7, 3.0, 0.6]
    drawn = []
    for lib, data in ((cr, cdata), (torch, tdata)):
        lib.manual_seed(3)
        gen = lib.Generator().manual_seed(11) if use_generator else None
        sampler = data.WeightedRandomSampler(weights, 5 if not replacement else 9,
                                             replacement=replacement, generator=gen)
        drawn.append((list(sampler), list(sampler), len(sampler), str(sampler.weights.dtype)))
        x = lib.arange(6.0)
        drawn.append([b.tolist() for b in data.DataLoader(x, batch_size=4, sampler=sampler)])
    assert drawn[0] == drawn[2] and drawn[1] == drawn[3]


def test_weighted_random_sampler_errors_match_torch():
    for data in (cdata, tdata):
        with pytest.raises(ValueError, match="num_samples should be a positive integer value, "
                                             "but got num_samples=0"):
            data.WeightedRandomSampler([1.0, 2.0], 0)
        with pytest.raises(ValueError, match="weights should be a 1d sequence but given "
                                             r"weights have shape \(1, 2\)"):
            data.WeightedRandomSampler([[1.0, 2.0]], 2)
