"""Checkpoints under damage and faults: every damaged file is either read back exactly or refused
with a CheckpointError naming the file (fuzzed with hypothesis); malformed state dicts are refused
by load_state_dict with a message saying where; saves keep file modes and leave no temporaries
(not on an exception, and a killed writer's is removed by the next save)."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import pyengine as pe
from pyengine.io import CheckpointError
from pyengine.io import atomic
from _child_python import popen_python

pytest.importorskip("safetensors")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402



def _state():
    """A small state dict with every kind of value the format stores."""
    return {
        "model": {"0.weight": pe.arange(6, dtype=pe.float32).reshape(2, 3), "0.bias": pe.tensor([0.5, -1.5]),
                  "steps": pe.tensor([3, 2**40], dtype=pe.int64), "mask": pe.tensor([True, False, True]),
                  "scale": pe.tensor(2.5, dtype=pe.float64)},
        "optimizer": {"state": {0: {"step": 5.0, "exp_avg": pe.full((2, 3), 0.25)}},
                      "param_groups": [{"lr": 0.01, "betas": (0.9, 0.999), "params": [0], "name": "w",
                                        "foreach": None, "nesterov": False}]},
        "epoch": 7,
    }


def _same(a, b):
    """Equal values of equal types all the way down (tuples are not lists, tensors keep dtype/shape)."""
    if isinstance(a, pe.Tensor):
        return (isinstance(b, pe.Tensor) and a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape)
                and np.array_equal(a.numpy(), b.numpy()))
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return (list(a) == list(b) and all(type(k) is type(k2) for k, k2 in zip(a, b))
                and all(_same(a[k], b[k]) for k in a))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _header(raw):
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def _with_header(header, body):
    data = json.dumps(header).encode()
    return len(data).to_bytes(8, "little") + data + body


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("ckpt") / "good.safetensors")
    pe.save(_state(), path)
    with open(path, "rb") as f:
        return f.read()


def _load_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return pe.load(path)


def _exactly_or_refused(path, data, expected):
    """The property: the file loads as `expected`, or load raises CheckpointError naming it."""
    try:
        back = _load_bytes(path, data)
    except CheckpointError as e:
        assert path in str(e), str(e)
        return "refused"
    assert _same(back, expected), back
    return "same"


# ---------------------------------------------------------------------------------------------
# Fuzzing: damaged copies of a valid checkpoint
# ---------------------------------------------------------------------------------------------

def _mutations(size):
    truncate = st.integers(0, size - 1).map(lambda n: ("truncate", n))
    flip = st.integers(0, 8 * size - 1).map(lambda bit: ("flip", bit))
    overwrite = st.tuples(st.integers(0, size - 1), st.binary(min_size=1, max_size=16)).map(
        lambda t: ("overwrite",) + t)
    insert = st.tuples(st.integers(0, size), st.binary(min_size=1, max_size=16)).map(lambda t: ("insert",) + t)
    length = st.integers(0, 2**64 - 1).map(lambda n: ("length", n))
    return st.one_of(truncate, flip, overwrite, insert, length)


def _apply(raw, mutation):
    kind = mutation[0]
    if kind == "truncate":
        return raw[:mutation[1]]
    if kind == "flip":
        byte, bit = divmod(mutation[1], 8)
        return raw[:byte] + bytes([raw[byte] ^ (1 << bit)]) + raw[byte + 1:]
    if kind == "overwrite":
        _, at, new = mutation
        return raw[:at] + new + raw[at + len(new):]
    if kind == "insert":
        _, at, new = mutation
        return raw[:at] + new + raw[at:]
    return mutation[1].to_bytes(8, "little") + raw[8:]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_bytes_load_exactly_or_raise_a_checkpoint_error(saved, tmp_path, data):
    mutation = data.draw(_mutations(len(saved)))
    damaged = _apply(saved, mutation)
    _exactly_or_refused(str(tmp_path / "fuzz.safetensors"), damaged, _state())


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
                     | st.text(max_size=8),
                     lambda inner: (st.lists(inner, max_size=3)
                                    | st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                     max_leaves=6)


def _paths(node, prefix=()):
    """Every (path, value) inside a JSON value, the root included."""
    yield prefix, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _replaced(node, path, value):
    if not path:
        return value
    out = dict(node) if isinstance(node, dict) else list(node)
    out[path[0]] = value if len(path) == 1 else _replaced(node[path[0]], path[1:], value)
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), keep_checksum=st.booleans())
def test_header_and_tree_edits_load_exactly_or_raise_a_checkpoint_error(saved, tmp_path, data, keep_checksum):
    """Edits of the JSON itself (a consistent length field): a tensor's dtype, shape or offsets, the
    metadata, or any value of the tree. With the checksum the result is exact or refused; without
    (files of older versions) a changed tree may load as changed, but never as another error."""
    header, body = _header(saved)
    if not keep_checksum:
        del header["__metadata__"]["pyengine.crc32"]
    tree = json.loads(header["__metadata__"]["pyengine.tree"])
    in_tree = data.draw(st.booleans())
    target = tree if in_tree else header
    path, _ = data.draw(st.sampled_from(list(_paths(target))))
    edited = _replaced(target, path, data.draw(_JSON))
    if in_tree:
        header["__metadata__"]["pyengine.tree"] = json.dumps(edited)
    else:
        header = edited
    damaged = _with_header(header, body)
    path_ = str(tmp_path / "edit.safetensors")
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    if isinstance(header, dict) and not (isinstance(metadata, dict) and set(metadata) & {"pyengine.tree",
                                                                                          "pyengine.crc32"}):
        # No pyengine metadata left: by design, a plain safetensors file (a flat dict of its tensors).
        # Only an edit that removes the whole entry does this; no byte-level damage can (see above).
        try:
            back = _load_bytes(path_, damaged)
        except CheckpointError as e:
            assert path_ in str(e)
        else:
            assert set(back) == {k for k in header if k != "__metadata__"}
    elif keep_checksum:
        _exactly_or_refused(path_, damaged, _state())
    else:
        try:
            _load_bytes(path_, damaged)
        except CheckpointError as e:
            assert path_ in str(e)


# ---------------------------------------------------------------------------------------------
# Each kind of bad file, with the message it gets
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data, message", [
    (b"", "the file is empty"),
    (b"\x05\x00\x00", "3 bytes, fewer than the 8-byte header length"),
    (b"PK\x03\x04 this is a zip file, not a checkpoint", "the header length field says"),
    ((2**63).to_bytes(8, "little") + b"{}", "the header length field says 9223372036854775808 bytes, but only 2"),
    ((4).to_bytes(8, "little") + b"{x:1", "the header is not valid JSON"),
    ((2).to_bytes(8, "little") + b"[]", "the header is a JSON list, not an object"),
])
def test_not_a_checkpoint_names_the_file_and_the_fault(tmp_path, data, message):
    path = str(tmp_path / "bad.safetensors")
    with pytest.raises(CheckpointError, match="truncated or corrupt") as info:
        _load_bytes(path, data)
    assert path in str(info.value) and message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_a_lying_header_is_refused_without_allocating_what_it_claims(tmp_path):
    # 2**40 float32 elements claimed, 4 bytes present: safetensors' extent check refuses it
    header = {"w": {"dtype": "F32", "shape": [2**40], "data_offsets": [0, 4]}}
    with pytest.raises(CheckpointError, match="invalid shape, data type, or offset"):
        _load_bytes(str(tmp_path / "lie.safetensors"), _with_header(header, b"\0" * 4))
    header = {"w": {"dtype": "F32", "shape": [2**62, 2**62], "data_offsets": [0, 4]}}
    with pytest.raises(CheckpointError, match="overflow"):
        _load_bytes(str(tmp_path / "lie.safetensors"), _with_header(header, b"\0" * 4))


def test_tree_faults_name_where_in_the_tree(saved, tmp_path):
    path = str(tmp_path / "tree.safetensors")
    header, body = _header(saved)
    del header["__metadata__"]["pyengine.crc32"]  # as in files of older versions: the tree's own checks
    tree = json.loads(header["__metadata__"]["pyengine.tree"])
    cases = [
        (["model", "0.bias", "__tensor__"], "nope", "at model.0.bias: the tensor 'nope' is not in the file"),
        (["model", "0.bias", "__tensor__"], "model.0.weight", "the tensor 'model.0.weight' is referenced twice"),
        (["model", "0.bias", "device"], 3, "invalid device 3"),
        (["model", "0.bias", "device"], "tpu:9", "invalid device 'tpu:9'"),
        (["optimizer", "param_groups", 0, "betas", "__tuple__"], 0.9, "a tuple must be"),
        (["optimizer", "state"], {"__int__x": 1}, "the key '__int__x' is not __int__ followed by an integer"),
    ]
    for where, value, message in cases:
        edited = _replaced(tree, tuple(where), value)
        header["__metadata__"]["pyengine.tree"] = json.dumps(edited)
        with pytest.raises(CheckpointError, match="truncated or corrupt") as info:
            _load_bytes(path, _with_header(header, body))
        assert path in str(info.value) and message in str(info.value), str(info.value)
    header["__metadata__"]["pyengine.tree"] = "[" * 100_000 + "]" * 100_000
    with pytest.raises(CheckpointError, match="pyengine.tree is not valid JSON"):
        _load_bytes(path, _with_header(header, body))
    header["__metadata__"]["pyengine.tree"] = json.dumps(tree)
    assert _same(_load_bytes(path, _with_header(header, body)), _state())  # older files still load


def test_changed_data_is_caught_by_the_checksum(saved, tmp_path):
    header, body = _header(saved)
    # same dtype size, same extent: only the checksum can tell F64 from I64
    name = next(k for k, v in header.items() if k != "__metadata__" and v["dtype"] == "F64")
    header[name]["dtype"] = "I64"
    with pytest.raises(CheckpointError, match="does not match its checksum"):
        _load_bytes(str(tmp_path / "c.safetensors"), _with_header(header, body))
    header, _ = _header(saved)
    changed = bytearray(body)
    changed[-1] ^= 0x40
    with pytest.raises(CheckpointError, match="does not match its checksum"):
        _load_bytes(str(tmp_path / "c.safetensors"), _with_header(header, bytes(changed)))
    header["__metadata__"]["pyengine.crc33"] = header["__metadata__"].pop("pyengine.crc32")  # a hit key name
    with pytest.raises(CheckpointError, match=r"unexpected keys \['pyengine.crc33'\] beside pyengine's"):
        _load_bytes(str(tmp_path / "c.safetensors"), _with_header(header, bytes(changed)))
    header, _ = _header(saved)
    header["__metadata__"].pop("pyengine.tree")
    with pytest.raises(CheckpointError, match="has pyengine.crc32 but no pyengine.tree"):
        _load_bytes(str(tmp_path / "c.safetensors"), _with_header(header, body))


def test_a_folder_is_refused_as_torch_does_and_as_a_checkpoint_error(tmp_path):
    torch = pytest.importorskip("torch")
    with pytest.raises(IsADirectoryError):
        torch.load(str(tmp_path))
    with pytest.raises(IsADirectoryError) as info:
        pe.load(str(tmp_path))
    assert isinstance(info.value, CheckpointError) and str(tmp_path) in str(info.value)
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        pe.load(str(tmp_path / "missing.safetensors"))


def test_foreign_files_with_dtypes_pyengine_lacks_are_refused_by_name(tmp_path):
    from safetensors.numpy import save_file
    path = str(tmp_path / "u16.safetensors")
    save_file({"w": np.zeros(3, np.uint16), "ok": np.ones(2, np.float32)}, path)
    with pytest.raises(CheckpointError, match=r"the tensor 'w' has dtype 'U16'; pyengine loads F32, F64, F16, BF16, "
                                              r"I64, I32, I16, I8, U8, BOOL"):
        pe.load(path)
    save_file({"ok": np.ones(2, np.float32)}, path)  # a plain safetensors file: a flat dict of tensors
    assert pe.load(path)["ok"].tolist() == [1.0, 1.0]


def test_save_refuses_keys_the_format_could_not_read_back(tmp_path):
    path = str(tmp_path / "k.safetensors")
    for key in ("__tuple__", "__tensor__", "__int__3"):
        with pytest.raises(ValueError, match=f"the dict key '{key}' is reserved"):
            pe.save({key: 1}, path)
    with pytest.raises(TypeError, match=r"dict keys must be str or int, got bool \(True\)"):
        pe.save({True: 1}, path)
    pe.save({5: 1, -2: (None, "x"), "__in": [1.5]}, path)
    assert _same(pe.load(path), {5: 1, -2: (None, "x"), "__in": [1.5]})
    assert not os.path.exists(path + ".tmp") and os.listdir(tmp_path) == ["k.safetensors"]


# ---------------------------------------------------------------------------------------------
# load_state_dict with malformed state dicts
# ---------------------------------------------------------------------------------------------

def test_module_load_state_dict_names_the_bad_entry():
    model = pe.nn.Linear(2, 3)
    before = model.weight.detach().numpy().copy()
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like, got <class 'list'>"):
        model.load_state_dict([model.weight])
    for bad in ("abc", None, {"a": 1}, [[1.0], [1.0, 2.0]]):
        with pytest.raises(RuntimeError, match='While copying the parameter named "weight"'):
            model.load_state_dict({"weight": bad, "bias": pe.zeros(3)})
    np.testing.assert_array_equal(model.weight.detach().numpy(), before)  # nothing changed
    model.load_state_dict({"weight": np.ones((3, 2), np.float32), "bias": [0.0, 1.0, 2.0]})  # tensor-likes still load
    assert model.bias.tolist() == [0.0, 1.0, 2.0]


def _adam_state():
    p = pe.zeros(2, requires_grad=True)
    opt = pe.optim.Adam([p], lr=0.1)
    p.grad = pe.ones(2)
    opt.step()
    return opt.state_dict()


@pytest.mark.parametrize("mutate, error, message", [
    (lambda s: [s], TypeError, "optimizer state dict must be a dict with 'state' and 'param_groups', got list"),
    (lambda s: {"state": s["state"]}, ValueError, "optimizer state dict has no 'param_groups' entry"),
    (lambda s: {"param_groups": s["param_groups"]}, ValueError, "has no 'state' entry"),
    (lambda s: {**s, "param_groups": 5}, TypeError, "'param_groups' must be a list of dicts, got 5"),
    (lambda s: {**s, "param_groups": [5]}, TypeError, "'param_groups' must be a list of dicts"),
    (lambda s: {**s, "param_groups": [{"lr": 0.1}]}, ValueError, r"param_groups\[0\] has no 'params' entry"),
    (lambda s: {**s, "param_groups": [{**s["param_groups"][0], "params": 3}]}, TypeError,
     r"param_groups\[0\]\['params'\] must be a list of parameter ids, got 3"),
    (lambda s: {**s, "param_groups": [{**s["param_groups"][0], "lr": "fast"}]}, TypeError,
     r"param_groups\[0\]\['lr'\] must be a number, got 'fast'"),
    (lambda s: {**s, "param_groups": [{**s["param_groups"][0], "lr": None}]}, TypeError,
     r"param_groups\[0\]\['lr'\] must be a number, got None"),
    (lambda s: {**s, "param_groups": [{**s["param_groups"][0], "betas": [0.9]}]}, TypeError,
     r"param_groups\[0\]\['betas'\] must be 2 numbers"),
    (lambda s: {**s, "state": [1]}, TypeError, "'state' must be a dict of per-parameter dicts"),
    (lambda s: {**s, "state": {0: 5}}, TypeError, "'state' must be a dict of per-parameter dicts"),
    (lambda s: {**s, "state": {0: {**s["state"][0], "step": "x"}}}, ValueError,
     "has step 'x' for parameter 0; expected a number"),
    (lambda s: {**s, "state": {0: {**s["state"][0], "exp_avg": {"a": 1}}}}, TypeError,
     "state 'exp_avg' for parameter 0 that is not a tensor or array of numbers"),
])
def test_optimizer_load_state_dict_names_the_malformed_part(mutate, error, message):
    saved = _adam_state()
    p = pe.zeros(2, requires_grad=True)
    opt = pe.optim.Adam([p], lr=0.1)
    with pytest.raises(error, match=message):
        opt.load_state_dict(mutate(saved))
    assert len(opt.state) == 0 and opt.param_groups[0]["lr"] == 0.1  # nothing changed
    opt.load_state_dict(saved)
    assert opt.state[p]["step"] == 1.0


# ---------------------------------------------------------------------------------------------
# Files: modes, temporaries, killed writers
# ---------------------------------------------------------------------------------------------

def _mode(path):
    return os.stat(path).st_mode & 0o777


def test_new_file_gets_the_umask_default_and_an_existing_file_keeps_its_mode(tmp_path):
    path = str(tmp_path / "m.safetensors")
    old = os.umask(0o027)
    try:
        pe.save({"w": pe.ones(2)}, path)
    finally:
        os.umask(old)
    assert _mode(path) == 0o640  # 0666 & ~027, as open() gives
    for mode in (0o644, 0o600, 0o664):
        os.chmod(path, mode)
        pe.save({"w": pe.zeros(2)}, path)
        assert _mode(path) == mode


def test_save_into_a_missing_folder_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="the folder .*no-such-folder does not exist"):
        pe.save({"w": pe.ones(2)}, str(tmp_path / "no-such-folder" / "m.safetensors"))


def test_save_through_a_symlink_replaces_its_target(tmp_path):
    target = tmp_path / "real.safetensors"
    pe.save({"w": pe.ones(2)}, str(target))
    link = tmp_path / "link.safetensors"
    link.symlink_to(target)
    pe.save({"w": pe.zeros(2)}, str(link))
    assert link.is_symlink() and pe.load(str(target))["w"].tolist() == [0.0, 0.0]


def _temporaries(folder):
    return sorted(f for f in os.listdir(folder) if f.startswith(".tmp-"))


@pytest.mark.parametrize("failing", ["fsync", "replace", "write"])
def test_a_save_that_fails_mid_write_leaves_no_temporary_and_the_old_file(tmp_path, monkeypatch, failing):
    path = str(tmp_path / "m.safetensors")
    pe.save({"w": pe.ones(2)}, path)
    before = open(path, "rb").read()

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")
    if failing == "write":
        monkeypatch.setattr(os, "fdopen", lambda fd, mode: _FailingFile(fd))
    else:
        monkeypatch.setattr(os, failing, fail)
    with pytest.raises(OSError, match="No space left"):
        pe.save({"w": pe.zeros(2)}, path)
    monkeypatch.undo()
    assert _temporaries(tmp_path) == []
    assert open(path, "rb").read() == before


class _FailingFile:
    """A file object whose write fails after writing part of the data (a full disk)."""

    def __init__(self, fd):
        self.f = open(fd, "wb", closefd=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def write(self, data):
        self.f.write(data[: len(data) // 2])
        self.f.flush()
        raise OSError(28, "No space left on device")

    def fileno(self):
        return self.f.fileno()

    def flush(self):
        self.f.flush()


def _dead_pid():
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                           check=True)
    return int(child.stdout)


def _fake_temporary(folder, name, age_seconds=0):
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.write(b"\0" * 1000)
    if age_seconds:
        t = time.time() - age_seconds
        os.utime(path, (t, t))
    return name


def test_next_save_removes_only_stale_temporaries_of_our_naming(tmp_path):
    folder = str(tmp_path)
    other_machine = atomic.temp_name(pid=1).replace(atomic._machine(), "otherhost_1")
    day = atomic.STALE_AFTER_SECONDS
    stale = [_fake_temporary(folder, atomic.temp_name(pid=_dead_pid())),  # its writer is gone
             _fake_temporary(folder, other_machine.replace("-1-", "-2-"), age_seconds=day + 60),  # too old
             _fake_temporary(folder, atomic.temp_name(pid=os.getppid()), age_seconds=day + 60)]
    kept = [_fake_temporary(folder, atomic.temp_name()),  # another thread of this process, writing now
            _fake_temporary(folder, atomic.temp_name(pid=os.getppid())),  # a live process
            _fake_temporary(folder, other_machine),  # another machine's: its PIDs mean nothing here
            _fake_temporary(folder, ".tmp-abcd1234.safetensors", age_seconds=10 * day),  # not our naming
            _fake_temporary(folder, ".tmp-pyengine-notes.txt", age_seconds=10 * day),
            _fake_temporary(folder, "model.safetensors.tmp", age_seconds=10 * day)]
    pe.save({"w": pe.ones(2)}, os.path.join(folder, "m.safetensors"))
    left = set(os.listdir(folder))
    assert left.isdisjoint(stale)
    assert set(kept) | {"m.safetensors"} == left


_WRITER = """
import os, sys, time
import pyengine as pe
def hang(fd):  # the data is written; block where a slow disk would, until killed
    print("writing", flush=True)
    time.sleep(120)
os.fsync = hang
pe.save({"w": pe.zeros(1 << 20)}, sys.argv[1])
"""


def test_a_killed_writers_temporary_is_removed_by_the_next_save_but_not_while_it_lives(tmp_path):
    path = str(tmp_path / "big.safetensors")
    pe.save({"w": pe.ones(4)}, path)
    writer = popen_python(["-c", _WRITER, path], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "writing"
        [temp] = _temporaries(tmp_path)
        assert os.path.getsize(tmp_path / temp) > 4 << 20  # the whole checkpoint, not yet renamed
        assert f"-{writer.pid}-" in temp
        pe.save({"w": pe.ones(4)}, str(tmp_path / "other.safetensors"))  # the writer is alive: its file stays
        assert _temporaries(tmp_path) == [temp]
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    assert _temporaries(tmp_path) == [temp]  # a killed writer cannot clean up
    assert pe.load(path)["w"].tolist() == [1.0] * 4  # ... but the checkpoint it replaced is intact
    pe.save({"w": pe.ones(4)}, str(tmp_path / "other.safetensors"))
    assert _temporaries(tmp_path) == []
