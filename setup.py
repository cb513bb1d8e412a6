"""Build hook: the wheel ships every snippet's claims file and the spread record under
fieldguide/snippet_claims/, so `fieldguide check` works outside the repository. (In the
repository, fieldguide.claims reads snippets/ and benchmarks/results/ directly.)"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithClaims(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / "fieldguide" / "snippet_claims"
        for source in sorted(Path("snippets").glob("*/*.claims.toml")):
            destination = target / source.relative_to("snippets")
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
        shutil.copyfile(Path("benchmarks") / "results" / "claim_spread.json", target / "claim_spread.json")


setup(cmdclass={"build_py": BuildPyWithClaims})
