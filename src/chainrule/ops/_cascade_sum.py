"""float32 sums in PyTorch's CPU summation order, so results match torch to the last bit.

NumPy's float32 `sum` is pairwise over 8 accumulators; ATen's CPU sum (SumKernel.cpp) is a
*cascade*: it keeps float accumulators at 4 levels, each level collecting 2^k partial sums of
the level below (`multi_row_sum`), runs 4 such streams side by side (`row_sum`, "ILP 4") and,
for rows contiguous in memory, does this on whole Vectorized<float> registers whose lanes are
added at the end. Which of these applies depends on the memory layout (TensorIterator's
dimension order), the vector width (8 floats: see `_detect_lanes`, AVX512 machines included)
and, for tensors of 32768+ elements, on how the work is split over threads (`NUM_THREADS`,
torch's default count; `set_num_threads` to follow a torch.set_num_threads call). This
module replays that order with NumPy operations on whole arrays (no per-element Python
loops):

  _seq(v)         a strictly sequential sum along axis 0 (the building block, see below)
  _multi_row(v)   ATen's multi_row_sum along axis 0, each column on its own ("A")
  _row_sum(v)     ATen's row_sum: 4 interleaved multi_row_sums, then combined ("B")
  _inner_vec(v)   vectorized_inner_sum: row_sum over vectors, tail, then lanes in order
  _flat_sum(n)    the same three for one contiguous run of n floats, spelled out
  cascade_sum(x, axes, keepdims)  the reduction, with TensorIterator's ordering,
                  coalescing, 2-D loop dispatch and thread split emulated

Plans. All of the analysis (TensorIterator's dims, which 2-D loop, thread splits, slices,
reshapes) depends only on (shape, strides, axes, keepdims, lanes, threads), so it runs once
per such key (_make_plan) and yields a function of x that only does the array work. Three
kinds: C-contiguous inputs whose reduced dims are adjacent are reached with reshapes
(_contiguous_plan: one run of floats, rows, or columns); other layouts go through the
TensorIterator emulation (_general_plan); empty or trivial reductions are np.add.reduce.

Sequential sums. NumPy's reduce is sequential along an axis that is not its innermost loop
(checked in tests/test_reduction_bits.py); where the axis would be innermost,
np.add.accumulate is used instead; a few rows are added with a chain of binary adds. When
the outputs are many but contiguous only in runs of 32 floats (the 4 x 8-lane vectors of a
long row), reduce pays per run; a loop of in-place binary adds is ~3x faster there.
Where the cascade degenerates to one flat sequence in some order (fewer than two vectors,
or fewer than 8 rows), the elements are gathered in that order and summed once.

Cost (2-core machine, see bench/bench_sum.py): ~1.5-2 us for a handful of floats, ~7 us
for 640 (np.sum: 2-4 us); large inputs about 1-2.5x np.sum: column sums run at NumPy's speed,
while row and 1-D sums are bound by NumPy's per-run overhead on 32-float runs.
"""
from __future__ import annotations

import functools
import math
import os

import numpy as np

_F32 = np.float32
_ZERO = _F32(0)
GRAIN_SIZE = 32768  # at::internal::GRAIN_SIZE: below this, reductions run on one thread


def cpu_capability():
    """The ATen kernel set torch would pick here: "avx512", "avx2" or "default"
    (ATEN_CPU_CAPABILITY overrides, as it does for torch)."""
    forced = os.environ.get("ATEN_CPU_CAPABILITY", "").lower()
    if forced in ("avx512", "avx2", "default"):
        return forced
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq", "fma"} <= flags:
        return "avx512"
    return "avx2" if {"avx2", "fma"} <= flags else "default"


def _detect_lanes():
    """Floats per Vectorized<float> in the sum kernel torch runs here.

    Measured, not assumed: on an AVX512 machine torch's sum still runs the AVX2 kernel
    (8 lanes), because ATen only uses AVX512 for kernels registered with
    ALSO_REGISTER_AVX512_DISPATCH and the sum kernel is not one of them; the generic
    (DEFAULT) build's Vectorized<float> is 32 bytes wide as well. tests/test_reduction_bits.py
    checks this against torch under each capability this machine can run."""
    return 8


