"""Device choice and seeding."""

from __future__ import annotations

import os
import random

from fieldguide.errors import FieldGuideError


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
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
