"""The NCCL backend: collectives on CUDA tensors as NCCL calls on the GPU's default stream.

The processes still come from mpiexec, and MPI still carries everything that is not a CUDA
tensor's payload: rank 0's NCCL unique id (broadcast once per device, when the first CUDA tensor
reaches a collective), the ranks' agreement check, send/recv headers, CPU tensors.

pyengine runs its kernels on the legacy default stream, so an NCCL call enqueued there starts
after the kernels that produced its tensors and finishes before the kernels that read them: no
extra synchronisation. A Work's request is a CUDA event recorded after the call; wait() polls it
against the group's timeout, and so does a watchdog thread for work nobody waits on. A timeout
aborts the communicator (ncclCommAbort stops its kernels, so the stream moves on) and every later
NCCL collective in the group raises DistBackendError."""
import ctypes
import threading
import time

import numpy as np

from .. import _C
from . import _nccl_lib
from ._nccl_lib import DTYPES, OPS, BOOL_OPS, UniqueId
from ._mpi_backend import read_header
from ._work import DistBackendError, Work

_STREAM = None  # cudaStream_t 0: the legacy default stream, where pyengine's kernels run
_WATCHDOG_PERIOD_S = 0.1


class _Communicator:
    """One ncclComm_t (one per device this rank uses), and whether it was aborted."""

    def __init__(self, nccl, handle, device):
        self.nccl, self.handle, self.device = nccl, handle, device
        self.broken = None  # why it was aborted
        self._lock = threading.Lock()

    def check(self):
        """Raise DistBackendError if the communicator was aborted or NCCL reported an error."""
        if self.broken is None and self.handle is not None:
            status = ctypes.c_int()
            self.nccl.call("ncclCommGetAsyncError", self.handle, ctypes.byref(status), comm=self.handle)
            if status.value not in (_nccl_lib.SUCCESS, _nccl_lib.IN_PROGRESS):
                self.abort(f"NCCL reported an error: {self.nccl.error_text(status.value, self.handle)}")
        if self.broken is not None:
            raise DistBackendError(f"pyengine.distributed: the NCCL communicator on cuda:{self.device} was aborted "
                                   f"({self.broken}); destroy_process_group() and start again")

    def abort(self, why):
        with self._lock:
            if self.broken is None and self.handle is not None:
                self.broken = why
                self.nccl._lib.ncclCommAbort(self.handle)  # its result does not matter: the comm is gone

    def destroy(self):
        with self._lock:
            if self.handle is not None:
                if self.broken is None:
                    self.nccl._lib.ncclCommDestroy(self.handle)
                self.handle = None


class _Event:
    """A CUDA event after an NCCL call: Test() is True once the GPU is past it (mpi4py's
    request interface, so Work polls it like an MPI request). Thread-safe: the watchdog tests it
    too."""

    def __init__(self, comm):
        self._comm = comm
        self._handle = _C.cuda_record_event(comm.device)
        self._lock = threading.Lock()

    def Test(self):  # noqa: N802 - mpi4py's name
        with self._lock:
            if self._handle is not None and _C.cuda_event_done(self._handle):
                _C.cuda_destroy_event(self._handle)
                self._handle = None
            done = self._handle is None
        self._comm.check()  # finished or not: an aborted communicator's results are garbage
        return done

    @property
    def released(self):
        """True once Test() has seen the GPU past the event (a cheap look, no CUDA call)."""
        return self._handle is None

    def __del__(self):
        if self._handle is not None and _C is not None:  # (at interpreter exit, modules may be gone)
            _C.cuda_destroy_event(self._handle)


class _Watch:
    """A collective the watchdog keeps an eye on from before its NCCL calls are made."""

    def __init__(self, comm, what, timeout):
        self.comm, self.what, self.timeout = comm, what, timeout
        self.deadline = time.monotonic() + timeout
        self.events = None  # set once the calls are enqueued

    def released(self):
        return self.events is not None and all(e.released for e in self.events)


