"""Checkpoints as a PyTorch program uses them: file-like objects both ways, torch.load's
arguments (map_location in every form, weights_only, mmap, pickle_module), a clear message for
PyTorch pickle checkpoints, and the permissions a saved file gets."""
import io
import os
import pickle
import stat

import numpy as np
import pytest

import pyengine as pe
from pyengine.io import CheckpointError

torch = pytest.importorskip("torch")


def _state():
    return {"weight": pe.arange(6.0).reshape(2, 3), "bias": pe.tensor([1.5, -2.0], dtype=pe.float64),
            "steps": pe.tensor(7), "meta": {"epoch": 3, "name": "run", "betas": (0.9, 0.999), "ok": True}}


def _assert_same(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, pe.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.device == b.device
        np.testing.assert_array_equal(a.cpu().numpy(), b.cpu().numpy())
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    else:
        assert a == b


# ---------------------------------------------------------------- file-like objects
def test_bytesio_round_trip():
    buf = io.BytesIO()
    pe.save(_state(), buf)
    assert buf.tell() == len(buf.getvalue()) > 0
    buf.seek(0)
    _assert_same(pe.load(buf), _state())


def test_load_reads_from_the_current_position_and_open_files(tmp_path):
    buf = io.BytesIO()
    buf.write(b"header-of-another-format")
    start = buf.tell()
    pe.save(_state(), buf)
    buf.seek(start)
    _assert_same(pe.load(buf), _state())
    path = tmp_path / "ckpt.pt"
    with open(path, "wb") as f:
        pe.save(_state(), f)
    with open(path, "rb") as f:
        _assert_same(pe.load(f), _state())
    _assert_same(pe.load(str(path)), _state())  # the same bytes as a path


def test_model_state_dict_through_a_buffer_as_a_pytorch_user_writes_it():
    model = pe.nn.Sequential(pe.nn.Linear(3, 4), pe.nn.ReLU(), pe.nn.Linear(4, 2))
    opt = pe.optim.Adam(model.parameters(), lr=1e-3)
    model(pe.randn(5, 3)).sum().backward()
    opt.step()
    buf = io.BytesIO()
    pe.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 1}, buf)
    buf.seek(0)
    ckpt = pe.load(buf, map_location="cpu", weights_only=True)
    fresh = pe.nn.Sequential(pe.nn.Linear(3, 4), pe.nn.ReLU(), pe.nn.Linear(4, 2))
    fresh.load_state_dict(ckpt["model"])
    opt2 = pe.optim.Adam(fresh.parameters(), lr=1e-3)
    opt2.load_state_dict(ckpt["optimizer"])
    x = pe.randn(4, 3)
    np.testing.assert_array_equal(fresh(x).detach().numpy(), model(x).detach().numpy())
    assert ckpt["epoch"] == 1


def test_text_mode_file_is_refused(tmp_path):
    path = tmp_path / "ckpt.pt"
    pe.save(_state(), str(path))
    with open(path, encoding="latin-1") as f, pytest.raises(TypeError, match="binary mode"):
        pe.load(f)


def test_truncated_buffer_names_the_fault():
    buf = io.BytesIO()
    pe.save(_state(), buf)
    with pytest.raises(CheckpointError, match="<file object>|truncated or corrupt"):
        pe.load(io.BytesIO(buf.getvalue()[:-5]))


# ---------------------------------------------------------------- torch.load's arguments
@pytest.mark.parametrize("weights_only", [True, False, None])
def test_weights_only_mmap_and_pickle_arguments_are_accepted(weights_only):
    buf = io.BytesIO()
    pe.save(_state(), buf, pickle_protocol=2, _use_new_zipfile_serialization=True)
    buf.seek(0)
    _assert_same(pe.load(buf, None, pickle, weights_only=weights_only, mmap=False, encoding="utf-8"), _state())


def test_map_location_forms(device):
    buf = io.BytesIO()
    state = {"a": pe.ones(2, device=device), "b": pe.zeros(1)}
    pe.save(state, buf)
    data = buf.getvalue()

    def load(loc):
        return pe.load(io.BytesIO(data), map_location=loc)

    assert load(None)["a"].device.type == "cpu"  # CPU unless told otherwise (see load's doc)
    for loc in (device, pe.device(device), {"cpu": device}):
        out = load(loc)
        assert out["b"].device.type == device
    saved = "cpu" if device == "cpu" else "cuda:0"
    assert load({saved: "cpu"})["a"].device.type == "cpu"
    seen = []
    out = load(lambda t, where: seen.append(where) or t)
    assert sorted(seen) == sorted([saved, "cpu"]) and out["a"].device.type == "cpu"
    out = load(lambda t, where: None)  # None: where it was saved
    assert out["a"].device.type == device
    with pytest.raises(TypeError, match="map_location"):
        load(3.5)


# ---------------------------------------------------------------- PyTorch pickle checkpoints
@pytest.mark.parametrize("zipfile_format", [True, False])
def test_pytorch_checkpoint_gets_a_clear_message(tmp_path, zipfile_format):
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=zipfile_format)
    with pytest.raises(CheckpointError) as err:
        pe.load(path)
    text = str(err.value)
    assert str(path) in text and "this is a PyTorch pickle checkpoint; pyengine reads safetensors" in text.replace(
        " (torch.save's zip format)", "").replace(" (torch.save's legacy format)", "")
    assert "save_file" in text  # what to do
    buf = io.BytesIO()
    torch.save({"w": torch.ones(2)}, buf, _use_new_zipfile_serialization=zipfile_format)
    buf.seek(0)
    with pytest.raises(CheckpointError, match="PyTorch pickle checkpoint"):
        pe.load(buf)


def test_plain_pickle_and_zip_files_are_named_for_what_they_are(tmp_path):
    pickled = tmp_path / "obj.pkl"
    pickled.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(CheckpointError, match="a Python pickle"):
        pe.load(pickled)
    archive = tmp_path / "arrays.npz"
    np.savez(archive, a=np.ones(2))
    with pytest.raises(CheckpointError, match="zip archive"):
        pe.load(archive)


def test_safetensors_written_by_torch_loads():
    from safetensors.torch import save as st_save
    blob = st_save({"w": torch.arange(6.0).reshape(2, 3)})
    out = pe.load(io.BytesIO(blob))
    np.testing.assert_array_equal(out["w"].numpy(), np.arange(6.0).reshape(2, 3))


# ---------------------------------------------------------------- permissions
@pytest.mark.parametrize("umask,want", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_saved_file_mode_follows_the_umask(tmp_path, umask, want):
    old = os.umask(umask)
    try:
        path = tmp_path / "ckpt.pt"
        pe.save(_state(), path)
        with open(tmp_path / "plain", "wb"):
            pass
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == want == stat.S_IMODE(os.stat(tmp_path / "plain").st_mode)


def test_overwriting_keeps_the_existing_mode(tmp_path):
    path = tmp_path / "ckpt.pt"
    pe.save(_state(), path)
    os.chmod(path, 0o640)
    pe.save(_state(), path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]  # no temporary left behind
