"""Device choice and seeding."""

from __future__ import annotations

import os
import random

from fieldguide.errors import FieldGuideError

# Environment variables that change what torch computes: thread counts, the kernels torch
# dispatches to, MKL's code path.
NUMERICS_ENVIRONMENT = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "ATEN_CPU_CAPABILITY",
                        "MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS", "MKL_DEBUG_CPU_TYPE", "OPENBLAS_CORETYPE",
                        "CUDA_VISIBLE_DEVICES", "CUBLAS_WORKSPACE_CONFIG", "PYTHONHASHSEED",
                        "FIELDGUIDE_TORCH_THREADS")


def numerics_environment() -> dict[str, str]:
    """Those of ``NUMERICS_ENVIRONMENT`` that are set here (for cache keys)."""
    return {k: os.environ[k] for k in NUMERICS_ENVIRONMENT if k in os.environ}


def pick_device(name: str = "auto"):
    """``auto`` -> cuda when available, else cpu. ``cuda`` without a GPU is an error."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise FieldGuideError(
                f"--device cuda was asked for, but no CUDA GPU is available to torch "
                f"{torch.__version__}; use --device cpu or --device auto"
            )
        return torch.device("cuda")
    raise FieldGuideError(f"unknown device '{name}': use auto, cpu or cuda")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) for repeatable runs."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)  # a snippet's seed + offset may pass NumPy's 32 bits
    torch.manual_seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
