"""chainrule.save / chainrule.load: tensors and nested containers, in a file that holds only data.

Note [Checkpoint format]
A checkpoint is a zip archive with two kinds of members:
  chainrule.json    {"format": "chainrule-checkpoint", "version": 1, "root": <encoded object>}
  arrays/<i>.npy    one NumPy array per tensor or array, read back with allow_pickle=False
The JSON tree describes the object: JSON numbers, strings, booleans and null stand for
themselves, lists for lists, and containers that JSON cannot express are tagged objects:
{"$tensor": i, "dtype": ..., "requires_grad": ...}, {"$dict": [[key, value], ...]},
{"$odict": ...}, {"$tuple": [...]}, {"$ndarray": i}, ... Loading builds those objects from data
only: nothing in the file is ever executed.
The same tensor saved twice is stored once and loads as one tensor.

Objects outside that vocabulary (a whole nn.Module, a custom class) are pickled, as PyTorch
pickles them, into member objects/<i>.pkl and tagged {"$pickle": i}. Loading them runs code, so
`load` refuses them unless called with weights_only=False, as PyTorch 2.6+ does.

Saving to a path is atomic: the archive is written to a temporary file in the same directory,
flushed and fsync'ed, then renamed over the target with os.replace. A crash mid-save leaves the
previous file intact.
"""
from __future__ import annotations

import io
import json
import math
import os
import pickle
import tempfile
import zipfile
from collections import OrderedDict

import numpy as np

from . import _dtype
from ._size import Size
from .tensor import Tensor

FORMAT_NAME = "chainrule-checkpoint"
FORMAT_VERSION = 1
_STRUCTURE = "chainrule.json"
_SUPPORTED = ("tensors, NumPy arrays, None, bool, int, float, str, and dicts, OrderedDicts, "
              "lists, tuples and sets of these")


class CheckpointError(RuntimeError):
    """A file that is not a readable chainrule checkpoint."""


