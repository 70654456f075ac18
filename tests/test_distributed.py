"""pyengine.distributed: the collectives on 2 and 3 MPI ranks against their mathematical results
(tests/mpi_workers/collectives.py does the checking on every rank), the API outside a process
group, and faults: a rank that raises, dies or hangs stops the job with a clear message within
a bound, never a silent hang."""
import datetime

import pytest

import pyengine as pe
import pyengine.distributed as dist
from _child_python import run_python
from mpi_launch import launch, run_ranks

CORE = ("all_reduce SUM", "all_reduce MAX", "all_reduce MIN", "all_reduce AVG", "broadcast src=0", "all_gather",
        "all_gather_into_tensor", "reduce_scatter_tensor", "scatter", "reduce", "batch_isend_irecv",
        "all_to_all_single")


def assert_every_collective_checked(names, rank, world, device):
    """The worker checked every core call for every dtype, size and layout (names: its checks)."""
    for dtype in ("float32", "float64", "int64"):
        for n in (0, 1, 5, 2 * 1024 * 1024 + 3):
            for strided in (False, True):
                tag = f"{dtype} n={n} strided={strided} {device}"
                for call in CORE:
                    if call == "all_reduce AVG" and dtype == "int64":
                        continue
                    assert f"{call} {tag}" in names, (rank, call, tag)
                assert (f"gather {tag}" in names) == (rank == world - 1)
                assert (f"send/recv {tag}" in names) == (device == "cpu")
                assert (f"all_to_all {tag}" in names) == (n <= 5)


@pytest.mark.parametrize("world", [2, 3])
def test_every_collective_matches_the_math(tmp_path, world):
    reports = run_ranks(world, "collectives.py", tmp_path)
    for rank, report in enumerate(reports):
        names = set(report["names"])
        assert report["checks"] == len(report["names"]) > 300
        assert_every_collective_checked(names, rank, world, "cpu")
        for name in ("version bumped", "all_gather_object", "broadcast_object_list", "all_reduce float16",
                     "all_reduce bfloat16", "all_reduce bool SUM", "all_reduce BOR",
                     "all_reduce in place, same storage", "async results", "shape mismatch detected",
                     "different collectives detected", "dtype mismatch detected",
                     "usable after errors", "P2POp op", "empty batch", "all_to_all_single splits", "all_to_all list",
                     "all_to_all_single uneven strided=False", "all_to_all_single uneven strided=True",
                     "second init", "destroyed", "world_size must match the launcher's",
                     "torchrun's WORLD_SIZE must match", "gloo is mpi", "re-initialized"):
            assert name in names, (rank, name)
        assert ("recv mismatch" in names) == (rank in (0, 1))
        assert "all_to_all sizes disagree" in names
        assert {"gather_list off the root", "scatter_list off the root"} <= names


def test_one_process_world(tmp_path):
    """Started without mpiexec's ranks (one process), the same calls work: a world of one."""
    reports = run_ranks(1, "collectives.py", tmp_path)
    assert reports[0]["checks"] > 300


# ------------------------------------------------------------------ without a process group
def test_calls_before_init_raise_pytorchs_error():
    assert dist.is_available() and not dist.is_initialized()
    for call in (dist.get_rank, dist.get_world_size, dist.barrier, lambda: dist.all_reduce(pe.ones(2))):
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            call()


def test_init_process_group_argument_errors():
    with pytest.raises(ValueError, match="unknown backend 'tcp'.*'gloo' is taken as 'mpi'"):
        dist.init_process_group("tcp")
    with pytest.raises(ValueError, match="init_method 'tcp://x:1' is not supported"):
        dist.init_process_group("mpi", init_method="tcp://x:1")
    with pytest.raises(ValueError, match="timeout must be a positive"):
        dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=-1))
    assert not dist.is_initialized()


def test_without_mpi4py_the_error_says_what_to_install():
    code = ("import sys; sys.modules['mpi4py'] = None\n"
            "import pyengine.distributed as dist\n"
            "try:\n    dist.init_process_group('mpi')\nexcept ImportError as e:\n    print('ImportError:', e)\n"
            "print('initialized:', dist.is_initialized())")
    out = run_python(["-c", code], capture_output=True, text=True, timeout=60).stdout
    assert "ImportError: pyengine.distributed's 'mpi' backend needs mpi4py" in out
    assert 'pip install "pyengine[distributed]"' in out and "initialized: False" in out


