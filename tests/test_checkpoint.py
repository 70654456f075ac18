"""Checkpoints: safetensors round trips, atomic writes, corrupt files, PyTorch interop."""
import os

import numpy as np
import pytest

import pyengine as pe

pytest.importorskip("safetensors")


def _state():
    return {
        "0.weight": pe.randn(4, 3),
        "0.bias": pe.zeros(4),
        "steps": pe.tensor([3], dtype=pe.int64),
        "mask": pe.tensor([True, False]),
        "scalar": pe.tensor(2.5),
    }


def test_roundtrip_flat_state_dict(tmp_path):
    path = str(tmp_path / "model.safetensors")
    state = _state()
    pe.save(state, path)
    back = pe.load(path)
    assert set(back) == set(state)
    for k in state:
        assert back[k].dtype == state[k].dtype and back[k].shape == state[k].shape
        np.testing.assert_array_equal(back[k].numpy(), state[k].numpy())


def test_roundtrip_nested_optimizer_like_state(tmp_path):
    path = str(tmp_path / "opt.safetensors")
    state = {"state": {0: {"step": 5, "exp_avg": pe.ones(3)}, 1: {"step": 5, "exp_avg": pe.full((2,), 2.0)}},
             "param_groups": [{"lr": 0.01, "betas": (0.9, 0.999), "params": [0, 1], "nesterov": False,
                               "foreach": None, "name": "w"}]}
    pe.save(state, path)
    back = pe.load(path)
    assert back["param_groups"] == state["param_groups"]
    assert back["state"][1]["step"] == 5
    np.testing.assert_array_equal(back["state"][1]["exp_avg"].numpy(), [2.0, 2.0])


def test_strided_tensor_is_saved_by_value(tmp_path):
    path = str(tmp_path / "t.safetensors")
    t = pe.arange(12, dtype=pe.float32).reshape(3, 4).T
    pe.save({"t": t}, path)
    np.testing.assert_array_equal(pe.load(path)["t"].numpy(), t.numpy())


def test_truncated_and_garbage_files_raise_clearly(tmp_path):
    path = str(tmp_path / "m.safetensors")
    pe.save(_state(), path)
    raw = open(path, "rb").read()
    open(path, "wb").write(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        pe.load(path)
    open(path, "wb").write(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="truncated or corrupt"):
        pe.load(path)


def test_failed_save_keeps_the_old_file(tmp_path):
    path = str(tmp_path / "m.safetensors")
    pe.save({"w": pe.ones(2)}, path)
    before = open(path, "rb").read()
    with pytest.raises(TypeError, match="cannot store a value of type object"):
        pe.save({"w": pe.zeros(2), "bad": object()}, path)
    assert open(path, "rb").read() == before
    assert [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")] == []


def test_pytorch_reads_our_tensors(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file
    path = str(tmp_path / "m.safetensors")
    state = _state()
    pe.save(state, path)
    loaded = load_file(path)
    assert set(loaded) == set(state)
    for k in state:
        np.testing.assert_array_equal(loaded[k].numpy(), state[k].numpy())
    assert loaded["0.weight"].dtype == torch.float32