# -- encoding ------------------------------------------------------------------------------------
class _Encoder:
    def __init__(self):
        self.arrays = []
        self.pickles = []
        self._tensor_index = {}  # id(tensor) -> (index, tensor): one entry per saved tensor

    def add_array(self, array):
        # (np.ascontiguousarray would turn a 0-d array into a 1-d one)
        self.arrays.append(array if array.flags.c_contiguous else array.copy(order="C"))
        return len(self.arrays) - 1

    def encode(self, obj):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return obj
        if isinstance(obj, float):
            if math.isfinite(obj):
                return obj
            return {"$float": repr(obj)}  # inf, -inf, nan: strict JSON has no spelling
        if isinstance(obj, Tensor):
            return self.encode_tensor(obj)
        if isinstance(obj, Size):
            return {"$size": list(obj)}
        if isinstance(obj, _dtype.dtype):
            return {"$dtype": obj.name}
        if isinstance(obj, np.ndarray):
            if obj.dtype.hasobject or obj.dtype.kind in "OV":
                raise TypeError(f"chainrule.save cannot store NumPy arrays of dtype {obj.dtype}")
            return {"$ndarray": self.add_array(obj)}
        if isinstance(obj, np.generic):
            return {"$ndarray": self.add_array(np.asarray(obj)), "scalar": True}
        if isinstance(obj, OrderedDict):
            return {"$odict": [[self.encode(k), self.encode(v)] for k, v in obj.items()]}
        if isinstance(obj, dict):
            return {"$dict": [[self.encode(k), self.encode(v)] for k, v in obj.items()]}
        if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
            return {"$tuple": [self.encode(v) for v in obj]}
        if isinstance(obj, list):
            return [self.encode(v) for v in obj]
        if isinstance(obj, (set, frozenset)):
            return {"$set": [self.encode(v) for v in obj], "frozen": isinstance(obj, frozenset)}
        try:
            self.pickles.append(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
        except Exception as err:
            raise TypeError(f"chainrule.save cannot store an object of type "
                            f"{type(obj).__module__}.{type(obj).__qualname__}: it is not one of "
                            f"{_SUPPORTED}, and pickling it failed ({err})") from None
        return {"$pickle": len(self.pickles) - 1, "type": _qualified(type(obj))}

    def encode_tensor(self, t):
        entry = self._tensor_index.get(id(t))
        if entry is None:
            entry = (self.add_array(t._data), t)
            self._tensor_index[id(t)] = entry
        node = {"$tensor": entry[0], "requires_grad": bool(t.requires_grad)}
        if type(t).__name__ == "Parameter":
            node["parameter"] = True
        return node


def _qualified(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


WEIGHTS_ONLY_REFUSAL = (
    "Weights only load failed. This file can still be loaded, to do so you have two options, "
    "do those steps only if you trust the source of the checkpoint. \n\t(1) In PyTorch 2.6, we "
    "changed the default value of the `weights_only` argument in `torch.load` from `False` to "
    "`True`. Re-running `torch.load` with `weights_only` set to `False` will likely succeed, but "
    "it can result in arbitrary code execution. Do it only if you got the file from a trusted "
    "source.\n\t(2) chainrule keeps tensors, numbers, strings and containers of them as data; "
    "this checkpoint also holds a pickled {type} (saved with chainrule.save(obj) where obj is "
    "not plain data, e.g. a whole model). Save `obj.state_dict()` instead to load it with "
    "weights_only=True.")


# -- decoding ------------------------------------------------------------------------------------
class _Decoder:
    def __init__(self, arrays, pickles=None, weights_only=True):
        self.arrays = arrays
        self.pickles = pickles or {}
        self.weights_only = weights_only
        self._tensors = {}

    def array(self, index):
        try:
            return self.arrays[index]
        except (KeyError, IndexError, TypeError):
            raise CheckpointError(f"the checkpoint refers to array {index!r}, which it does not "
                                  "contain (the file is damaged)") from None

    def decode(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict) or len(node) == 0:
            raise CheckpointError(f"unexpected entry in the checkpoint structure: {node!r}")
        tag = next(iter(node))
        if tag == "$tensor":
            return self.decode_tensor(node)
        if tag == "$dict":
            return {self.decode(k): self.decode(v) for k, v in node[tag]}
        if tag == "$odict":
            return OrderedDict((self.decode(k), self.decode(v)) for k, v in node[tag])
        if tag == "$tuple":
            return tuple(self.decode(v) for v in node[tag])
        if tag == "$set":
            items = [self.decode(v) for v in node[tag]]
            return frozenset(items) if node.get("frozen") else set(items)
        if tag == "$float":
            return float(node[tag])
        if tag == "$size":
            return Size(node[tag])
        if tag == "$dtype":
            if node[tag] not in _dtype._BY_NAME:
                raise CheckpointError(f"unknown dtype {node[tag]!r} in the checkpoint")
            return _dtype._BY_NAME[node[tag]]
        if tag == "$ndarray":
            array = self.array(node[tag])
            return array[()] if node.get("scalar") else array
        if tag == "$pickle":
            if self.weights_only:
                raise pickle.UnpicklingError(WEIGHTS_ONLY_REFUSAL.format(type=node.get("type")))
            if node[tag] not in self.pickles:
                raise CheckpointError(f"the checkpoint refers to pickled object {node[tag]!r}, "
                                      "which it does not contain (the file is damaged)")
            return pickle.loads(self.pickles[node[tag]])
        raise CheckpointError(f"unknown entry {tag!r} in the checkpoint structure (written by a "
                              "newer chainrule?)")

    def decode_tensor(self, node):
        index = node["$tensor"]
        if index in self._tensors:
            return self._tensors[index]
        array = self.array(index)
        if array.dtype not in _dtype._FROM_NP:
            raise CheckpointError(f"the checkpoint holds a tensor of unsupported dtype "
                                  f"{array.dtype}")
        t = Tensor._make(array)
        if node.get("parameter"):
            from .nn import Parameter  # noqa: PLC0415 - nn imports the core, not the reverse

            t = Parameter(t, requires_grad=bool(node.get("requires_grad")))
        elif node.get("requires_grad"):
            t.requires_grad_(True)
        self._tensors[index] = t
        return t


# -- files ---------------------------------------------------------------------------------------
def _write_archive(fileobj, structure, arrays, pickles=()):
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(_STRUCTURE, json.dumps(structure))
        for i, array in enumerate(arrays):
            with archive.open(f"arrays/{i}.npy", "w", force_zip64=True) as member:
                _write_array(member, array)
        for i, blob in enumerate(pickles):
            archive.writestr(f"objects/{i}.pkl", blob)


def _write_array(fileobj, array):
    np.lib.format.write_array(fileobj, array, allow_pickle=False)


def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True):
    """Save tensors, state dicts and nested containers of them to a path or binary file.

    >>> chainrule.save({"model": model.state_dict(), "optim": opt.state_dict()}, "ckpt.pt")
    The file holds only data (see Note [Checkpoint format]); saving to a path replaces the old
    file atomically.
    """
    encoder = _Encoder()
    root = encoder.encode(obj)  # fails before any file is touched
    structure = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "root": root}
    if hasattr(f, "write"):
        _write_archive(f, structure, encoder.arrays, encoder.pickles)
        return
    path = os.fspath(f)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
                                    suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as tmp:
            _write_archive(tmp, structure, encoder.arrays, encoder.pickles)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        try:
            os.unlink(tmp_path)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def _fsync_directory(directory):
    """Make the rename itself durable (best effort: not every platform allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None,
         **pickle_load_args):
    """Load what `save` wrote, from a path or binary file. Executes no code from the file
    unless `weights_only=False` lets it unpickle objects saved whole (a model, say).

    A file that is not a chainrule checkpoint, or is truncated, raises a RuntimeError saying so.
    """
    name = repr(os.fspath(f)) if not hasattr(f, "read") else "the given file object"
    if hasattr(f, "read"):
        data = f.read()
        if not isinstance(data, bytes):
            raise TypeError("chainrule.load needs a file opened in binary mode ('rb')")
        return _load_bytes(data, name, weights_only)
    with open(f, "rb") as handle:
        return _load_bytes(handle.read(), name, weights_only)


def _load_bytes(data, name, weights_only=True):
    if len(data) == 0:
        raise CheckpointError(f"{name} is empty: not a chainrule checkpoint")
    if not data.startswith(b"PK"):
        raise CheckpointError(f"{name} is not a chainrule checkpoint (no zip archive header; "
                              "chainrule.save writes a zip of NumPy arrays and a JSON structure)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as err:
        raise CheckpointError(f"{name} is truncated or corrupted: its zip archive cannot be "
                              f"read ({err})") from None
    with archive:
        names = set(archive.namelist())
        if _STRUCTURE not in names:
            hint = ""
            if any(n.endswith("data.pkl") for n in names):
                hint = (" It looks like a PyTorch checkpoint, which is a pickle: chainrule does "
                        "not unpickle (unpickling can run code). Load it with torch and convert "
                        "the tensors with .numpy().")
            raise CheckpointError(f"{name} is not a chainrule checkpoint: it has no "
                                  f"{_STRUCTURE}.{hint}")
        try:
            structure = json.loads(archive.read(_STRUCTURE).decode("utf-8"))
            if not isinstance(structure, dict) or structure.get("format") != FORMAT_NAME:
                raise CheckpointError(f"{name} is not a chainrule checkpoint (unknown format "
                                      "marker)")
            if structure.get("version") != FORMAT_VERSION:
                raise CheckpointError(f"{name} has checkpoint version "
                                      f"{structure.get('version')!r}; this chainrule reads "
                                      f"version {FORMAT_VERSION}")
            arrays, pickles = {}, {}
            for member in names:
                if member.startswith("objects/") and member.endswith(".pkl"):
                    pickles[int(member[len("objects/"):-len(".pkl")])] = archive.read(member)
                if member.startswith("arrays/") and member.endswith(".npy"):
                    index = int(member[len("arrays/"):-len(".npy")])
                    with archive.open(member) as stream:
                        arrays[index] = np.lib.format.read_array(stream, allow_pickle=False)
        except CheckpointError:
            raise
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, UnicodeDecodeError,
                KeyError) as err:
            raise CheckpointError(f"{name} is truncated or corrupted: {err}") from None
    return _Decoder(arrays, pickles, weights_only is not False).decode(structure["root"])