def test_reduce_op_names():
    assert [op.name for op in dist.ReduceOp] == ["SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"]
    assert issubclass(dist.DistBackendError, dist.DistError) and issubclass(dist.DistError, RuntimeError)


def test_sampler_takes_rank_and_world_from_the_group(tmp_path):
    """DistributedSampler's defaults come from the initialized group (checked on 2 ranks)."""
    reports = run_ranks(2, "sampler_defaults.py", tmp_path)
    assert [r["rank"] for r in reports] == [0, 1]
    assert [r["indices"] for r in reports] == [[0, 2, 4], [1, 3, 0]]
    assert [r["local_rank"] for r in reports] == [0, 1]  # one machine: local rank = rank


def test_node_local_rank_from_the_environment(monkeypatch):
    for var in ("LOCAL_RANK", "MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(RuntimeError, match="pass fallback_rank"):
        dist.get_node_local_rank()
    assert dist.get_node_local_rank(fallback_rank=3) == 3
    monkeypatch.setenv("OMPI_COMM_WORLD_LOCAL_RANK", "2")
    assert dist.get_node_local_rank() == 2
    monkeypatch.setenv("LOCAL_RANK", "1")  # PyTorch's variable first
    assert dist.get_node_local_rank(fallback_rank=3) == 1


# ------------------------------------------------------------------ faults
@pytest.mark.parametrize("world", [2, 3])
def test_a_rank_that_raises_stops_every_rank(world):
    rc, out, seconds = launch(world, "faults.py", "-", "raise", timeout=60)
    assert rc != 0 and seconds < 30, (rc, seconds, out)
    assert "ValueError: rank 1 is broken on purpose" in out
    assert f"rank 1 failed; aborting all {world} ranks" in out
    assert "finished" not in out


def test_a_rank_that_dies_stops_every_rank():
    rc, out, seconds = launch(3, "faults.py", "-", "exit", timeout=60)
    assert rc != 0 and seconds < 30, (rc, seconds, out)
    assert "finished" not in out


def test_a_rank_that_hangs_makes_the_others_time_out():
    rc, out, seconds = launch(3, "faults.py", "-", "hang", timeout=90)
    assert rc != 0 and seconds < 60, (rc, seconds, out)  # the ranks' timeout is 3 s; the hung rank sleeps 120 s
    assert "DistBackendError" in out and "timed out after 3 s" in out
    assert "finished" not in out


def test_ranks_with_different_models_are_refused_by_ddp():
    rc, out, seconds = launch(3, "faults.py", "-", "ddp_models", timeout=60)
    assert rc != 0 and seconds < 30, (rc, seconds, out)
    assert "DistributedDataParallel: the ranks' models differ" in out
    assert "rank 0: 2 tensors, 15 elements" in out and "rank 2: 2 tensors, 25 elements" in out


def test_rank0_first_and_rank0_checkpoints(tmp_path):
    reports = run_ranks(3, "rank0.py", tmp_path)
    for r in reports:
        assert r["saw_marker"], r  # every rank's body ran after rank 0's
        assert r["keys"] == ["module.bias", "module.weight"] and r["same"] and not r["existed_before"], r


# ------------------------------------------------------------------ sub-groups
@pytest.mark.parametrize("world", [3, 4])
def test_sub_groups(tmp_path, world):
    names = ("non-member sentinel", "rank queries", "all_reduce in group", "non-member warned", "overlapping groups",
             "world after groups", "new_subgroups_by_enumeration", "subgroup all_reduce", "bad ranks",
             "repeated ranks", "local synchronization", "new_group disagreement", "other groups after destroy",
             "all destroyed")
    member_names = ("group ranks", "group rank errors", "backend", "broadcast global src", "broadcast group_src",
                    "all_gather in group", "all_gather_into_tensor in group", "reduce_scatter_tensor in group",
                    "gather in group", "scatter in group", "reduce in group",
                    "batch_isend_irecv in group (global peers)",
                    "all_gather_object in group", "broadcast_object_list in group", "barrier in group",
                    "root outside the group", "both roots", "destroyed group refused", "DDP over a sub-group")
    for rank, report in enumerate(run_ranks(world, "groups.py", tmp_path, timeout=300)):
        got = set(report["names"])
        assert set(names) <= got, (rank, set(names) - got)
        member = rank in (0, world - 1)
        assert (set(member_names) <= got) == member and ("non-member gets None" in got) != member, rank
        assert ("DDP refuses a non-member" in got) != member
        assert ("recv returns the global rank" in got) == (rank == world - 1)
        assert ("new_subgroups" in got) == (world % 2 == 0)
