"""MkDocs hooks (listed in mkdocs.yml): executed results and quizzes in pages."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from mkdocs.exceptions import PluginError

from fieldguide.site import executed_results, quizzes

log = logging.getLogger("mkdocs.hooks.fieldguide")


def on_config(config):
    # mkdocs-jupyter caches executed notebooks by their text alone; key its cache by the
    # library too, so a notebook re-runs when the code it imports changes.
    from fieldguide.execute import library_digest

    jupyter = config.plugins.get("mkdocs-jupyter")
    if jupyter is not None:
        jupyter.config["cache_dir"] = f".cache/mkdocs-jupyter/{library_digest()[:16]}"
        if not executed_results.executing():
            jupyter.config["execute"] = False  # --no-exec previews: notebooks show code only
    return config


def on_startup(command, dirty):
    if not executed_results.executing():
        log.info("FIELDGUIDE_EXECUTE=0: snippets are not executed; pages say so")


FRAGMENT = re.compile(r'^--8<-- "([\w/.-]+\.md)"\s*$', re.MULTILINE)
REPO = Path(__file__).resolve().parents[3]


def expand_fragments(markdown: str, page_path: str) -> str:
    """Inline ``--8<-- "snippets/<page>/<name>.md"`` fragments before directives are read.

    A snippet's page section can live beside the snippet as a Markdown fragment; its
    result directives must be rendered too, so fragments are expanded here rather than
    by pymdownx.snippets (which runs later, after this hook).
    """
    def inline(match: re.Match) -> str:
        path = REPO / match.group(1)
        if not path.is_file():
            raise PluginError(f"{page_path}: included fragment {match.group(1)} does not exist")
        return path.read_text(encoding="utf-8")

    return FRAGMENT.sub(inline, markdown)


def on_page_markdown(markdown, page, config, files):
    markdown = expand_fragments(markdown, page.file.src_uri)
    try:
        markdown = quizzes.render(markdown, page.file.src_uri, Path(config["docs_dir"]))
    except quizzes.QuizError as err:
        raise PluginError(str(err)) from None
    try:
        return executed_results.render(markdown, page.file.src_uri)
    except executed_results.DirectiveError as err:
        raise PluginError(str(err)) from None
