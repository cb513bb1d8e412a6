"""Run snippets once per content: the build and the tests share one cache.

A run is keyed by everything that can change its result: the snippet's text (and that of
every snippet it runs), the source of the library modules its imports reach and the
library's data, the arguments, the device actually used, the Python version, every
installed distribution and its version, and the environment variables that change
numerics (thread counts, CPU code paths, ``FIELDGUIDE_*``). A run's files are hashed in
its ``run.json``; a run whose files do not match is re-run, never served. A per-key file
lock makes check, run and publish one step, so two processes (``dev.sh serve`` beside
``dev.sh test``) never run one key twice or remove a run the other is reading. Results
live under ``.cache/runs/`` in the repository (never committed), so a clean clone
executes everything.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable

from fieldguide.device import numerics_environment
from fieldguide.models import file_lock
from fieldguide.sources import metric_value, table_rows

import fieldguide

REPO = Path(__file__).resolve().parents[2]
SNIPPETS = REPO / "snippets"
LIBRARY = Path(fieldguide.__file__).resolve().parent  # the runtime package snippets import
# FIELDGUIDE_* variables that do not: where things are kept, logs, and what the key holds already.
_NOT_RESULTS = {"FIELDGUIDE_RUNS", "FIELDGUIDE_CACHE", "FIELDGUIDE_NETGUARD_LOG", "FIELDGUIDE_EXECUTE", "FIELDGUIDE_RECORDS",
                "FIELDGUIDE_SCALE", "FIELDGUIDE_DEVICE", "FIELDGUIDE_RETEST"}


# The site runs two snippets at a time (``run_all``), each on half the cores unless the environment
# names a thread count: on CI's 2-core machines one thread each, about 1.25-1.4x the runs per hour
# of one two-thread run after another. A reader's own run uses every core; results differ in the
# last bits of floats (no count changed when the records went from two threads to one).
RUNS_AT_ONCE = 2
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
SITE_RUN_ENVIRONMENT = {"OMP_NUM_THREADS": str(max(1, _CORES // RUNS_AT_ONCE))}


class SnippetFailed(RuntimeError):
    pass


@dataclass
class SnippetRun:
    name: str
    out: Path
    stdout: str
    results: dict
    seconds: float
    cached: bool
    record: dict = field(default_factory=dict)  # run.json: command, device used, environment

    def metric(self, key: str):
        return metric_value(self.results, key)

    def table(self, key: str) -> list[dict]:
        return table_rows(self.results, key)


def runs_dir() -> Path:
    return Path(os.environ.get("FIELDGUIDE_RUNS", REPO / ".cache" / "runs"))


def snippet_path(name: str) -> Path:
    """``snippets/<name>.py``; a repository path ending in ``.py`` (a benchmark, a notebook
    script) names itself, so ``cached_check`` can key evidence about it too."""
    if name.endswith(".py") and (REPO / name).is_file():
        return REPO / name
    path = SNIPPETS / f"{name}.py"
    if not path.is_file():
        raise FileNotFoundError(f"no snippet {path.relative_to(REPO)}")
    return path


def library_digest() -> str:
    """Hash of the whole runtime library's code and data: keys caches that depend on all of
    it, such as mkdocs-jupyter's."""
    digest = hashlib.sha256()
    for path in sorted(LIBRARY.rglob("*")):
        rel = path.relative_to(LIBRARY)
        if not path.is_file() or "__pycache__" in rel.parts:
            continue
        digest.update(str(rel).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _module_file(module: str) -> Path | None:
    """``fieldguide.a.b`` -> its file in the library; None for a name that is not a module."""
    parts = module.split(".")[1:]
    candidates = [LIBRARY.joinpath(*parts, "__init__.py")] + ([LIBRARY.joinpath(*parts).with_suffix(".py")] if parts else [])
    return next((c for c in candidates if c.is_file()), None)


def _imported_modules(path: Path) -> set[str]:
    """``fieldguide`` modules a file imports (anywhere in it), with the packages they run."""
    stat = path.stat()  # parsed once per content: a build keys ~100 runs over the same files
    return set(_parsed_imports(str(path), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=None)
def _parsed_imports(path_text: str, mtime_ns: int, size: int) -> frozenset[str]:
    path = Path(path_text)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from fieldguide import tiny_gpt" imports a module; "... import ResultsWriter" a name.
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            if name == "fieldguide" or name.startswith("fieldguide."):
                parts = name.split(".")
                found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return frozenset(m for m in found if _module_file(m))


def library_modules(path: Path) -> list[Path]:
    """The library files a snippet's import graph reaches, in a stable order."""
    seen: set[str] = set()
    todo = sorted(_imported_modules(path))
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo += sorted(_imported_modules(_module_file(module)) - seen)
    return sorted(_module_file(m) for m in seen)


@functools.lru_cache(maxsize=None)
def distributions_digest() -> str:
    """Hash of every installed distribution and its version (model packages included)."""
    names = sorted({f"{d.metadata['Name']}=={d.version}".lower() for d in metadata.distributions()
                    if d.metadata["Name"]})
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


def _read(path: str | Path) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


@functools.lru_cache(maxsize=None)
def _cpu_flags() -> str:
    """The CPU's feature flags (they do not change while a process lives)."""
    return next((line for line in _read("/proc/cpuinfo").splitlines() if line.startswith(("flags", "Features"))), "")


def _gpu_nodes() -> list[str]:
    return sorted(p.name for p in Path("/dev").glob("nvidia*")) + sorted(
        p.name for p in Path("/dev").glob("dri/*")) + (["kfd"] if Path("/dev/kfd").exists() else [])


_DEVICE_VARIABLES = ("CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "NVIDIA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES",
                     "ROCR_VISIBLE_DEVICES", "ATEN_CPU_CAPABILITY")


def _device_facts(requested: str, env: dict[str, str]) -> str:
    """What decides ``device_used`` and can be read without importing torch: the torch build,
    the CPU's feature flags, the GPU driver's devices and each GPU's model, UUID and bus, and
    the variables that pick a device or a code path. Any change makes ``device_used`` ask again."""
    try:
        torch_build = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_build = ""
    gpus = [_read(info) for info in sorted(Path("/proc/driver/nvidia/gpus").glob("*/information"))]
    return json.dumps([requested, sys.prefix, torch_build, platform.machine(), _cpu_flags(), _gpu_nodes(),
                       _read("/proc/driver/nvidia/version"), gpus, {k: env.get(k) for k in _DEVICE_VARIABLES}])


_DEVICES: dict[str, str] = {}
_ANSWER = re.compile(r"(cpu|cuda):\S.*")


def device_used(requested: str) -> str:
    """What ``--device`` resolves to here: ``cuda:<GPU name>`` or ``cpu:<kernel capability>``.

    Asked of torch in a fresh process, as a snippet would start: torch reads its code path
    (``ATEN_CPU_CAPABILITY``) once, at import, so this process's torch may answer for an
    environment it no longer has. Importing torch costs about a second (most of a prose-only
    rebuild), so the answer is kept beside the runs, keyed by what decides it (``_device_facts``).
    """
    env = dict(os.environ)  # one environment for the facts and for the process that answers
    facts = _device_facts(requested, env)
    if facts in _DEVICES:
        return _DEVICES[facts]
    memo = runs_dir() / ".device" / hashlib.sha256(facts.encode()).hexdigest()[:20]
    answer = _read(memo).strip()
    if not _ANSWER.fullmatch(answer):  # none kept, or a damaged file: ask again
        asked = subprocess.run([sys.executable, "-c", _ASK_TORCH, requested], capture_output=True, text=True, env=env)
        answer = (asked.stdout.strip().splitlines() or [""])[-1]
        if asked.returncode != 0 or not _ANSWER.fullmatch(answer):
            raise RuntimeError(f"could not ask torch which device --device {requested} uses (exit {asked.returncode}):"
                               f"\n{asked.stderr.strip()[-1500:]}")
        # A CPU answer where GPU devices exist may be a GPU that failed to start once: not kept.
        if not (answer.startswith("cpu:") and requested != "cpu" and _gpu_nodes()):
            _keep(memo, answer)
    _DEVICES[facts] = answer
    return answer


def _keep(memo: Path, answer: str) -> None:
    """Write the memo atomically; it only saves time, so a folder that cannot hold it is no error."""
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(prefix=f"{memo.name}.", suffix=".partial", dir=memo.parent)
        with os.fdopen(handle, "w") as out:  # a name of its own: threads of one process share a pid
            out.write(answer)
        os.replace(partial, memo)
    except OSError:
        pass


_ASK_TORCH = """
import sys, torch
if sys.argv[1] in ("auto", "cuda") and torch.cuda.is_available():
    print(f"cuda:{torch.cuda.get_device_name(0)}")
else:
    print(f"cpu:{torch.backends.cpu.get_cpu_capability()}")
"""


def result_environment() -> dict[str, str]:
    """The environment variables set here that change what a run computes."""
    found = {k: v for k, v in os.environ.items() if k.startswith("FIELDGUIDE_") and k not in _NOT_RESULTS}
    return dict(sorted({**SITE_RUN_ENVIRONMENT, **found, **numerics_environment()}.items()))


def named_snippets(name: str) -> list[str]:
    """The other snippets a snippet names in a string literal: the runs it reads."""
    text = snippet_path(name).read_text(encoding="utf-8")
    return [other for other in sorted(set(re.findall(r"[\"']([a-z0-9_]+/[a-z0-9_]+)[\"']", text)))
            if other != name and (SNIPPETS / f"{other}.py").is_file()]


def snippet_dependencies(name: str, seen: set[str] | None = None) -> list[str]:
    """The snippet and, recursively, every other snippet it names in a string literal.

    A snippet that runs other snippets (say, a comparison table) must re-run when any of
    them changes, so their text is part of its key.
    """
    seen = set() if seen is None else seen
    if name in seen:
        return []
    seen.add(name)
    found = [name]
    for other in named_snippets(name):
        found += snippet_dependencies(other, seen)
    return found


# A page shows the lines that are the idea by section markers (pymdownx.snippets:
# "# --8<-- [start:name]" ... "# --8<-- [end:name]"); they are comments, so they key nothing.
SECTION_MARKER = re.compile(rb"^[ \t]*# --8<-- \[(?:start|end):[a-z][-_0-9a-z]*\][ \t]*\r?\n", re.MULTILINE)


def code_of(path: Path) -> bytes:
    """A snippet's text as it keys a run: section-marker lines left out."""
    return SECTION_MARKER.sub(b"", path.read_bytes())


def code_key(name: str, args: list[str]) -> str:
    """The *code* part of a run's key: the snippet and every snippet it reads, the library modules
    their imports reach, the library's data and the arguments. A committed record of the run
    (``results/``) stands for the current code while this is unchanged; nothing machine-specific
    enters it, so a clone on another machine computes the same key."""
    digest = hashlib.sha256()
    library: set[Path] = set()
    for dependency in snippet_dependencies(name):
        digest.update(dependency.encode())
        digest.update(code_of(snippet_path(dependency)))
        library.update(library_modules(snippet_path(dependency)))
    for path in sorted(library) + sorted((LIBRARY / "data").glob("*")):
        digest.update(path.relative_to(LIBRARY).as_posix().encode())
        digest.update(path.read_bytes())
    digest.update(json.dumps(args).encode())
    return digest.hexdigest()[:20]


def run_key(name: str, args: list[str]) -> str:
    """The full key: the code key plus what this machine adds (device used, Python, installed
    distributions, the environment variables that change numerics)."""
    device = args[args.index("--device") + 1] if "--device" in args else "auto"
    return hashlib.sha256(json.dumps(
        {"code": code_key(name, args), "device": device_used(device), **environment_parts()},
        sort_keys=True).encode()).hexdigest()[:20]


def environment_parts() -> dict:
    """What a run's result depends on besides its code and device: Python, the installed
    distributions and the environment variables that change numerics."""
    return {"python": platform.python_version(), "distributions": distributions_digest(),
            "environment": result_environment()}


def notebook_cache_key() -> str:
    """mkdocs-jupyter's cache folder: the whole library plus what a snippet run's key adds, so
    an upgraded library or another numerics path re-executes the notebooks."""
    return hashlib.sha256(json.dumps({"library": library_digest(), "device": device_used("auto"),
                                      **environment_parts()}, sort_keys=True).encode()).hexdigest()[:16]


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _checked_files(out: Path) -> list[str]:
    """The files a page reads from a run: results, output and the figures results name."""
    results = json.loads((out / "results.json").read_text())
    return ["results.json", "stdout.txt", *sorted(f["file"] for f in results.get("figures", {}).values())]


def intact_run(out: Path) -> bool:
    """A finished run whose files are the ones its run.json recorded."""
    try:
        recorded = json.loads((out / "run.json").read_text())["sha256"]
        return all(recorded.get(f) == file_sha256(out / f) for f in _checked_files(out))
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _machine(device: str) -> str:
    """The device a run used, in words: the GPU's name, or the CPU model and its cores."""
    used = device_used(device)
    if used.startswith("cuda:"):
        return used.removeprefix("cuda:")
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name} ({os.cpu_count()} cores, {used.removeprefix('cpu:')} kernels)"


def provenance(device: str, seconds: float, peak_bytes: int) -> dict:
    """Where and how a run was made: date, commit, device, versions, wall time, peak memory."""
    versions = {}
    for package in ("torch", "transformers", "peft", "trl"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    commit = _git("rev-parse", "--short", "HEAD")
    return {"date": time.strftime("%Y-%m-%d"), "commit": commit,
            "local_changes": bool(commit) and bool(_git("status", "--porcelain", "--untracked-files=no")),
            "device": _machine(device), "python": platform.python_version(), "versions": versions,
            "seconds": round(seconds, 1), "peak_memory_bytes": peak_bytes}


def default_args(scale: str | None = None, device: str | None = None, extra_args=()) -> list[str]:
    scale = scale or os.environ.get("FIELDGUIDE_SCALE", "ci")
    device = device or os.environ.get("FIELDGUIDE_DEVICE", "auto")
    return ["--scale", scale, "--device", device, *extra_args]


def run_snippet(name: str, scale: str | None = None, device: str | None = None,
                extra_args: list[str] | tuple[str, ...] = (), quiet: bool = False,
                timeout: float | None = None) -> SnippetRun:
    """Execute ``snippets/<name>.py`` (or reuse the intact cached run of the same key).
    Tests call this: a committed record never stands in for a test's run. A run still going
    after ``timeout`` seconds is killed and fails."""
    args = default_args(scale, device, extra_args)
    key = run_key(name, args)
    out = runs_dir() / name / key
    with file_lock(out.parent / f".{key}.lock"):
        if intact_run(out):
            return load_run(name, out, cached=True)
        if out.exists() and not quiet:
            print(f"fieldguide: cached run {out} does not match its run.json: running again", file=sys.stderr)
        return _run(name, args, key, out, quiet, timeout)


def expected_seconds(name: str) -> float:
    """How long a run of ``name`` took when last recorded (a new snippet: a minute)."""
    try:
        return float(json.loads((record_folder(name) / "run.json").read_text())["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return 60.0


def run_all(names: list[str], workers: int = RUNS_AT_ONCE, timeout: float | None = None, quiet: bool = False,
            also: list[tuple[float, Callable[[], None]]] = ()) -> dict[str, str]:
    """Run each of ``names`` with the default flags, ``workers`` at a time (each on its share of
    the cores: ``SITE_RUN_ENVIRONMENT``), longest first by its last record so the longest does not start
    last; snippets that read other runs go after those runs. ``also``: other work for the same
    workers, as (expected seconds, function). Returns the failures (name -> message), left for a
    test or page to run again and report."""
    from concurrent.futures import ThreadPoolExecutor

    failed: dict[str, str] = {}

    def run(name: str) -> None:
        try:
            run_snippet(name, quiet=quiet, timeout=timeout)
        except SnippetFailed as error:
            failed[name] = str(error)

    jobs = [(bool(named_snippets(n)), -expected_seconds(n), n, functools.partial(run, n)) for n in names]
    jobs += [(False, -seconds, f"also {i}", job) for i, (seconds, job) in enumerate(also)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda job: job[-1](), sorted(jobs, key=lambda job: job[:3])))
    return failed


# --- committed run records: each snippet's last verified run, kept in the repository --------------

RECORDS = REPO / "results"
REFRESH = "bash dev.sh test, then bash dev.sh record"


def records_used() -> bool:
    """The build shows committed records unless told to re-measure (dev.sh serve --execute)."""
    from fieldguide.cli import env_flag

    return env_flag("FIELDGUIDE_RECORDS", True)


def record_folder(name: str) -> Path:
    return RECORDS / name


def committed_record(name: str, args: list[str] | None = None) -> SnippetRun | None:
    """The committed record of ``name`` if it is intact and was measured on the current code."""
    folder = record_folder(name)
    if not intact_run(folder):
        return None
    run = load_run(name, folder, cached=True)
    return run if run.record.get("code_key") == code_key(name, args or default_args()) else None


def local_run_folder(name: str) -> Path:
    """Where this machine keeps its run of ``name`` with the default flags and the current code."""
    return runs_dir() / name / run_key(name, default_args())


def page_run(name: str) -> SnippetRun:
    """What a page shows, in order: a fresh local run of the full key; else the committed record
    measured on the current code (its stamp says where and when); else a new run."""
    args = default_args()
    out = local_run_folder(name)
    if intact_run(out):
        return load_run(name, out, cached=True)
    if records_used():
        record = committed_record(name, args)
        if record is not None:
            return record
    return run_snippet(name)


def write_record(name: str) -> Path:
    """Copy this machine's run of the current full key into ``results/<name>/`` (no checkpoints:
    the files a page reads and run.json, with the code key added)."""
    out = local_run_folder(name)
    if not intact_run(out):
        raise SnippetFailed(f"no intact local run of {name} for the current code: run {REFRESH}")
    folder = record_folder(name)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    for file in _checked_files(out):
        (partial / file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / file, partial / file)
    run = json.loads((out / "run.json").read_text())
    run["code_key"] = code_key(name, default_args())
    (partial / "run.json").write_text(json.dumps(run, indent=1))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(partial, folder)
    return folder


def _sources_folder(name: str, args: list[str], quiet: bool) -> Path | None:
    """For a snippet that reads other snippets' runs: a temporary ``--sources`` folder of links
    to their cached runs (same scale, device and seed), laid out as ``<page>/<name>/``."""
    sources = named_snippets(name)
    if not sources:
        return None
    passed = args[args.index("--seed"):args.index("--seed") + 2] if "--seed" in args else []
    folder = Path(tempfile.mkdtemp(prefix="fieldguide-sources-"))
    for source in sources:
        run = run_snippet(source, scale=args[args.index("--scale") + 1], device=args[args.index("--device") + 1],
                          extra_args=passed, quiet=quiet)
        (folder / source).parent.mkdir(parents=True, exist_ok=True)
        (folder / source).symlink_to(run.out, target_is_directory=True)
    return folder


def _run(name: str, args: list[str], key: str, out: Path, quiet: bool, timeout: float | None) -> SnippetRun:
    sources = _sources_folder(name, args, quiet)
    try:
        return _run_with(name, args + (["--sources", str(sources)] if sources else []), key, out, quiet, timeout)
    finally:
        if sources:
            shutil.rmtree(sources, ignore_errors=True)


def _run_with(name: str, args: list[str], key: str, out: Path, quiet: bool, timeout: float | None) -> SnippetRun:
    shown = f"snippets/{name}.py {' '.join(args)}"
    if not quiet:
        print(f"fieldguide: running {shown}", file=sys.stderr, flush=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{key}.partial-", dir=out.parent))
    started = time.perf_counter()
    env = {**SITE_RUN_ENVIRONMENT, **os.environ, "PYTHONUNBUFFERED": "1"}
    with open(partial / "stdout.txt", "w") as stdout, open(partial / "stderr.txt", "w") as stderr:
        process = subprocess.Popen([sys.executable, str(snippet_path(name)), *args, "--out", str(partial)],
                                   cwd=REPO, stdout=stdout, stderr=stderr, env=env)
        killer = threading.Timer(timeout, process.kill) if timeout else None
        if killer:
            killer.start()
        _, status, usage = os.wait4(process.pid, 0)  # this run's own resource use, peak memory included
        process.returncode = code = os.waitstatus_to_exitcode(status)
        if killer:
            killer.cancel()
    seconds = time.perf_counter() - started
    if timeout and code != 0 and seconds >= timeout:
        with open(partial / "stderr.txt", "a") as stderr:
            stderr.write(f"fieldguide: killed at the {timeout:.0f} s limit\n")
    if code != 0 or not (partial / "results.json").is_file():
        tail = (partial / "stderr.txt").read_text().strip().splitlines()[-15:]
        failed = out.with_name(f"{key}.failed")
        shutil.rmtree(failed, ignore_errors=True)
        os.replace(partial, failed)  # kept for a look; never served
        raise SnippetFailed(
            f"{shown} failed (exit {code}) after {seconds:.0f} s; stderr ends:\n" + "\n".join(tail))
    device = args[args.index("--device") + 1]
    (partial / "run.json").write_text(json.dumps(
        {"command": shown, "seconds": round(seconds, 2), "key": key, "device": device_used(device),
         "python": platform.python_version(), "environment": result_environment(),
         "provenance": provenance(device, seconds, usage.ru_maxrss * 1024),
         "sha256": {f: file_sha256(partial / f) for f in _checked_files(partial)}}, indent=1))
    shutil.rmtree(out, ignore_errors=True)  # a damaged earlier run of this key (under the lock)
    os.replace(partial, out)
    if not quiet:
        print(f"fieldguide: done {shown} in {seconds:.1f} s", file=sys.stderr, flush=True)
    return load_run(name, out, cached=False)


def cached_check(name: str, compute, *key_parts: str) -> dict:
    """What ``compute()`` returns (JSON data: a DDP run's losses, a CLI harness's answers),
    computed once per run key of snippet ``name`` plus ``compute``'s own source and
    ``key_parts``: a test re-asserts it on every run, and recomputes it when the snippet, the
    library it imports, the environment or the checking code changes."""
    import inspect

    try:
        code = inspect.getsource(compute)
    except OSError:  # defined where no source file exists: its compiled code stands in
        code = compute.__code__.co_code.hex() + repr(compute.__code__.co_consts)
    key = run_key(name, ["--check", code, *key_parts])
    path = runs_dir() / name / f"{key}.check.json"
    with file_lock(path.with_suffix(".lock")):
        if path.is_file():
            try:
                return json.loads(path.read_text())
            except ValueError:
                pass
        data = compute()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".partial")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)
        return data


def load_run(name: str, out: Path, cached: bool) -> SnippetRun:
    run = json.loads((out / "run.json").read_text())
    return SnippetRun(
        name=name, out=out, stdout=(out / "stdout.txt").read_text(),
        results=json.loads((out / "results.json").read_text()),
        seconds=run["seconds"], cached=cached, record=run,
    )
