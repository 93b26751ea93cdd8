"""What the numpy reference scripts share: reading the case a benchmark wrote (a JSON spec naming raw
little-endian float64 files beside it) and how many BLAS threads numpy runs on."""

import json
import os

import numpy as np


def read_spec(spec_path):
    """The spec, n, d, and load(key, shape) reading the array the spec names under key."""
    with open(spec_path) as f:
        spec = json.load(f)
    here = os.path.dirname(os.path.abspath(spec_path))

    def load(key, shape):
        return np.fromfile(os.path.join(here, spec[key]), dtype="<f8").reshape(shape)

    return spec, int(spec["n"]), int(spec["d"]), load


def blas_threads():
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(name):
            return int(os.environ[name])
    return os.cpu_count()
