"""The psychiatry indicator pipeline (see docs/architecture.md for the code layout).

Importing the package pins numpy's BLAS to one thread: the disclosure audit calls `eigh` on many
small matrices, where a threaded BLAS only spins on both cores of the research server (measured: 2-3x
the CPU time of the report) and starves DuckDB. Set the variables yourself to override.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
