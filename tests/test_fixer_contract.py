"""Every fixer keeps the contract of DESIGN.md §3, so that the next one is added the same way.

Its module docstring has the sections of :data:`remediate.kube.fixer.DOC_SECTIONS` in order (it
is what ``--explain`` prints and SARIF's rule help); every field of its ``Options`` is documented
under "Options"; it declares the keys it ``writes``; it has a row in the crosswalk to other
scanners and in the README's table of fixers; ids and codes are unique, and the id is the module's
name. ``scripts/new_fixer.py`` scaffolds a fixer that keeps it from the start.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from remediate.kube.crosswalk import CROSSWALK
from remediate.kube.fixer import DOC_SECTIONS, Fixer
from remediate.run import registry
from tests.conftest import ROOT

FIXERS = registry.all_fixers()


def sections(fixer: type[Fixer]) -> dict[str, str]:
    """The docstring's sections by heading (a line ``Heading:`` at the left margin)."""
    doc = sys.modules[fixer.__module__].__doc__ or ""
    parts = re.split(r"^([A-Z][A-Za-z ]+):\n", doc, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


@pytest.mark.parametrize("fixer", FIXERS, ids=[f.id for f in FIXERS])
def test_the_docstring_has_every_section_in_order(fixer: type[Fixer]) -> None:
    assert tuple(sections(fixer)) == DOC_SECTIONS
    assert all(text.strip() for text in sections(fixer).values())


@pytest.mark.parametrize("fixer", FIXERS, ids=[f.id for f in FIXERS])
def test_every_option_is_documented(fixer: type[Fixer]) -> None:
    documented = sections(fixer)["Options"]
    for field in dataclasses.fields(fixer.Options):
        name = field.name.replace("_", "-")
        assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", documented), f"{fixer.id}: {name}"


@pytest.mark.parametrize("fixer", FIXERS, ids=[f.id for f in FIXERS])
def test_it_declares_what_it_writes_and_has_a_crosswalk_and_readme_row(fixer: type[Fixer]) -> None:
    assert fixer.writes and all(isinstance(key, str) and key for key in fixer.writes)
    assert CROSSWALK.get(fixer.id), f"{fixer.id} has no row in remediate/kube/crosswalk.py"
    readme = (ROOT / "README.md").read_text()
    assert re.search(rf"^\| {fixer.code} \| `{fixer.id}` \| .+ \|$", readme, re.MULTILINE), (
        f"README row of {fixer.id}"
    )


def test_ids_codes_and_modules_agree() -> None:
    assert len({f.id for f in FIXERS}) == len({f.code for f in FIXERS}) == len(FIXERS)
    for fixer in FIXERS:
        assert fixer.__module__ == "fixers." + fixer.id.replace("-", "_")
        assert re.fullmatch(r"K8S\d{3}", fixer.code)
    assert set(registry.checks()) == {f.id for f in FIXERS} | {"schema", "unknown-ignore"}


def test_the_scaffold_makes_a_fixer_that_keeps_the_contract(tmp_path: Path) -> None:
    """``scripts/new_fixer.py`` in a copy of the fixers package: the new module registers, its docstring
    has every section, and its golden folder and test exist."""
    for part in ("fixers", "golden", "tests"):
        (tmp_path / part).mkdir()
    for module in (ROOT / "fixers").glob("*.py"):
        (tmp_path / "fixers" / module.name).write_text(module.read_text())
    made = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "new_fixer.py"), "host-namespaces", "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    module = tmp_path / "fixers" / "host_namespaces.py"
    text = module.read_text()
    assert 'id = "host-namespaces"' in text and 'code = "K8S007"' in text
    for heading in DOC_SECTIONS:
        assert f"\n{heading}:\n" in text
    assert sorted(p.name for p in (tmp_path / "golden" / "host-namespaces").iterdir()) == [
        "compliant.in.yaml",
        "fixes.in.yaml",
        "keeps-comments.in.yaml",
    ]
    assert (tmp_path / "tests" / "test_host_namespaces.py").exists()
    again = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "new_fixer.py"), "host-namespaces", "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 2 and "already exists" in again.stderr