def _detect_threads():
    """torch.get_num_threads()'s default: OMP/MKL_NUM_THREADS, else physical cores."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    cores = set()
    try:
        with open("/proc/cpuinfo") as f:
            phys = "0"
            for line in f:
                if line.startswith("physical id"):
                    phys = line.split(":")[1].strip()
                elif line.startswith("core id"):
                    cores.add((phys, line.split(":")[1].strip()))
    except OSError:
        pass
    return len(cores) or os.cpu_count() or 1


LANES = _detect_lanes()
NUM_THREADS = _detect_threads()


def set_num_threads(n):
    """Emulate a torch that runs reductions on n threads (matters from 32768 elements)."""
    global NUM_THREADS
    NUM_THREADS = max(1, int(n))


# -- sequential sums ----------------------------------------------------------------------------
_CHAIN = 4         # up to this many rows, a chain of binary adds beats one reduce call
_LOOP_SIZE = 4096  # from this many outputs, short inner loops make add.reduce slow (see _seq)
_LONG_RUN = 256    # ... unless the outputs' contiguous run is at least this long


def _contiguous_run(shape, strides, itemsize):
    """Length of the longest stretch of elements adjacent in memory (coalesced innermost dims)."""
    run, want = 1, itemsize
    for stride, size in sorted((abs(st), d) for d, st in zip(shape, strides) if d > 1):
        if stride != want:
            break
        run *= size
        want *= size
    return run


def _seq(v):
    """Sum v along axis 0 strictly in order: ((v[0] + v[1]) + v[2]) + ... (ATen starts from
    +0: the sign of an all-zero sum is fixed once, at the end). May return a view of v.

    Three ways, all sequential: a chain of binary adds (few rows); np.add.reduce, which adds
    row after row whenever axis 0 is not NumPy's innermost loop; np.add.accumulate otherwise.
    For large outputs with short contiguous runs (8-lane vectors of many rows), reduce spends
    its time in per-run overhead, so the chain is used there too, into an accumulator laid out
    like v's rows (so its inner loop is the contiguous run)."""
    n = v.shape[0]
    if n <= _CHAIN:
        if n > 1:
            out = v[0] + v[1]
            for i in range(2, n):
                out += v[i]  # fresh array (or an immutable scalar): safe in place
            return out
        return v[0] if n else np.zeros(v.shape[1:], v.dtype)
    if v.ndim == 1:
        return np.add.accumulate(v)[-1]
    if v.size < _LOOP_SIZE * n and v.size > n and v.flags.c_contiguous:
        return np.add.reduce(v, axis=0)  # the common case of the test below, decided quickly
    shape, strides = v.shape[1:], v.strides[1:]
    if v.size >= _LOOP_SIZE * n and _contiguous_run(shape, strides, v.itemsize) < _LONG_RUN:
        out = np.empty_like(v[0])  # order K: v's memory order
        np.add(v[0], v[1], out=out)
        for i in range(2, n):
            np.add(out, v[i], out=out)
        return out
    step = abs(v.strides[0])
    for d, st in zip(shape, strides):
        if d > 1 and abs(st) < step:
            return np.add.reduce(v, axis=0)  # not NumPy's innermost loop: sequential
    return np.add.accumulate(v, axis=0)[-1]


def _ceil_log2(n):
    return 1 if n <= 2 else (n - 1).bit_length()


@functools.lru_cache(maxsize=None)
def _order(n, kind, lanes=0):
    """Row orders in which small cascades are one flat sequence (see _row_sum, _inner_vec)."""
    if kind == "row_sum":  # stream 0 gets row 0 and the leftovers, streams 1..3 follow
        idx = [0] + list(range(4, n)) + [1, 2, 3]
    else:  # one whole vector: the tail first, then the lanes in order
        idx = list(range(lanes, n)) + list(range(lanes))
    return np.array(idx, np.intp)


