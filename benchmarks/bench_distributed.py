"""Data-parallel training on this machine: pyengine.distributed over MPI against PyTorch's
torch.distributed (gloo), both with 2 local processes.

    python benchmarks/bench_distributed.py [--rounds 3] [--steps 20] [--skip-training]

1. All-reduce (sum, float32) by message size on 2 ranks: pyengine's dist.all_reduce, the raw
   mpi4py Allreduce on NumPy arrays it runs on (the MPI floor: the difference is pyengine's Python
   and its rank-agreement check), and torch.distributed's gloo all_reduce. Reported as bus
   bandwidth, 2 (N-1)/N x bytes / time (the data each rank must send and receive in a ring
   all-reduce), next to one core's memory-copy bandwidth (np.copyto) at that size: two local ranks
   exchange through shared memory, so a copy is the ceiling.
2. Training throughput (images/s, synthetic data) of the Fashion-MNIST MLP (784-256-128-10) and
   CNN (the examples' network), global batch 128: 1 process x 2 threads against 2 processes x 1
   thread (DistributedDataParallel, 64 images per rank), pyengine and PyTorch.

Each configuration runs in fresh processes, the configurations taking turns for --rounds rounds
(the machine is shared); the table shows medians. Launches pyengine's ranks with the mpiexec next
to this Python (pip install ".[distributed]") or on PATH.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = [4 << 10, 64 << 10, 1 << 20, 8 << 20, 64 << 20]  # bytes
GLOBAL_BATCH = 128


def loops_for(nbytes):
    return max(5, min(300, (64 << 20) // nbytes))


def emit(payload):
    print("RESULT " + json.dumps(payload), flush=True)


# ------------------------------------------------------------------ all-reduce jobs
def time_calls(call, barrier, n_loops, reps=5):
    """Median seconds per call over reps samples of n_loops calls (each sample between barriers)."""
    call()
    samples = []
    for _ in range(reps):
        barrier()
        t0 = time.perf_counter()
        for _ in range(n_loops):
            call()
        barrier()
        samples.append((time.perf_counter() - t0) / n_loops)
    return statistics.median(samples)


def job_pe_allreduce():
    import pyengine as pe
    import pyengine.distributed as dist
    from mpi4py import MPI
    pe.set_num_threads(1)
    dist.init_process_group("mpi")
    comm = MPI.COMM_WORLD
    out = {"pe": {}, "mpi4py": {}}
    for nbytes in SIZES:
        t = pe.ones(nbytes // 4)
        a = np.ones(nbytes // 4, dtype=np.float32)
        out["pe"][nbytes] = time_calls(lambda: dist.all_reduce(t), dist.barrier, loops_for(nbytes))
        out["mpi4py"][nbytes] = time_calls(lambda: comm.Allreduce(MPI.IN_PLACE, a), comm.Barrier, loops_for(nbytes))
    if dist.get_rank() == 0:
        emit(out)
    dist.destroy_process_group()


def _torch_allreduce_rank(rank, world, init_file, queue):
    import torch
    import torch.distributed as tdist
    torch.set_num_threads(1)
    tdist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    times = {}
    for nbytes in SIZES:
        t = torch.ones(nbytes // 4)
        times[nbytes] = time_calls(lambda: tdist.all_reduce(t), tdist.barrier, loops_for(nbytes))
    if rank == 0:
        queue.put(times)
    tdist.barrier()
    tdist.destroy_process_group()


def job_torch_allreduce():
    emit({"torch": _torch_spawn(_torch_allreduce_rank)})


def _torch_spawn(fn, *args):
    import torch.multiprocessing as mp
    ctx = mp.get_context("spawn")
    queue = ctx.SimpleQueue()
    with tempfile.TemporaryDirectory() as d:
        mp.spawn(fn, args=(2, os.path.join(d, "init"), queue, *args), nprocs=2, join=True)
    return queue.get()


def memcpy_times():
    out = {}
    for nbytes in SIZES:
        src = np.ones(nbytes // 4, dtype=np.float32)
        dst = np.empty_like(src)
        out[nbytes] = time_calls(lambda: np.copyto(dst, src), lambda: None, loops_for(nbytes))
    return out


# ------------------------------------------------------------------ training jobs
def build(lib, kind):
    nn = lib.nn
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                             nn.Linear(128, 10))

    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)]
    return nn.Sequential(*block(1, 32), *block(32, 64), nn.Flatten(), nn.Dropout(0.2), nn.Linear(64 * 7 * 7, 128),
                         nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))


def train_rate(lib, model, per_rank, steps):
    """Images per second of this process's training steps (after 3 warm-up steps)."""
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    g = np.random.default_rng(0)
    x = lib.tensor(g.standard_normal((per_rank, 1, 28, 28)).astype(np.float32))
    y = lib.tensor(g.integers(0, 10, per_rank))
    loss_fn = lib.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    for _ in range(3):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return per_rank * steps / (time.perf_counter() - t0)