class _Watchdog:
    """A daemon thread that aborts the communicator of any collective still unfinished after the
    timeout - also work nobody waits on, and calls that block inside NCCL."""

    def __init__(self):
        self._watches = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pyengine-nccl-watchdog", daemon=True)
        self._thread.start()

    def watch(self, comm, what, timeout):
        w = _Watch(comm, what, timeout)
        with self._lock:
            self._watches.append(w)
        return w

    def _run(self):
        while not self._stop.wait(_WATCHDOG_PERIOD_S):
            now = time.monotonic()
            with self._lock:  # drop the work the main thread has seen finish; look at the overdue
                self._watches = [w for w in self._watches if not w.released()]
                due = [w for w in self._watches if w.deadline < now]
            for w in due:
                try:
                    finished = w.events is not None and all(e.Test() for e in w.events)
                except Exception:  # noqa: BLE001 - an aborted or failed communicator: nothing to wait for
                    finished = True
                if not finished:
                    w.comm.abort(f"{w.what} timed out after {w.timeout:g} s: another rank did not take part (it "
                                 f"failed, hung, or called a different collective)")
                with self._lock:
                    self._watches.remove(w)

    def forget(self, watch):
        with self._lock:
            if watch in self._watches:
                self._watches.remove(watch)

    def stop(self):
        self._stop.set()
        self._thread.join()


def _dtype(tensor, what):
    code = DTYPES.get(tensor.dtype.name)
    if code is None:
        raise TypeError(f"{what}: NCCL cannot carry {tensor.dtype} tensors (it has "
                        f"{', '.join(sorted(set(DTYPES)))}); use a CPU tensor on the 'mpi' backend")
    return code


def _op(op, tensor, what):
    if tensor.dtype.name == "bool":
        if op not in BOOL_OPS:
            raise TypeError(f"{what}: NCCL has no ReduceOp.{op} for bool tensors")
        op = BOOL_OPS[op]
    if op not in OPS:
        raise TypeError(f"{what}: NCCL has no bitwise reductions (ReduceOp.{op}); use a CPU tensor on the "
                        f"'mpi' backend")
    return OPS[op]