def _multi_row(v):
    """ATen's multi_row_sum along axis 0 (each column separately): blocks of 2^p rows are
    summed in order, and the block sums cascade through 3 more levels of 2^p."""
    n = v.shape[0]
    step = 16 if n <= 1 << 19 else 1 << (_ceil_log2(n) // 4)  # 2^max(4, ceil(log2 n) / 4)
    if n < step:
        return _seq(v)
    blocks = n // step
    if blocks == 1:
        level = _seq(v[:step])[None]
    else:
        level = _seq(v[:blocks * step].reshape((blocks, step) + v.shape[1:]).swapaxes(0, 1))
    # acc0 holds the leftover rows; acc1 and acc2 the sums of incomplete groups of `step`
    # level-below sums; acc3 every completed group of level 2. Added in that order.
    out = _seq(v[blocks * step:]) if n > blocks * step else None
    for _ in range(2):
        groups = level.shape[0] // step
        if groups * step < level.shape[0]:
            part = _seq(level[groups * step:])
            out = part if out is None else out + part
        if groups == 0:
            return out
        level = _seq(level[:groups * step].reshape((groups, step) + level.shape[1:])
                     .swapaxes(0, 1))
    part = _seq(level)
    return part if out is None else out + part


def _row_sum(v):
    """ATen's row_sum along axis 0: rows 4i+k go to stream k (multi_row_sum each), leftover
    rows to stream 0, then stream 0 + 1 + 2 + 3."""
    n = v.shape[0]
    if n < 8:  # every stream has at most one row: a flat sequence
        return _seq(v if n <= 4 else v[_order(n, "row_sum")])
    quads = n // 4
    streams = _multi_row(v[:quads * 4].reshape((quads, 4) + v.shape[1:]))
    first = streams[0]
    for i in range(quads * 4, n):
        first = first + v[i]
    return ((first + streams[1]) + streams[2]) + streams[3]


def _inner_vec(v, lanes):
    """vectorized_inner_sum along axis 0 (contiguous): row_sum over whole vectors of `lanes`
    floats, then 0 + the leftover elements + each lane in order."""
    n = v.shape[0]
    nvec = n // lanes
    if nvec == 1:  # the lane sums are the elements themselves
        return _seq(v if n == lanes else v[_order(n, "inner", lanes)])
    body = v if nvec * lanes == n else v[:nvec * lanes]
    lane_sums = _row_sum(body.reshape((nvec, lanes) + v.shape[1:]))
    if nvec * lanes == n:
        return _seq(lane_sums)
    return _seq(np.concatenate([v[nvec * lanes:], lane_sums], axis=0))


@functools.lru_cache(maxsize=1024)
def _flat_sum(n, lanes):
    """_vec_sum specialised to n floats: the slices and call sequence are worked out once.
    Up to 256 rows of 4 vectors (multi_row_sum at most one level deep) the cascade is spelled
    out here with as few NumPy calls as possible; beyond that NumPy's work dominates."""
    nvec, tail = divmod(n, lanes)
    quads, extra = divmod(nvec, 4)
    if n <= 4 or n == lanes:  # one flat sequence in memory order
        return _seq
    if n < lanes:
        if n >= 8:
            return _row_sum
        order = _order(n, "row_sum")  # one flat sequence in another order (see _row_sum)
        return lambda v: np.add.accumulate(v[order])[-1]
    if nvec == 1:  # ... or (see _inner_vec)
        order = _order(n, "inner", lanes)
        return lambda v: np.add.accumulate(v[order])[-1]
    if quads >= 256:
        return functools.partial(_vec_sum, lanes=lanes)
    width = 4 * lanes
    body = quads * width
    vecs = [slice(body + i * lanes, body + (i + 1) * lanes) for i in range(extra)]
    streams = [slice(k * lanes, (k + 1) * lanes) for k in range(4)]
    blocks, left = divmod(quads, 16)

    def lane_sums(v):
        if not quads:  # stream 0 only: the vectors in order
            out = v[:lanes] + v[lanes:2 * lanes]
            if extra == 3:
                out += v[2 * lanes:3 * lanes]
            return out
        rows = v[:body].reshape(quads, width)  # row i: vectors 4i .. 4i+3, one per stream
        if blocks == 0:
            s = _seq(rows)
        else:
            s = (np.add.reduce(rows[:16], axis=0) if blocks == 1 else
                 _seq(np.add.reduce(rows[:16 * blocks].reshape(blocks, 16, width), axis=1)))
            if left:
                s = _seq(rows[16 * blocks:]) + s
        first = s[streams[0]]
        for vec in vecs:
            first = first + v[vec]
        return ((first + s[streams[1]]) + s[streams[2]]) + s[streams[3]]

    if not tail:
        return lambda v: np.add.accumulate(lane_sums(v))[-1]
    return lambda v: np.add.accumulate(np.concatenate((v[nvec * lanes:], lane_sums(v))))[-1]


# -- TensorIterator emulation --------------------------------------------------------------------
def _iterator_dims(shape, in_strides, out_strides, with_order=False):
    """Reorder (reduced dims first, then by stride) and coalesce, as TensorIterator does.
    Returns a list of [size, in_stride, out_stride], innermost first (and, with_order, the
    axes of x in that order: the merged dims are runs of consecutive axes of it)."""
    ndim = len(shape)
    perm = list(range(ndim - 1, -1, -1))

    def should_swap(d0, d1):
        s0, s1 = out_strides[d0], out_strides[d1]
        if (s0 == 0) != (s1 == 0):
            return 1 if s1 == 0 else -1
        for strides in (out_strides, in_strides):
            s0, s1 = strides[d0], strides[d1]
            if s0 == 0 or s1 == 0:
                continue
            if s0 != s1:
                return -1 if s0 < s1 else 1
            if shape[d0] > shape[d1]:
                return 1
        return 0

    for i in range(1, ndim):
        d1 = i
        for d0 in range(i - 1, -1, -1):
            cmp = should_swap(perm[d0], perm[d1])
            if cmp > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif cmp < 0:
                break
    dims = [[shape[d], in_strides[d], out_strides[d]] for d in perm]
    merged = [dims[0]] if dims else [[1, 0, 0]]
    for size, ins, outs in dims[1:]:
        last = merged[-1]
        if last[0] == 1 or size == 1 or (last[0] * last[1] == ins and last[0] * last[2] == outs):
            if last[0] == 1:
                last[1], last[2] = ins, outs
            last[0] *= size
        else:
            merged.append([size, ins, outs])
    return (merged, perm) if with_order else merged


def _loop2d(y, s0, s1, size0, size1, lanes):
    """Results of cascade_sum's 2-D loop on block y (axis 0: the reduced dim 0, axis 1:
    dim 1, further axes batched): one value per column j of dim 1."""
    item = 4
    if s0 == item and size0 >= lanes:
        return _inner_vec(y, lanes)
    if s1 == item and size1 >= lanes:
        split = size1 // (4 * lanes) * 4 * lanes  # vectorized_outer_sum: 4-vector blocks
    elif s0 < s1:
        return _row_sum(y)
    else:
        split = size1 // 4 * 4  # scalar_outer_sum: groups of 4 columns
    if split == size1:
        return _multi_row(y)
    if split == 0:
        return _row_sum(y)
    return np.concatenate([_multi_row(y[:, :split]), _row_sum(y[:, split:])], axis=0)


def _vec_sum(v, lanes):
    """The 2-D loop on one contiguous 1-D run of floats, reduced to a single value."""
    return _inner_vec(v, lanes) if v.shape[0] >= lanes else _row_sum(v)


def _strided(x, offset_bytes, sizes, strides):
    """A view of x's memory starting offset_bytes after x's first element."""
    as_strided = np.lib.stride_tricks.as_strided
    if offset_bytes:
        start = offset_bytes // x.itemsize
        x = as_strided(x, (start + 1,), (x.itemsize,), writeable=False)[start:]
    return as_strided(x, tuple(sizes), tuple(strides), writeable=False)


def _full_range_calls(y, dims, lanes, split_chunks=None):
    """Serial loop over all 2-D blocks of y (x viewed as the iterator's dims, innermost
    first); returns per-(dim1, outer dims) results, dim 1 first."""
    size0, s0, _ = dims[0]
    size1, s1, _ = dims[1]
    if split_chunks is None:
        return _loop2d(y, s0, s1, size0, size1, lanes)
    parts = [_loop2d(y[:, b:e], s0, s1, size0, e - b, lanes) for b, e in split_chunks]
    return np.concatenate(parts, axis=0)


def _column_chunks(cols, threads, round_to):
    """at::parallel_for's split of `cols` over threads, rounded to 128-byte columns."""
    used = min(threads, cols)
    chunk = -(-cols // used)
    chunks = []
    for t in range(used):
        begin, end = t * chunk, min(cols, (t + 1) * chunk)
        if begin >= cols:
            break
        if round_to:
            begin -= begin % round_to
            if end != cols:
                end -= end % round_to
        if begin < end:
            chunks.append((begin, end))
    return chunks


def _thread_ranges(size, threads):
    """The two-pass full reduction's split of [0, size) over threads (one buffer slot each)."""
    used = min(threads, -(-size // GRAIN_SIZE))
    chunk = -(-size // used)
    return [(t * chunk, min(size, (t + 1) * chunk)) for t in range(used) if t * chunk < size]


def _range_sum(x, dims, begin, end, lanes):
    """serial_for_each over linear positions [begin, end) into one output (all reduced)."""
    shape = [d[0] for d in dims] + ([1] if len(dims) == 1 else [])
    in_strides = [d[1] for d in dims] + ([0] if len(dims) == 1 else [])
    values = []
    rem = begin
    for size in shape:
        values.append(rem % size)
        rem //= size
    offset = begin
    acc = _F32(0)
    while offset < end:
        step0 = min(shape[0] - values[0], end - offset)
        step1 = 1
        if step0 == shape[0]:
            step1 = min(shape[1] - values[1], (end - offset) // shape[0])
        start = sum(v * s for v, s in zip(values, in_strides))
        y = _strided(x, start, [step0, step1], in_strides[:2])
        for r in np.atleast_1d(_loop2d(y, in_strides[0], in_strides[1], step0, step1, lanes)):
            acc = acc + r
        offset += step0 * step1
        i, carry = (1, step1) if step1 != 1 else (0, step0)
        while i < len(shape) and carry:
            value = values[i] + carry
            carry = 1 if value >= shape[i] else 0
            values[i] = value - shape[i] if carry else value
            i += 1
    return acc


# -- plans: the analysis above, done once per (shape, strides, axes, keepdims, lanes, threads) ---
def _contiguous_plan(shape, axes, lanes, threads):
    """For a C-contiguous x whose reduced dims (ignoring size-1 dims) are adjacent, the
    iterator is [reduced R, inner kept M, outer kept P], reachable with reshapes. Returns a
    function of x giving the result in (P, M) order, or None when the general path is needed."""
    before = within = after = 1
    seen_reduced = seen_after = False
    for i, size in enumerate(shape):
        if size == 1:
            continue
        if i in axes:
            if seen_after:
                return None  # two separate blocks of reduced dims
            seen_reduced = True
            within *= size
        elif seen_reduced:
            seen_after = True
            after *= size
        else:
            before *= size
    parallel = before * within * after >= GRAIN_SIZE and threads > 1
    if after == 1 and before == 1:
        if not parallel:
            flat_sum = _flat_sum(within, lanes)
            return flat_sum if len(shape) == 1 else lambda x: flat_sum(x.reshape(within))
        # two-pass reduction: each thread sums its range into a buffer of `threads` slots
        ranges = _thread_ranges(within, threads)

        def two_pass(x):
            flat = x.reshape(within)
            buffer = np.zeros(threads, _F32)
            for t, (begin, end) in enumerate(ranges):
                buffer[t] = _vec_sum(flat[begin:end], lanes)
            return _vec_sum(buffer, lanes)
        return two_pass
    if after == 1:
        # rows: each output sums one contiguous row; splitting rows over threads changes nothing
        if 4 < within < min(8, lanes) or lanes <= within < 2 * lanes:
            # each row is one flat sequence: gathered (as rows of a C-contiguous array) and
            # summed row by row
            order = (_order(within, "row_sum") if within < lanes else np.arange(lanes)
                     if within == lanes else _order(within, "inner", lanes))
            return lambda x: np.add.reduce(x.reshape(before, within).T[order], axis=0)
        if within >= lanes:
            return lambda x: _inner_vec(x.reshape(before, within).T, lanes)
        return lambda x: _row_sum(x.reshape(before, within).T)
    # columns (R, M, P): vectorized_outer_sum (multi_row_sum) over whole 4-vector blocks of
    # columns, row_sum on the rest; a thread split of M moves that boundary
    chunks = [(0, after)]
    if parallel and (before < threads) and (after >= threads or after > before):
        chunks = _column_chunks(after, threads, 32)
    segments = []  # [begin, end, function], adjacent runs of one function merged
    for begin, end in chunks:
        cols = end - begin
        split = cols // (4 * lanes) * 4 * lanes if cols >= lanes else cols // 4 * 4
        for b, e, fn in ((begin, begin + split, _multi_row), (begin + split, end, _row_sum)):
            if b == e:
                continue
            if segments and segments[-1][2] is fn and segments[-1][1] == b:
                segments[-1][1] = e
            else:
                segments.append([b, e, fn])
    if before == 1:
        if len(segments) == 1:
            return lambda x: segments[0][2](x.reshape(within, after))

        def columns(x):
            y = x.reshape(within, after)
            return np.concatenate([fn(y[:, b:e]) for b, e, fn in segments], axis=0)
        return columns

    def batched_columns(x):
        y = x.reshape(before, within, after).transpose(1, 2, 0)  # (R, M, P)
        parts = [fn(y if e - b == after else y[:, b:e]) for b, e, fn in segments]
        return (parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)).T
    return batched_columns


def _general_plan(shape, strides, axes, lanes, threads):
    """Any layout: TensorIterator's dims, 2-D loop over blocks, thread splits. The plan's
    function returns the kept dims in x's order."""
    ndim, size = len(shape), math.prod(shape)
    # output: a fresh C-contiguous tensor, stride 0 along reduced dims
    out_strides, step = [0] * ndim, 4
    for i in range(ndim - 1, -1, -1):
        if i not in axes:
            out_strides[i] = step
            step *= shape[i]
    dims, order = _iterator_dims(shape, list(strides), out_strides, with_order=True)
    if len(dims) == 1:
        dims.append([1, 0, 0])
    n_reduced = sum(1 for d in dims if d[2] == 0)
    kept = [d for d in dims if d[2] != 0]
    if not kept and size >= GRAIN_SIZE and threads > 1:
        ranges = _thread_ranges(size, threads)

        def two_pass(x):
            buffer = np.zeros(threads, _F32)
            for t, (begin, end) in enumerate(ranges):
                buffer[t] = _range_sum(x, dims, begin, end, lanes)
            return _vec_sum(buffer, lanes)
        return two_pass
    # x seen as the iterator's dims: its axes outermost first, reshaped (a view: the merged
    # axes are compatible), then reversed to innermost first
    outer_first = order[::-1]
    merged_sizes = tuple(d[0] for d in reversed(dims))
    if not kept and dims[0][1] == 4 and dims[1][0] == 1:  # one contiguous run (any axis order)
        flat_sum = _flat_sum(size, lanes)
        return lambda x: flat_sum(x.transpose(outer_first).reshape(size))
    chunks = None
    if kept and size >= GRAIN_SIZE and threads > 1 and n_reduced == 1:
        # parallel_dim_reduction splits the outermost kept dim that has >= threads columns;
        # only a split of dim 1 changes the 2-D loop's arithmetic
        split = len(dims) - 1
        for d in range(len(dims) - 1, 0, -1):
            if dims[d][0] >= threads:
                split = d
                break
            if dims[d][0] > dims[split][0]:
                split = d
        if split == 1:
            round_to = 32 if dims[1][1] == 4 else 0
            chunks = _column_chunks(dims[1][0], threads, round_to)
    # the results come as the kept merged dims, innermost first: reversed and unmerged, they
    # are x's kept axes in iterator order, transposed back to x's order
    kept_order = [a for a in outer_first if a not in axes]
    kept_sizes = tuple(shape[a] for a in kept_order)
    back = tuple(np.argsort(kept_order))

    def general(x):
        y = x.transpose(outer_first).reshape(merged_sizes).transpose()
        r = _full_range_calls(y, dims, lanes, chunks)  # axes: dim 1, dim 2, ...
        # accumulate over the reduced dims beyond dim 0, in call order (dim 1 fastest)
        if n_reduced > 1:
            lead = r.shape[:n_reduced - 1]
            r = np.moveaxis(r, list(range(n_reduced - 1)), list(range(n_reduced - 2, -1, -1)))
            r = r.reshape((math.prod(lead),) + r.shape[n_reduced - 1:])
            r = _seq(np.ascontiguousarray(r)) if r.shape[0] > 1 else r[0]
        if not kept_order:
            return r
        return np.transpose(np.transpose(r).reshape(kept_sizes), back)
    return general


def _make_plan(x, axes, keepdims, lanes, threads):
    ndim = x.ndim
    if axes is None:
        axes = tuple(range(ndim))
    elif not isinstance(axes, tuple):
        axes = (axes,)
    axes = tuple(sorted(a % ndim for a in axes)) if ndim else ()
    out_shape = tuple(1 if i in axes else s for i, s in enumerate(x.shape))
    final_shape = out_shape if keepdims else tuple(
        s for i, s in enumerate(x.shape) if i not in axes)
    if x.size == 0 or not any(x.shape[a] > 1 for a in axes):
        return lambda x: np.asarray(np.add.reduce(x, axis=axes, keepdims=keepdims) + _ZERO)
    plan = _contiguous_plan(x.shape, axes, lanes, threads) if x.flags.c_contiguous else None
    if plan is None:
        strides = x.strides
        if any(s < 0 for s in strides):
            strides = np.empty(x.shape, x.dtype).strides  # the plan runs on a C-contiguous copy
        general = _general_plan(x.shape, strides, axes, lanes, threads)
        if strides != x.strides:
            plan = lambda x: general(np.ascontiguousarray(x))  # noqa: E731
        else:
            plan = general

    def run(x):
        r = plan(x) + _ZERO  # +0: fresh, and a zero sum's sign as ATen's (it starts from +0)
        if type(r) is not np.ndarray:
            r = np.asarray(r)
        return r.reshape(final_shape) if r.shape != final_shape else r
    return run


_PLANS = {}
_MAX_PLANS = 4096


def cascade_sum(x, axes=None, keepdims=False, *, lanes=None, threads=None):
    """Sum float32 `x` over `axes` (None: all) exactly as PyTorch's CPU `sum` does."""
    if type(x) is not np.ndarray:
        x = np.asarray(x)
    if type(axes) is list:
        axes = tuple(axes)
    key = (x.shape, x.strides, x.dtype.char, axes, keepdims,
           LANES if lanes is None else lanes, NUM_THREADS if threads is None else threads)
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        plan = _PLANS[key] = _make_plan(x, *key[3:])
    return plan(x)
