"""Sub-groups (new_group and relatives) on 3 or 4 ranks: rank queries and translations, every
collective inside a group against the values its members must hold (global and group roots),
non-members untouched, overlapping groups used in turn, the errors, destroying a group.
Usage: groups.py OUT_DIR [cuda]: with "cuda", the 'nccl' backend on the fake NCCL, CUDA tensors."""
import sys
import warnings


import pyengine as pe
import pyengine.distributed as dist
from _common import Checks, out_dir, raises, start
from _ddp_models import ddp_matches_one_process

device = sys.argv[2] if len(sys.argv) > 2 else "cpu"
if device == "cuda":
    import _fake_nccl
    fake = _fake_nccl.install()
rank, world = start(backend="nccl" if device == "cuda" else "mpi")
assert world >= 3, "groups.py needs 3 or more ranks"
check = Checks(rank)




def full(value, n=3, dtype=pe.float32):
    return pe.full((n,), float(value), dtype=dtype, device=device)


def host(t):
    return t.cpu().tolist()


members = [world - 1, 0]  # given out of order: group ranks follow global ranks
g = dist.new_group(members)
inside = rank in members
check("non-member sentinel", (g is dist.GroupMember.NON_GROUP_MEMBER) == (not inside))
check("rank queries", dist.get_rank(g) == (sorted(members).index(rank) if inside else -1)
      and dist.get_world_size(g) == (2 if inside else -1))
if inside:
    check("group ranks", dist.get_process_group_ranks(g) == [0, world - 1] and dist.get_global_rank(g, 1) == world - 1
          and dist.get_group_rank(g, world - 1) == 1 and g.rank() == dist.get_rank(g) and g.size() == 2)
    check("group rank errors", raises(ValueError, lambda: dist.get_group_rank(g, 1), "not part of the group")
          and raises(ValueError, lambda: dist.get_global_rank(g, 2), "not part of the group"))
    check("backend", dist.get_backend(g) == ("nccl" if device == "cuda" else "mpi"))

# collectives among the members; the others pass the group too and are left alone
want_sum = float(sum(r + 1 for r in members))
t = full(rank + 1)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    out = dist.all_reduce(t, group=g)
check("all_reduce in group", out is None and host(t) == ([want_sum] * 3 if inside else [float(rank + 1)] * 3))
check("non-member warned", any("does not belong to the given group" in str(w.message) for w in caught) != inside)
if inside:
    t = full(rank)
    dist.broadcast(t, src=world - 1, group=g)  # a global rank
    check("broadcast global src", host(t) == [float(world - 1)] * 3)
    t = full(rank)
    dist.broadcast(t, group=g, group_src=0)  # a group rank
    check("broadcast group_src", host(t) == [0.0] * 3)
    outs = [full(-1) for _ in range(2)]
    dist.all_gather(outs, full(rank), group=g)
    check("all_gather in group", [host(o)[0] for o in outs] == [0.0, float(world - 1)])
    out = pe.zeros(4, device=device)
    dist.all_gather_into_tensor(out, full(rank, 2), group=g)
    check("all_gather_into_tensor in group", host(out) == [0.0, 0.0, float(world - 1), float(world - 1)])
    out = full(0, 2)
    dist.reduce_scatter_tensor(out, pe.arange(4, device=device).float() + rank, group=g)
    mine = dist.get_rank(g)
    check("reduce_scatter_tensor in group", host(out) == [2.0 * (2 * mine + i) + world - 1 for i in range(2)])
    gl = [full(-1) for _ in range(2)] if rank == 0 else None
    dist.gather(full(rank), gl, dst=0, group=g)
    check("gather in group", rank != 0 or [host(x)[0] for x in gl] == [0.0, float(world - 1)])
    t = full(-1)
    dist.scatter(t, [full(10), full(20)] if rank == world - 1 else None, src=world - 1, group=g)
    check("scatter in group", host(t) == [10.0 + 10 * mine] * 3)
    t = full(rank)
    dist.reduce(t, dst=world - 1, op=dist.ReduceOp.MAX, group=g)
    check("reduce in group", host(t) == [float(rank if rank != world - 1 else world - 1)] * 3)
    other = world - 1 if rank == 0 else 0
    t = full(-1)
    works = dist.batch_isend_irecv([dist.P2POp(dist.isend, full(rank), other, group=g),
                                    dist.P2POp(dist.irecv, t, other, group=g)])
    for w in works:
        w.wait()
    check("batch_isend_irecv in group (global peers)", host(t) == [float(other)] * 3)
    if device == "cpu":
        if rank == 0:
            dist.send(full(5), dst=world - 1, group=g)
        else:
            got = dist.recv(t, group=g)  # from any rank of the group: the sender's global rank comes back
            check("recv returns the global rank", got == 0 and host(t) == [5.0] * 3, got)
    objs = [None, None]
    dist.all_gather_object(objs, {"rank": rank}, group=g)
    check("all_gather_object in group", objs == [{"rank": 0}, {"rank": world - 1}])
    box = ["x"] if rank == world - 1 else [None]
    dist.broadcast_object_list(box, src=world - 1, group=g)
    check("broadcast_object_list in group", box == ["x"])
    check("barrier in group", dist.barrier(group=g) is None)
    check("root outside the group", raises(ValueError, lambda: dist.broadcast(full(0), src=1, group=g),
                                           "src=1 is not a rank of this group of 2 processes (its global ranks: "
                                           f"[0, {world - 1}])"))
    check("both roots", raises(ValueError, lambda: dist.broadcast(full(0), src=0, group=g, group_src=0),
                               "give src or group_src, not both"))