class NCCLBackend:
    """Collectives on CUDA tensors; rank, size and timeout are the MPI backend's beside it."""
    name = "nccl"

    def __init__(self, mpi):
        self.mpi = mpi
        self.comm = mpi.comm  # host messages (agreement checks, headers) go through MPI
        self.rank, self.size, self.timeout = mpi.rank, mpi.size, mpi.timeout
        self._comms = {}
        self._watchdog = None

    def close(self):
        if self._watchdog is not None:
            self._watchdog.stop()
        for comm in self._comms.values():
            comm.destroy()
        self._comms.clear()

    def check_usable(self, tensor):
        """An aborted communicator refuses at once, before the ranks' agreement check (whose
        peers may have gone on without this rank)."""
        comm = self._comms.get(tensor.device.index)
        if comm is not None:
            comm.check()

    def _communicator(self, device):
        """This rank's communicator on cuda:<device>, created by all ranks together the first time."""
        comm = self._comms.get(device)
        if comm is None:
            nccl = _nccl_lib.load()
            uid = UniqueId()
            if self.rank == 0:
                nccl.call("ncclGetUniqueId", ctypes.byref(uid))
            raw = np.frombuffer(bytearray(bytes(uid)), dtype=np.uint8)  # bytes(uid): all 128, NULs included
            Work("NCCL's unique id", [self.comm.Ibcast(raw, root=0)], self.timeout, buffers=(raw,)).wait()
            ctypes.memmove(ctypes.byref(uid), raw.ctypes.data, ctypes.sizeof(uid))
            _C.cuda_set_device(device)  # NCCL takes the thread's current device as the communicator's
            handle = ctypes.c_void_p()
            nccl.call("ncclCommInitRank", ctypes.byref(handle), self.size, uid, self.rank,
                      what=f"creating the communicator of {self.size} ranks on cuda:{device} (rank {self.rank})")
            comm = self._comms[device] = _Communicator(nccl, handle, device)
            if self._watchdog is None:
                self._watchdog = _Watchdog()
        return comm

    def _launch(self, what, device, calls, result, keep, after=(), writes=True):
        """Enqueue `calls` ((name, args...) without the trailing comm and stream; several in one
        NCCL group), then `after` (device copies on the same stream); a Work that waits for them."""
        comm = self._communicator(device)
        comm.check()
        watch = self._watchdog.watch(comm, what, self.timeout)
        try:
            _C.cuda_set_device(device)
            nccl = comm.nccl
            grouped = len(calls) != 1
            if grouped:
                nccl.call("ncclGroupStart")
            try:
                for name, *args in calls:
                    nccl.call(name, *args, comm.handle, _STREAM, comm=comm.handle, what=what)
            finally:  # a group left open would swallow every later NCCL call
                if grouped:
                    nccl.call("ncclGroupEnd", comm=comm.handle, what=what)
            for step in after:
                step()
            watch.events = [_Event(comm)]
        except BaseException:
            self._watchdog.forget(watch)
            raise
        work = Work(what, watch.events, self.timeout, result=result, buffers=keep, writes=writes)
        work.on_timeout = lambda: comm.abort(f"{what} timed out after {self.timeout:g} s on rank {self.rank}")
        return work

    # ----- buffers: a CUDA tensor's memory, made contiguous where it is not -----
    @staticmethod
    def _buffer(tensor):
        """(contiguous tensor NCCL uses, step that copies it back into `tensor` or None)."""
        if tensor.is_contiguous():
            return tensor, None
        staged = tensor.detach().contiguous()
        return staged, lambda: _C.copy_(tensor._impl, staged._impl)

    # ----- collectives -----
    def start_all_reduce(self, tensor, op, what="all_reduce"):
        buf, back = self._buffer(tensor)
        n, dt = buf.numel(), _dtype(buf, what)
        return self._launch(what, tensor.device.index, [("ncclAllReduce", _ptr(buf), _ptr(buf), n, dt,
                                                        _op(op, buf, what))], [tensor], (buf,), _steps(back))

    def start_reduce(self, tensor, op, dst):
        buf, back = self._buffer(tensor)
        calls = [("ncclReduce", _ptr(buf), _ptr(buf), buf.numel(), _dtype(buf, "reduce"), _op(op, buf, "reduce"), dst)]
        return self._launch("reduce", tensor.device.index, calls, [tensor], (buf,),
                            _steps(back if self.rank == dst else None))

    def start_broadcast(self, tensor, src):
        buf, back = self._buffer(tensor)
        calls = [("ncclBroadcast", _ptr(buf), _ptr(buf), buf.numel(), _dtype(buf, "broadcast"), src)]
        return self._launch("broadcast", tensor.device.index, calls, [tensor], (buf,),
                            _steps(back if self.rank != src else None))

    def start_all_gather_into(self, output, tensor):
        out, back = self._buffer(output)
        send, _ = self._buffer(tensor)
        calls = [("ncclAllGather", _ptr(send), _ptr(out), send.numel(), _dtype(send, "all_gather"))]
        return self._launch("all_gather", tensor.device.index, calls, [output], (send, out), _steps(back))

    def start_reduce_scatter_into(self, output, tensor, op):
        out, back = self._buffer(output)
        send, _ = self._buffer(tensor)
        what = "reduce_scatter_tensor"
        calls = [("ncclReduceScatter", _ptr(send), _ptr(out), out.numel(), _dtype(send, what), _op(op, send, what))]
        return self._launch(what, tensor.device.index, calls, [output], (send, out), _steps(back))

    def start_gather_into(self, output, tensor, dst):
        """gather as NCCL point-to-point calls in one group: each rank sends to dst, which
        receives world_size pieces (its own included) into `output`."""
        send, _ = self._buffer(tensor)
        n, dt = send.numel(), _dtype(send, "gather")
        calls = [("ncclSend", _ptr(send), n, dt, dst)]
        keep, back = [send], None
        if self.rank == dst:
            out, back = self._buffer(output)
            keep.append(out)
            step = n * send.element_size()
            calls += [("ncclRecv", _ptr(out) + r * step, n, dt, r) for r in range(self.size)]
        return self._launch("gather", tensor.device.index, calls, None, tuple(keep), _steps(back))

    def start_scatter_from(self, tensor, source, src):
        recv, back = self._buffer(tensor)
        n, dt = recv.numel(), _dtype(recv, "scatter")
        calls, keep = [], [recv]
        if self.rank == src:
            source, _ = self._buffer(source)
            keep.append(source)
            step = n * recv.element_size()
            calls += [("ncclSend", _ptr(source) + r * step, n, dt, r) for r in range(self.size)]
        calls.append(("ncclRecv", _ptr(recv), n, dt, src))
        return self._launch("scatter", tensor.device.index, calls, [tensor], tuple(keep), _steps(back))

    def start_all_to_all(self, output, input, send, recv):
        """One NCCL group of a send and a receive per rank (parts of size zero left out)."""
        out, back = self._buffer(output)
        src, _ = self._buffer(input)
        size, dt = src.element_size(), _dtype(src, "all_to_all")
        calls, sent, received = [], 0, 0
        for j in range(self.size):
            if send[j]:
                calls.append(("ncclSend", _ptr(src) + sent * size, send[j], dt, j))
            if recv[j]:
                calls.append(("ncclRecv", _ptr(out) + received * size, recv[j], dt, j))
            sent, received = sent + send[j], received + recv[j]
        return self._launch("all_to_all", input.device.index, calls, [output], (src, out), _steps(back))

    # ----- point to point: the header over MPI (see MPIBackend), the payload over NCCL -----
    # NCCL has no tags: messages between two ranks are matched in the order they were sent.
    def start_send(self, tensor, signature, dst, tag):
        buf, _ = self._buffer(tensor)
        header, head = self.mpi.send_header(signature, _nbytes(buf), dst, tag)
        work = self._launch(f"send to rank {dst}", tensor.device.index,
                            [("ncclSend", _ptr(buf), buf.numel(), _dtype(buf, "send"), dst)], [tensor],
                            (buf, header), writes=False)
        work._requests = [head] + work._requests
        return work

    def start_batch(self, items):
        """batch_isend_irecv: items of (is_send, tensor, signature, peer, tag, mismatch). The
        headers first (over MPI), then every payload in one NCCL group - what lets two ranks
        send to each other at once (an NCCL send waits for its receive on the same stream)."""
        headers, requests = [], []
        for is_send, tensor, signature, peer, tag, _ in items:
            if is_send:
                header, request = self.mpi.send_header(signature, _nbytes(tensor), peer, tag)
            else:
                header, request = self.mpi.recv_header(signature, peer, tag)
            headers.append(header)
            requests.append(request)
        Work("batch_isend_irecv's headers", requests, self.timeout, buffers=headers).wait()
        calls, keep, backs, errors = [], [], [], []
        for (is_send, tensor, signature, peer, _, mismatch), header in zip(items, headers):
            if is_send:
                buf, _ = self._buffer(tensor)
                calls.append(("ncclSend", _ptr(buf), buf.numel(), _dtype(buf, "send"), peer))
            else:
                buf, back, matches = self._receiver(tensor, header, signature)
                if not matches:
                    errors.append(mismatch(read_header(header)[0], peer))
                calls.append(("ncclRecv", _ptr(buf), buf.numel(), _dtype(buf, "recv"), peer))
                backs.append(back)
            keep.append(buf)
        received = [t for is_send, t, *_ in items if not is_send]
        work = self._launch("batch_isend_irecv", items[0][1].device.index, calls, received, tuple(keep), _steps(*backs))
        if errors:
            def fail():
                raise errors[0]
            work.add_final(fail)
        return [work] * len(items)

    def _receiver(self, tensor, header, signature):
        """(buffer, write-back, matches) for a payload whose header arrived: the tensor's memory,
        or - when the sender's tensor differs - scratch memory that takes the payload anyway, so
        the sender is not left waiting."""
        theirs, nbytes, _ = read_header(header)
        if theirs != list(signature):
            from ..creation import empty
            from ..dtypes import uint8
            return empty(nbytes, dtype=uint8, device=tensor.device), None, False
        return (*self._buffer(tensor), True)

    def start_recv(self, tensor, signature, src, tag, mismatch):
        header, request = self.mpi.recv_header(signature, src, tag)
        work = Work(f"recv from rank {'any' if src is None else src}", [request], self.timeout, result=[tensor],
                    buffers=[header])
        work.source = None

        def payload():
            theirs, _, sender = read_header(header)
            work.source = sender
            into, back, matches = self._receiver(tensor, header, signature)
            step = self._launch(work._what, tensor.device.index,
                                [("ncclRecv", _ptr(into), into.numel(), _dtype(into, "recv"), sender)], None,
                                (into,), _steps(back))
            work._buffers.append(step)
            work.on_timeout = step.on_timeout

            def fail():
                raise mismatch(theirs, sender)
            return step._requests, (None if matches else fail)

        work._then = payload
        return work


def _nbytes(tensor):
    return tensor.numel() * tensor.element_size()


def _ptr(tensor):
    return tensor._impl.data_ptr


def _steps(*steps):
    return [s for s in steps if s is not None]
