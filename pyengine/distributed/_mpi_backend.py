"""The MPI backend: pyengine's collectives as non-blocking MPI calls through mpi4py.

Each start_* call begins one collective and returns its Work; the ranks' agreement on what is
being called is checked before (see _collectives.py), not here. The backend talks on its own
duplicate of MPI_COMM_WORLD, so a program's own mpi4py messages never mix with pyengine's."""
import numpy as np

from ._buffers import host_array
from ._work import Work

_INSTALL = ("pyengine.distributed's 'mpi' backend needs mpi4py and an MPI library: "
            "pip install \"pyengine[distributed]\" (mpi4py with MPICH's wheel), or mpi4py over the "
            "system's MPI (Debian: apt-get install openmpi-bin libopenmpi-dev; pip install mpi4py)")


def load_mpi():
    """mpi4py's MPI module (importing it initialises MPI), or an ImportError saying what to install."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(f"{_INSTALL} ({e})") from None
    return MPI


def _mpi_op(MPI, op, dtype):
    """The MPI reduction for a ReduceOp name on arrays of `dtype` (bool: MPI's logical ops, the
    meaning PyTorch's backends give SUM/PRODUCT/MAX/MIN on bool tensors)."""
    if dtype == np.bool_:
        return {"SUM": MPI.LOR, "MAX": MPI.LOR, "BOR": MPI.LOR, "PRODUCT": MPI.LAND, "MIN": MPI.LAND,
                "BAND": MPI.LAND, "BXOR": MPI.LXOR}[op]
    return {"SUM": MPI.SUM, "AVG": MPI.SUM, "PRODUCT": MPI.PROD, "MAX": MPI.MAX, "MIN": MPI.MIN,
            "BAND": MPI.BAND, "BOR": MPI.BOR, "BXOR": MPI.BXOR}[op]


def _finishing(*steps):
    """A Work `then` that runs the write-backs and other final steps (None entries skipped)."""
    steps = [s for s in steps if s is not None]
    if not steps:
        return None

    def finish():
        for s in steps:
            s()
    return finish


def read_header(header):
    """A received header: (the sender's signature, the payload's bytes, the sender's rank)."""
    return header[:-2].tolist(), int(header[-2]), int(header[-1])


class MPIBackend:
    name = "mpi"

    def __init__(self, timeout, comm=None):
        """comm: a sub-group's communicator, which this backend then owns; None: a duplicate of
        MPI_COMM_WORLD."""
        MPI = self.MPI = load_mpi()
        self.comm = MPI.COMM_WORLD.Dup() if comm is None else comm
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        self.timeout = timeout

    def close(self):
        self.comm.Free()

    def check_usable(self, tensor):
        """Raise before a collective that cannot work on this rank (MPI: always usable)."""

    def _work(self, what, requests, then=None, result=None, buffers=(), writes=True):
        # buffers: mpi4py does not keep a non-blocking call's arrays alive; a staged copy
        # collected while MPI still reads it would be reused memory.
        return Work(what, requests, self.timeout, then, result, buffers, writes)

    # ----- collectives (each returns a Work) -----
    def start_barrier(self):
        return self._work("barrier", [self.comm.Ibarrier()])

    def start_all_reduce(self, tensor, op, what="all_reduce"):
        array, write_back = host_array(tensor)
        request = self.comm.Iallreduce(self.MPI.IN_PLACE, array, _mpi_op(self.MPI, op, array.dtype))
        average = (lambda: np.divide(array, self.size, out=array, casting="unsafe")) if op == "AVG" else None
        return self._work(what, [request], _finishing(average, write_back), [tensor], (array,))

    def start_reduce(self, tensor, op, dst):
        array, write_back = host_array(tensor)
        mine = self.rank == dst
        result = np.empty_like(array) if mine else None
        request = self.comm.Ireduce(array, result, _mpi_op(self.MPI, op, array.dtype), root=dst)

        def into_tensor():  # the root's result replaces its tensor
            np.copyto(array, result)
            if op == "AVG":
                np.divide(array, self.size, out=array, casting="unsafe")
            if write_back is not None:
                write_back()
        return self._work("reduce", [request], into_tensor if mine else None, [tensor], (array, result))

    def start_broadcast(self, tensor, src):
        array, write_back = host_array(tensor)
        return self._work("broadcast", [self.comm.Ibcast(array, root=src)],
                          _finishing(write_back if self.rank != src else None), [tensor], (array,))

    def start_all_gather_into(self, output, tensor):
        """output: world_size * tensor.numel() elements, the ranks' tensors one after another."""
        out, write_back = host_array(output)
        send, _ = host_array(tensor)
        return self._work("all_gather", [self.comm.Iallgather(send, out)], _finishing(write_back), [output],
                          (send, out))

    def start_reduce_scatter_into(self, output, tensor, op):
        """output: tensor.numel() / world_size elements, this rank's part of the reduction."""
        out, write_back = host_array(output)
        send, _ = host_array(tensor)
        request = self.comm.Ireduce_scatter_block(send, out, _mpi_op(self.MPI, op, send.dtype))
        average = (lambda: np.divide(out, self.size, out=out, casting="unsafe")) if op == "AVG" else None
        return self._work("reduce_scatter_tensor", [request], _finishing(average, write_back), [output], (send, out))

    def start_gather_into(self, output, tensor, dst):
        """output (on dst only): world_size * tensor.numel() elements."""
        send, _ = host_array(tensor)
        out, write_back = host_array(output) if output is not None else (None, None)
        return self._work("gather", [self.comm.Igather(send, out, root=dst)], _finishing(write_back), None, (send, out))

    def start_scatter_from(self, tensor, source, src):
        """source (on src only): world_size * tensor.numel() elements."""
        recv, write_back = host_array(tensor)
        send = host_array(source)[0] if source is not None else None
        return self._work("scatter", [self.comm.Iscatter(send, recv, root=src)], _finishing(write_back), [tensor],
                          (send, recv))

    def start_all_to_all(self, output, input, send, recv):
        """send[j] elements of input (in rank order) to rank j; recv[j] from rank j into output."""
        out, write_back = host_array(output)
        src, _ = host_array(input)
        buffers = [[a.reshape(-1), (counts, np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64).tolist())]
                   for a, counts in ((src, send), (out, recv))]
        request = self.comm.Ialltoallv(buffers[0], buffers[1])
        return self._work("all_to_all", [request], _finishing(write_back), [output], (src, out))

    # ----- point to point: a header, then the payload -----
    # The header is the sender's signature (see _collectives.signature) followed by the payload's
    # size in bytes and the sender's rank: a receiver from any source learns whom to take the
    # payload from, and one whose tensor does not match still takes the payload (into scratch
    # memory) before it raises, so the sender is never left waiting.
    # (The NCCL backend sends its headers through these too, its payloads over NCCL.)
    def send_header(self, signature, nbytes, dst, tag):
        """(header, its request): started."""
        header = np.asarray(list(signature) + [nbytes, self.rank], dtype=np.int64)
        return header, self.comm.Isend(header, dest=dst, tag=2 * tag)

    def recv_header(self, signature, src, tag):
        """(header, its request): started; src None takes it from any rank."""
        header = np.empty(len(signature) + 2, dtype=np.int64)
        source = self.MPI.ANY_SOURCE if src is None else src
        return header, self.comm.Irecv(header, source=source, tag=2 * tag)

    def start_send(self, tensor, signature, dst, tag):
        array, _ = host_array(tensor)
        header, request = self.send_header(signature, array.nbytes, dst, tag)
        requests = [request, self.comm.Isend(array, dest=dst, tag=2 * tag + 1)]
        return self._work(f"send to rank {dst}", requests, result=[tensor], buffers=(header, array), writes=False)

    def start_recv(self, tensor, signature, src, tag, mismatch):
        """mismatch(their_signature, sender) -> the exception to raise when the signatures differ."""
        array, write_back = host_array(tensor)
        header, request = self.recv_header(signature, src, tag)
        work = self._work(f"recv from rank {'any' if src is None else src}", [request], result=[tensor],
                          buffers=[header, array])
        work.source = None

        def payload():
            theirs, nbytes, sender = read_header(header)
            work.source = sender
            if theirs != list(signature):
                scratch = np.empty(nbytes, dtype=np.uint8)
                work._buffers.append(scratch)

                def fail():
                    raise mismatch(theirs, sender)
                return [self.comm.Irecv(scratch, source=sender, tag=2 * tag + 1)], fail
            return [self.comm.Irecv(array, source=sender, tag=2 * tag + 1)], _finishing(write_back)

        work._then = payload
        return work
