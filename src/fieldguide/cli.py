"""The standard command line every snippet shares: --device, --scale, --model, --out, --seed."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Mapping

from fieldguide.errors import FieldGuideError

SCALES = ("ci", "gpu")


class _OneLineParser(argparse.ArgumentParser):
    """argparse prints usage plus an error; we print the error alone, on one line."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def snippet_parser(
    description: str,
    *,
    default_model: str | None = None,
    presets: Mapping[str, Mapping[str, object]] | None = None,
) -> argparse.ArgumentParser:
    """A parser with the flags of the snippet contract; snippets add their own after.

    ``presets`` maps each scale to its settings, shown in --help so a reader sees what
    ``ci`` and ``gpu`` mean before running anything.
    """
    epilog = None
    if presets:
        lines = ["scale presets:"]
        for scale, settings in presets.items():
            shown = ", ".join(f"{k}={v}" for k, v in settings.items())
            lines.append(f"  {scale}: {shown}")
        if "ci" in presets and "gpu" in presets:  # what the bigger run changes, and so what it can add
            changed = [k for k in presets["gpu"] if presets["gpu"][k] != presets["ci"].get(k)]
            lines.append(f"  gpu changes from ci: {', '.join(changed)}" if changed else
                         "  gpu changes nothing from ci (the same run, on a GPU)")
        epilog = "\n".join(lines)
    prog = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else None
    parser = _OneLineParser(
        prog=prog,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--device", default="auto", choices=("auto", "cpu", "cuda"),
        help="where to run: auto picks cuda when available, else cpu (default: auto)",
    )
    parser.add_argument(
        "--scale", default="ci", choices=SCALES,
        help="size preset: ci fits 2 CPU cores in minutes, gpu is the real-size run (default: ci)",
    )
    if default_model is not None:
        parser.add_argument(
            "--model", default=default_model,
            help=f"packaged model name, local folder or hub id (default: {default_model})",
        )
    parser.add_argument(
        "--out", type=Path, default=None,
        help="folder for results.json, figures and saved models (default: runs/<snippet>)",
    )
    parser.add_argument("--seed", type=seed_value, default=0,
                        help="random seed, 0 <= seed < 2**32 (default: 0)")
    return parser


SEED_LIMIT = 2**32  # NumPy's seeds are 32-bit; torch's and Python's take the same values


def seed_value(text: str) -> int:
    """``--seed``: a whole number 0 <= seed < 2**32, refused by the parser before any work."""
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seed must be a whole number, not {text!r}") from None
    if not 0 <= seed < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"--seed must be between 0 and {SEED_LIMIT - 1}, not {seed}")
    return seed


def default_out(script: str) -> Path:
    """runs/<snippet name> under the working directory."""
    return Path("runs") / Path(script).stem


def run_main(main: Callable[[argparse.Namespace], object], parser: argparse.ArgumentParser,
             argv: list[str] | None = None) -> None:
    """Parse flags, run ``main(args)``, and turn reader-fixable errors into one line."""
    args = parser.parse_args(argv)
    if getattr(args, "out", None) is None:
        args.out = default_out(sys.argv[0] if sys.argv else "snippet")
    try:
        check_before_work(args)
        main(args)
    except FieldGuideError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    except OSError as err:  # a model or file that cannot be read: the reader's to fix, one line
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        model = getattr(args, "model", None)
        if model and ("huggingface.co" in first or str(model) in first):  # a from_pretrained that failed
            offline = " with HF_HUB_OFFLINE=1 set (only local files can load)" if env_flag("HF_HUB_OFFLINE", False) else ""
            first = f"could not load model '{model}'{offline}: {first}"
        print(f"error: {first}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except (torch_oom_types()) as err:  # pragma: no cover - needs a GPU
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"error: out of memory: {first} (try --scale ci or a smaller batch)", file=sys.stderr)
        raise SystemExit(3) from None


def check_out(out: Path) -> None:
    """``--out`` must be a folder this process can write (it need not exist yet)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FieldGuideError(f"--out {out} is a file, not a folder")
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise FieldGuideError(f"--out {out} cannot be created: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise FieldGuideError(f"--out {out} cannot be written: no write permission on {existing}")


def check_before_work(args) -> None:
    """What a reader can get wrong, checked before any model loads: --out, and --device cuda."""
    if getattr(args, "out", None) is not None:
        check_out(args.out)
    if getattr(args, "device", None) == "cuda":
        from fieldguide.device import pick_device

        pick_device("cuda")


def torch_oom_types() -> tuple[type[BaseException], ...]:
    try:
        import torch

        return (torch.OutOfMemoryError,)
    except Exception:  # pragma: no cover
        return ()


def env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() not in ("0", "false", "no", "off", "")
