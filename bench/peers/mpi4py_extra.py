"""mpi4py figures the shared peer script (../shared/peers/mpi4py_bench.py) does not print, for
bench/collectives.bench.ts: bcast of 1 MiB, allgatherv of 1 MiB in all, alltoall of 8 KiB per
pair. bench/run.ts runs it beside that script with the same mpirun line and merges its keys
into the same peer (mpi4py or mpi4py_tcp) at the same P. Timing as the shared script: warm-up
rounds, a barrier, then the slowest rank's mean over the repetitions."""
import json
import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
p, rank = comm.Get_size(), comm.Get_rank()


def timeit(fn, reps):
    for _ in range(max(2, reps // 10)):
        fn()
    comm.Barrier()
    t0 = MPI.Wtime()
    for _ in range(reps):
        fn()
    return comm.allreduce(MPI.Wtime() - t0, op=MPI.MAX) / reps


out = {"p": p}
a = np.ones(1 << 17)
out["bcast_1MiB_us"] = timeit(lambda: comm.Bcast(a, root=0), 100) * 1e6
n = (1 << 17) // p
x = np.ones(n)
y = np.empty(n * p)
out["allgatherv_1MiB_us"] = timeit(lambda: comm.Allgatherv(x, [y, [n] * p]), 100) * 1e6
m = 1024
sb = np.ones(m * p)
rb = np.empty(m * p)
out["alltoall_8KiB_per_pair_us"] = timeit(lambda: comm.Alltoall(sb, rb), 400) * 1e6
if rank == 0:
    print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in out.items()}))
