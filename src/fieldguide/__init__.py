"""Plumbing for the Fine-Tuning Field Guide.

The teaching code (training loops, LoRA configs, probes) lives in the snippets under
``snippets/``; this package holds only what every snippet needs and no snippet should
repeat: finding the offline models, choosing the device, seeding, data sets, the
standard command line, and writing results that the pages render.
"""

from fieldguide.errors import FieldGuideError
from fieldguide.device import pick_device, seed_everything
from fieldguide.models import load_causal_lm, load_encoder, model_folder
from fieldguide.results import ResultsWriter
from fieldguide.cli import snippet_parser, run_main

__all__ = [
    "FieldGuideError",
    "pick_device",
    "seed_everything",
    "load_causal_lm",
    "load_encoder",
    "model_folder",
    "ResultsWriter",
    "snippet_parser",
    "run_main",
]
