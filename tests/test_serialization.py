"""chainrule.save / load: round trips, safety (no code on load), bad files, atomic saves."""
import io
import math
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import serialization


def roundtrip(obj, tmp_path, name="obj.pt"):
    path = tmp_path / name
    cr.save(obj, path)
    return cr.load(path)


@pytest.mark.parametrize("dtype", [cr.float32, cr.float64, cr.float16, cr.int64, cr.int32,
                                   cr.int16, cr.int8, cr.uint8, cr.bool])
def test_tensor_keeps_values_dtype_and_shape(dtype, tmp_path):
    t = (cr.arange(12) % 3).reshape(3, 4).to(dtype)
    loaded = roundtrip(t, tmp_path)
    assert loaded.dtype == dtype and loaded.shape == t.shape
    np.testing.assert_array_equal(loaded.numpy(), t.numpy())
    assert repr(loaded) == repr(t)


def test_requires_grad_and_views_and_scalars(tmp_path):
    w = cr.randn(3, 4, requires_grad=True)
    view = cr.arange(10.0)[::3]  # a non-contiguous view is saved by value
    scalar = cr.tensor(2.5, dtype=cr.float64)
    loaded = roundtrip({"w": w, "view": view, "scalar": scalar, "empty": cr.zeros(0, 3)},
                       tmp_path)
    assert loaded["w"].requires_grad and loaded["w"].is_leaf
    np.testing.assert_array_equal(loaded["w"].detach().numpy(), w.detach().numpy())
    assert loaded["view"].tolist() == [0.0, 3.0, 6.0, 9.0]
    assert repr(loaded["scalar"]) == "tensor(2.5000, dtype=torch.float64)"
    assert loaded["empty"].shape == cr.Size([0, 3])
    (loaded["w"] * 2).sum().backward()
    assert loaded["w"].grad is not None


def test_nested_containers_and_python_values(tmp_path):
    t = cr.ones(2)
    obj = {
        "epoch": 7, "lr": 0.125, "name": "digits", "flag": True, "nothing": None,
        "inf": math.inf, "ninf": -math.inf, 3: "int key", (1, "a"): "tuple key",
        "list": [1, 2.5, [t, "x"]], "tuple": (t, 4), "ordered": OrderedDict([("b", 1), ("a", t)]),
        "size": cr.Size([2, 3]), "dtype": cr.float64, "array": np.arange(4, dtype=np.int32),
        "npfloat": np.float32(1.5), "set": {1, 2},
    }
    loaded = roundtrip(obj, tmp_path)
    assert loaded["epoch"] == 7 and loaded["lr"] == 0.125 and loaded["name"] == "digits"
    assert loaded["flag"] is True and loaded["nothing"] is None
    assert loaded["inf"] == math.inf and loaded["ninf"] == -math.inf
    assert loaded[3] == "int key" and loaded[(1, "a")] == "tuple key"
    assert isinstance(loaded["tuple"], tuple) and isinstance(loaded["list"], list)
    assert type(loaded["ordered"]) is OrderedDict and list(loaded["ordered"]) == ["b", "a"]
    assert loaded["size"] == cr.Size([2, 3]) and isinstance(loaded["size"], cr.Size)
    assert loaded["dtype"] == cr.float64
    assert loaded["array"].dtype == np.int32 and loaded["array"].tolist() == [0, 1, 2, 3]
    assert loaded["npfloat"] == np.float32(1.5) and loaded["set"] == {1, 2}
    assert math.isnan(roundtrip(math.nan, tmp_path, "nan.pt"))
    # The same tensor stored twice loads as one tensor (as torch.load does).
    assert loaded["tuple"][0] is loaded["list"][2][0] is loaded["ordered"]["a"]


def test_optimizer_state_dict_roundtrip_resumes_like_torch(tmp_path):
    rng = np.random.default_rng(0)
    w0, x = rng.standard_normal(5), rng.standard_normal((8, 5))

    def train(lib, w, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            (lib.tanh(lib.tensor(x) @ w) ** 2).mean().backward()
            opt.step()

    w = cr.tensor(w0, requires_grad=True)
    opt = cr.optim.Adam([w], lr=0.05, amsgrad=True)
    train(cr, w, opt, 5)
    cr.save({"w": w, "optim": opt.state_dict()}, tmp_path / "ckpt.pt")
    ckpt = cr.load(tmp_path / "ckpt.pt")
    w2 = ckpt["w"]
    opt2 = cr.optim.Adam([w2])
    opt2.load_state_dict(ckpt["optim"])
    assert opt2.state_dict()["param_groups"] == opt.state_dict()["param_groups"]
    assert type(opt2.state_dict()["param_groups"][0]["betas"]) is tuple
    train(cr, w2, opt2, 5)

    tw = torch.tensor(w0, requires_grad=True)
    topt = torch.optim.Adam([tw], lr=0.05, amsgrad=True)
    train(torch, tw, topt, 10)
    np.testing.assert_allclose(w2.detach().numpy(), tw.detach().numpy(), rtol=1e-7)


def test_module_state_dict_roundtrip(tmp_path):
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 2))
    state = model.state_dict()
    loaded = roundtrip(state, tmp_path)
    assert type(loaded) is type(state) and list(loaded) == list(state)
    other = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 2))
    other.load_state_dict(loaded)
    x = cr.randn(5, 3)
    np.testing.assert_array_equal(other(x).detach().numpy(), model(x).detach().numpy())


