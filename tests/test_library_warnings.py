"""Issue 27 §3: the next removal in transformers, peft or trl shows up here before it breaks a reader.

Every snippet's run keeps its stderr. A deprecation warning there (DeprecationWarning,
FutureWarning, PendingDeprecationWarning) fails this test unless it is listed below as raised
inside a library by the library's own calls, with the reason it is not ours to fix. A warning our
code causes (an argument we pass, a function we call) is fixed in the snippet instead.
"""

from __future__ import annotations

import re

from fieldguide_site.execute import run_snippet
from fieldguide_site.records import all_snippets

WARNING = re.compile(r"^(?P<where>\S+?):\d+: (?P<category>\w*(?:Deprecation|Future)Warning): (?P<message>.*)$")
# (module the warning is raised in, message pattern): why it is not a call of ours.
KNOWN = {
    ("transformers/modeling_utils.py", r"`is_gradient_checkpointing` is deprecated"):
        "peft's get_peft_model and trl's trainers ask the model under the old name (peft 0.21.2, trl 1.16.0); "
        "no snippet calls it",
}


# transformers also announces deprecations through its logger: "[transformers] `x` is deprecated. Use `y`."
LOGGED = re.compile(r"^\[(?P<where>transformers|peft|trl|accelerate)\] (?P<message>.*\bdeprecated\b.*)$")


def deprecations(stderr: str) -> list[tuple[str, str, str]]:
    found = []
    for line in stderr.splitlines():
        match = WARNING.match(line.strip())
        if match:
            where = re.sub(r"^.*site-packages/", "", match["where"])
            found.append((where, match["category"], match["message"]))
        elif logged := LOGGED.match(line.strip()):
            found.append((logged["where"], "logged deprecation", logged["message"]))
    return found


def is_known(where: str, message: str) -> bool:
    return any(where == module and re.search(pattern, message) for module, pattern in KNOWN)


def test_the_warning_reader_finds_a_library_deprecation():
    line = ("/x/.venv/lib/python3.11/site-packages/transformers/training_args.py:1541: FutureWarning: "
            "`gradient_checkpointing` is deprecated and will be removed in v6. Use `activation_checkpointing` instead.")
    assert deprecations(line) == [("transformers/training_args.py", "FutureWarning",
                                   "`gradient_checkpointing` is deprecated and will be removed in v6. "
                                   "Use `activation_checkpointing` instead.")]
    assert not is_known(*deprecations(line)[0][::2])
    logged = "[transformers] `past_key_values`/`cache_params` are deprecated. Use `cache` instead."
    assert deprecations(logged) == [("transformers", "logged deprecation",
                                     "`past_key_values`/`cache_params` are deprecated. Use `cache` instead.")]


def test_no_snippet_run_raises_a_deprecation_of_ours():
    unexplained = {}
    for name in all_snippets():
        stderr = run_snippet(name).out / "stderr.txt"
        found = [f"{where}: {category}: {message}" for where, category, message in
                 deprecations(stderr.read_text(encoding="utf-8", errors="replace") if stderr.is_file() else "")
                 if not is_known(where, message)]
        if found:
            unexplained[name] = sorted(set(found))
    assert not unexplained, "deprecations in the snippets' runs (fix the call, or list a library's own in KNOWN):\n" + \
        "\n".join(f"{name}:\n  " + "\n  ".join(lines) for name, lines in unexplained.items())
