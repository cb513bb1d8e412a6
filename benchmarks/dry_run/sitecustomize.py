# Loaded by every Python process of ``bash dev.sh gpu --dry-run`` (benchmarks/gpu_run.py puts this
# folder first on PYTHONPATH). Where FIELDGUIDE_DRY_RUN names a file, it appends a line to it at the
# first optimisation step ("step") and at the first forward pass of a module ("forward"), so the
# runner can stop the run there: the preset was built, the models loaded, one step taken.
import os
import sys

_MARKER = os.environ.get("FIELDGUIDE_DRY_RUN")


def _mark(what):
    with open(_MARKER, "a") as f:
        f.write(f"{what} {os.getpid()}\n")


def _install():
    import importlib

    import torch  # every process of a dry run imports it anyway (a snippet, torchrun's workers)

    seen = set()

    def after_step(optimizer, args, kwargs):
        if "step" not in seen:
            seen.add("step")
            _mark("step")

    def after_forward(module, args, output):
        if "forward" not in seen:  # a model (or one of its layers) has run on the preset's data
            seen.add("forward")
            _mark("forward")

    importlib.import_module("torch.optim.optimizer").register_optimizer_step_post_hook(after_step)
    importlib.import_module("torch.nn.modules.module").register_module_forward_hook(after_forward)
    _mark("ready")


if _MARKER:
    try:
        _install()
    except Exception as err:  # never break interpreter start-up; the runner sees no "ready" mark
        print(f"dry run: the step hook could not be installed: {err!r}", file=sys.stderr)

# The suite's own sitecustomize (the network guard) is shadowed by this one: run it too.
_here = os.path.dirname(os.path.abspath(__file__))
for _folder in sys.path:
    _other = os.path.join(_folder, "sitecustomize.py")
    if _folder and os.path.abspath(_folder) != _here and os.path.isfile(_other):
        exec(compile(open(_other).read(), _other, "exec"), {"__name__": "sitecustomize_chained", "__file__": _other})
        break