def test_file_objects(tmp_path):
    buffer = io.BytesIO()
    cr.save({"a": cr.arange(3)}, buffer)
    buffer.seek(0)
    assert cr.load(buffer)["a"].tolist() == [0, 1, 2]
    with open(tmp_path / "f.pt", "wb") as handle:
        cr.save([cr.ones(2)], handle)
    with open(tmp_path / "f.pt", "rb") as handle:
        assert cr.load(handle)[0].tolist() == [1.0, 1.0]
    cr.save(cr.ones(1), str(tmp_path / "as_string.pt"))
    assert cr.load(str(tmp_path / "as_string.pt")).tolist() == [1.0]


def test_file_holds_only_json_and_npy(tmp_path):
    cr.save({"w": cr.ones(2, requires_grad=True), "step": 3}, tmp_path / "c.pt")
    with zipfile.ZipFile(tmp_path / "c.pt") as archive:
        names = archive.namelist()
        assert names == ["chainrule.json", "arrays/0.npy"]
        assert b"pickle" not in archive.read("chainrule.json")
        header = archive.read("arrays/0.npy")[:10]
        assert header.startswith(b"\x93NUMPY")


def test_unsupported_objects_are_refused_before_touching_the_file(tmp_path):
    path = tmp_path / "keep.pt"
    cr.save(cr.ones(1), path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match="cannot store an object of type .*lambda|function"):
        cr.save({"f": lambda: 1}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["keep.pt"]


def _whole_model_round_trip(lib, buf_factory):
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.ReLU())
    buf = buf_factory()
    lib.save({"model": model, "epoch": 3}, buf)
    buf.seek(0)
    try:
        lib.load(buf)
        refused = None
    except Exception as err:  # noqa: BLE001 - compared with torch's
        refused = (type(err).__name__, "weights_only" in str(err))
    buf.seek(0)
    loaded = lib.load(buf, weights_only=False)
    x = lib.ones(1, 3)
    return (refused, repr(loaded["model"]), loaded["epoch"],
            loaded["model"](x).tolist(), model(x).tolist(),
            [p.requires_grad for p in loaded["model"].parameters()])


def test_whole_objects_are_pickled_and_need_weights_only_false_as_in_torch():
    assert _whole_model_round_trip(cr, io.BytesIO) == _whole_model_round_trip(torch, io.BytesIO)


def test_truncated_file_is_a_clear_error(tmp_path):
    path = tmp_path / "ckpt.pt"
    cr.save({"w": cr.randn(100, 100), "b": cr.zeros(100)}, path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 40):
        path.write_bytes(data[:cut])
        with pytest.raises(RuntimeError, match="truncated or corrupted"):
            cr.load(path)


def test_corrupted_array_member_is_a_clear_error(tmp_path):
    path = tmp_path / "ckpt.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("chainrule.json", '{"format": "chainrule-checkpoint", "version": 1, '
                                           '"root": {"$tensor": 0, "requires_grad": false}}')
        archive.writestr("arrays/0.npy", b"\x93NUMPY garbage")
    with pytest.raises(RuntimeError, match="truncated or corrupted"):
        cr.load(path)


def test_foreign_files_are_clear_errors(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(RuntimeError, match="not a chainrule checkpoint"):
        cr.load(text)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(RuntimeError, match="empty"):
        cr.load(empty)
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("readme.txt", "hi")
    with pytest.raises(RuntimeError, match="not a chainrule checkpoint"):
        cr.load(other_zip)
    torch_file = tmp_path / "torch.pt"
    torch.save({"w": torch.ones(2)}, torch_file)
    with pytest.raises(RuntimeError, match="PyTorch checkpoint"):
        cr.load(torch_file)


def test_load_never_unpickles(tmp_path, monkeypatch):
    """A pickle payload (the classic code-execution vector) is refused, not run."""
    class Boom:
        def __reduce__(self):
            return (os.system, ("echo hacked > " + str(tmp_path / "pwned"),))

    path = tmp_path / "evil.pt"
    with open(path, "wb") as handle:
        pickle.dump(Boom(), handle)
    with pytest.raises(RuntimeError, match="not a chainrule checkpoint"):
        cr.load(path)
    # An .npy member holding an object array would need pickle: refused too.
    evil_zip = tmp_path / "evil_zip.pt"
    buffer = io.BytesIO()
    np.save(buffer, np.array([Boom()], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(evil_zip, "w") as archive:
        archive.writestr("chainrule.json", '{"format": "chainrule-checkpoint", "version": 1, '
                                           '"root": {"$ndarray": 0}}')
        archive.writestr("arrays/0.npy", buffer.getvalue())
    with pytest.raises(RuntimeError, match="truncated or corrupted"):
        cr.load(evil_zip)
    assert not (tmp_path / "pwned").exists()


def test_crash_during_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    cr.save({"w": cr.ones(3)}, path)
    good = path.read_bytes()
    calls = {"n": 0}
    real_write = serialization._write_array

    def crash_on_second_array(fileobj, array):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("power cut")  # not even an Exception
        real_write(fileobj, array)

    monkeypatch.setattr(serialization, "_write_array", crash_on_second_array)
    with pytest.raises(KeyboardInterrupt):
        cr.save({"w": cr.zeros(3), "b": cr.zeros(500)}, path)
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["model.pt"]  # no temporary file left behind
    assert cr.load(path)["w"].tolist() == [1.0, 1.0, 1.0]
    monkeypatch.setattr(serialization, "_write_array", real_write)
    cr.save({"w": cr.zeros(3)}, path)
    assert cr.load(path)["w"].tolist() == [0.0, 0.0, 0.0]


def test_crash_before_rename_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    cr.save(cr.ones(2), path)

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(serialization.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        cr.save(cr.zeros(2), path)
    monkeypatch.undo()
    assert cr.load(path).tolist() == [1.0, 1.0]
    assert os.listdir(tmp_path) == ["model.pt"]