else:
    check("non-member gets None", dist.broadcast(full(rank), src=0, group=g) is None and dist.barrier(group=g) is None
          and dist.get_rank(g) == -1)

if device == "cuda":  # the group's CUDA tensors went over its own NCCL communicator of 2 ranks
    check("NCCL communicator per group", (("ncclCommInitRank", 2, dist.get_rank(g)) in fake.calls) == inside)

# DDP over the sub-group: equal to one process on the members' batches; the others cannot join
if inside:
    diff, _ = ddp_matches_one_process(dist.get_rank(g), 2, device, group=g, bucket_cap_mb=0.0001)
    check("DDP over a sub-group", diff < 1e-5, diff)
else:
    check("DDP refuses a non-member", raises(ValueError, lambda: pe.nn.parallel.DistributedDataParallel(
        pe.nn.Linear(2, 2), process_group=g), "not in process_group"))

# overlapping groups used in turn, then the world again
g01, g12 = dist.new_group([0, 1]), dist.new_group([1, 2])
for _ in range(2):
    for grp, ranks in ((g01, (0, 1)), (g12, (1, 2))):
        t = full(rank + 1, 2)
        dist.all_reduce(t, group=grp)
        check("overlapping groups", host(t) == ([float(sum(r + 1 for r in ranks))] * 2 if rank in ranks
                                                else [float(rank + 1)] * 2))
t = full(1)
dist.all_reduce(t)
check("world after groups", host(t) == [float(world)] * 3)

# subgroups: one per pair of ranks (the last one shorter when the world is odd)
mine, groups = dist.new_subgroups_by_enumeration([list(range(s, min(s + 2, world))) for s in range(0, world, 2)])
check("new_subgroups_by_enumeration", groups == [mine] and dist.get_process_group_ranks(mine) == list(
    range(rank - rank % 2, min(rank - rank % 2 + 2, world))))
t = full(1)
dist.all_reduce(t, group=mine)
check("subgroup all_reduce", host(t) == [float(dist.get_world_size(mine))] * 3)
if world % 2 == 0:
    mine2, _ = dist.new_subgroups(2)
    check("new_subgroups", dist.get_process_group_ranks(mine2) == dist.get_process_group_ranks(mine))

# errors
check("bad ranks", raises(ValueError, lambda: dist.new_group([0, world]), "ranks must be ranks of the default group"))
check("repeated ranks", raises(ValueError, lambda: dist.new_group([0, 0]), "must not repeat"))
check("local synchronization", raises(ValueError, lambda: dist.new_group([0], use_local_synchronization=True),
                                      "not supported"))
try:  # the ranks disagree about the group: all of them learn what each asked for
    dist.new_group([0, 1] if rank == 0 else [0, 2])
    msg = ""
except dist.DistBackendError as e:
    msg = str(e)
check("new_group disagreement", "rank 0: ranks [0, 1] backend" in msg and "rank 1: ranks [0, 2] backend" in msg, msg)

# destroying a sub-group leaves the rest working
if inside:
    dist.destroy_process_group(g)
    check("destroyed group refused", raises(ValueError, lambda: dist.all_reduce(full(0), group=g), "was destroyed"))
t = full(1)
dist.all_reduce(t, group=g01)
check("other groups after destroy", host(t) == ([2.0] * 3 if rank in (0, 1) else [1.0] * 3))
dist.destroy_process_group()
check("all destroyed", not dist.is_initialized() and (g01.destroyed if rank in (0, 1) else True))
check.report(out_dir())
