"""The MLP and CNN examples launched with `mpiexec -n 2`: they train data-parallel, rank 0 alone
prints, and the per-rank and total throughput are reported."""
import os
import re

import pytest

from mpi_launch import launch_python
from test_examples import FASHION_MNIST_ROOT


def _check_two_rank_run(rc, out, plot):
    assert rc == 0, out[-3000:]
    assert "2 processes (MPI), data-parallel" in out
    assert out.count("Total params") == 1 or "Total params" not in out  # only rank 0 prints
    m = re.search(r"training throughput: rank 0 ([\d,]+), rank 1 ([\d,]+) images/s; total ([\d,]+) images/s "
                  r"over 2 processes", out)
    assert m, out[-3000:]
    per_rank = [int(m.group(i).replace(",", "")) for i in (1, 2)]
    assert min(per_rank) > 0 and abs(int(m.group(3).replace(",", "")) - sum(per_rank)) <= 1
    assert os.path.exists(plot)


@pytest.mark.skipif(not os.path.isdir(FASHION_MNIST_ROOT), reason="dataset-fashion-mnist not installed")
def test_cnn_example_on_two_ranks(tmp_path):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "cnn.png"
    rc, out, _ = launch_python(2, ["-m", "pyengine.examples.cnn", "--epochs", "1", "--train-size", "2000", "--width",
                                   "4", "--convs", "1", "--plot", str(plot)], timeout=300, cwd=tmp_path)
    _check_two_rank_run(rc, out, plot)
    acc = float(re.search(r"test accuracy (\d\.\d+)", out).group(1))
    assert acc > 0.5  # one epoch on 2,000 images already learns (10 classes: chance is 0.1)


@pytest.mark.skipif(not os.path.isdir(FASHION_MNIST_ROOT), reason="dataset-fashion-mnist not installed")
def test_mlp_example_on_two_ranks(tmp_path):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "mlp.png"
    rc, out, _ = launch_python(2, ["-m", "pyengine.examples.mlp", "--epochs", "1", "--models", "logreg",
                                   "--plot", str(plot)], timeout=300, cwd=tmp_path)
    _check_two_rank_run(rc, out, plot)
    acc = float(re.search(r"logreg\s+[\d,]+\s+\d+\s+\d+\s+[\d.]+\s+(\d\.\d+)", out).group(1))
    assert acc > 0.75  # logistic regression, one epoch over the full training set


def test_each_rank_picks_its_backend_and_gpu(monkeypatch):
    """MPI for CPU models and the emulated GPU; NCCL for real GPUs when it is installed; on a
    machine with several GPUs rank r of the node takes cuda:<r>."""
    import pyengine as pe
    from pyengine.examples import _distributed
    cpu, cuda = pe.device("cpu"), pe.device("cuda")
    assert _distributed.backend_for_device(cpu) == "mpi"
    monkeypatch.setattr(pe.distributed, "is_nccl_available", lambda: True)
    monkeypatch.setattr(pe.cuda, "is_emulated", lambda: False)
    assert _distributed.backend_for_device(cuda) == "nccl" and _distributed.backend_for_device(cpu) == "mpi"
    monkeypatch.setattr(pe.cuda, "is_emulated", lambda: True)
    assert _distributed.backend_for_device(cuda) == "mpi"
    run = _distributed.DataParallelRun()  # not launched: a world of one keeps the device as given
    assert run.world == 1 and run.device(cuda) is cuda
    run.world, run.rank = 4, 3
    monkeypatch.setattr(pe.cuda, "device_count", lambda: 2)
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert run.device(cuda) == pe.device("cuda:1") and run.device(cpu) is cpu