def job_pe_train(kind, threads, steps):
    import pyengine as pe
    from pyengine.examples._distributed import launched_world_size
    world = launched_world_size()
    pe.set_num_threads(threads)
    model = build(pe, kind)
    if world > 1:
        pe.distributed.init_process_group("mpi")
        model = pe.nn.parallel.DistributedDataParallel(model)
    rate = train_rate(pe, model, GLOBAL_BATCH // world, steps)
    if world > 1:
        rates = [pe.zeros(1, dtype=pe.float64) for _ in range(world)]
        pe.distributed.all_gather(rates, pe.tensor([rate], dtype=pe.float64))
        rate = sum(float(r.item()) for r in rates)
        if pe.distributed.get_rank() != 0:
            return
    emit({"rate": rate})


def _torch_train_rank(rank, world, init_file, queue, kind, steps):
    import torch
    import torch.distributed as tdist
    torch.set_num_threads(1)
    tdist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    model = torch.nn.parallel.DistributedDataParallel(build(torch, kind))
    rate = torch.tensor([train_rate(torch, model, GLOBAL_BATCH // world, steps)], dtype=torch.float64)
    tdist.all_reduce(rate)
    if rank == 0:
        queue.put(float(rate))
    tdist.barrier()
    tdist.destroy_process_group()


def job_torch_train(kind, threads, steps, procs):
    import torch
    if procs == 1:
        torch.set_num_threads(threads)
        emit({"rate": train_rate(torch, build(torch, kind), GLOBAL_BATCH, steps)})
    else:
        emit({"rate": _torch_spawn(_torch_train_rank, kind, steps)})


# ------------------------------------------------------------------ the driver
def mpiexec():
    found = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if found is None:
        raise SystemExit("no mpiexec: pip install \".[distributed]\" (mpi4py and MPICH's wheel)")
    return found


def run_job(args, procs=1, tries=2):
    """Run this script as a job (under mpiexec -n procs for pyengine's multi-rank jobs); its RESULT.
    A job that fails is run once more (torch's gloo jobs have been seen to abort at exit), and the
    failure is printed."""
    cmd = [sys.executable, os.path.abspath(__file__), *args]
    if procs > 1:
        cmd = [mpiexec(), "-n", str(procs)] + cmd
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    for attempt in range(tries):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if lines:  # the figure was measured (a crash while exiting does not change it)
            return json.loads(lines[-1][len("RESULT "):])
        print(f"(job {' '.join(args)} failed, exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]})")
    raise SystemExit(f"job {args} failed {tries} times:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")


def machine():
    sys.path.insert(0, HERE)
    from common import machine_line
    return machine_line()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--skip-training", action="store_true")
    p.add_argument("--skip-allreduce", action="store_true")
    p.add_argument("--job", help=argparse.SUPPRESS)
    p.add_argument("--kind", help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--procs", type=int, default=1, help=argparse.SUPPRESS)
    args = p.parse_args()
    jobs = {"pe-allreduce": job_pe_allreduce, "torch-allreduce": job_torch_allreduce,
            "pe-train": lambda: job_pe_train(args.kind, args.threads, args.steps),
            "torch-train": lambda: job_torch_train(args.kind, args.threads, args.steps, args.procs)}
    if args.job:
        return jobs[args.job]()

    import mpi4py
    import torch
    import pyengine as pe
    from mpi4py import MPI
    print(f"machine: {machine()}; {os.cpu_count()} cores")
    print(f"pyengine {pe.__version__} over mpi4py {mpi4py.__version__} / {MPI.Get_library_version().splitlines()[0]}; "
          f"PyTorch {torch.__version__} (gloo); medians of {args.rounds} rounds\n")

    if not args.skip_allreduce:
        allreduce_table(args.rounds)
    if not args.skip_training:
        training_table(args.rounds, args.steps)


def allreduce_table(rounds):
    samples = {"pe": [], "mpi4py": [], "torch": [], "copy": []}
    for _ in range(rounds):
        r = run_job(["--job", "pe-allreduce"], procs=2)
        samples["pe"].append(r["pe"])
        samples["mpi4py"].append(r["mpi4py"])
        samples["torch"].append(run_job(["--job", "torch-allreduce"])["torch"])
        samples["copy"].append({str(k): v for k, v in memcpy_times().items()})
    med = {k: {n: statistics.median(s[str(n)] for s in v) for n in SIZES} for k, v in samples.items()}
    print("all_reduce(SUM) of float32 on 2 local ranks: bus bandwidth GB/s = 2(N-1)/N x bytes / time "
          "(N = 2: bytes / time); copy = one core's np.copyto")
    print(f"{'size':>8s} {'pe us':>9s} {'pe GB/s':>8s} {'mpi4py GB/s':>11s} {'gloo GB/s':>9s} {'copy GB/s':>9s} "
          f"{'pe/mpi4py':>9s} {'pe/gloo':>8s} {'pe/copy':>8s}")
    for n in SIZES:
        bw = {k: n / med[k][n] / 1e9 for k in med}
        size = f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB"
        print(f"{size:>8s} {med['pe'][n] * 1e6:9.1f} {bw['pe']:8.2f} {bw['mpi4py']:11.2f} {bw['torch']:9.2f} "
              f"{bw['copy']:9.2f} {med['pe'][n] / med['mpi4py'][n]:9.2f} {med['pe'][n] / med['torch'][n]:8.2f} "
              f"{bw['pe'] / bw['copy']:8.2f}")
    print("(time ratios: < 1 means pyengine is faster; pe/copy is a bandwidth ratio)\n")


def training_table(rounds, steps):
    print(f"training throughput, images/s, global batch {GLOBAL_BATCH}, synthetic 1x28x28 data, SGD with momentum")
    print(f"{'model':5s} {'pe 1x2':>8s} {'pe 2x1':>8s} {'speedup':>7s} {'torch 1x2':>9s} {'torch 2x1':>9s} "
          f"{'speedup':>7s} {'pe/torch 2x1':>12s}")
    for kind in ("mlp", "cnn"):
        runs = {"pe1": [], "pe2": [], "t1": [], "t2": []}
        steps = str(steps)
        for _ in range(rounds):
            train = ["--kind", kind, "--steps", steps]
            runs["pe1"].append(run_job(["--job", "pe-train", "--threads", "2", *train])["rate"])
            runs["pe2"].append(run_job(["--job", "pe-train", "--threads", "1", *train], procs=2)["rate"])
            runs["t1"].append(run_job(["--job", "torch-train", "--threads", "2", *train])["rate"])
            runs["t2"].append(run_job(["--job", "torch-train", "--procs", "2", *train])["rate"])
        m = {k: statistics.median(v) for k, v in runs.items()}
        print(f"{kind:5s} {m['pe1']:8.0f} {m['pe2']:8.0f} {m['pe2'] / m['pe1']:7.2f} {m['t1']:9.0f} {m['t2']:9.0f} "
              f"{m['t2'] / m['t1']:7.2f} {m['pe2'] / m['t2']:12.2f}")
    print("(1x2: one process, two threads; 2x1: two processes of one thread each, DistributedDataParallel; "
          "pe/torch > 1 means pyengine trains faster)")


if __name__ == "__main__":
    main()
