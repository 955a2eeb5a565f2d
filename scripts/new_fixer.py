"""Scaffold a new fixer: its module, its golden folder and its test, in the shape every fixer keeps.

    python scripts/new_fixer.py host-namespaces [--root DIR]

writes ``fixers/host_namespaces.py`` (the class, ``Options``, ``writes`` and a docstring with every
section to fill in, with the next free code), ``golden/host-namespaces/`` with the three cases
every fixer needs (it fixes, it leaves alone, it keeps comments) and ``tests/test_host_namespaces.py``,
whose tests fail until the fixer finds and fixes the first case. Then: write the check, run
``pytest --update-goldens``, review the ``.out`` and ``.findings`` files, add the README row and
the crosswalk row (``tests/test_fixer_contract.py`` asks for both). Nothing is overwritten: an
existing file stops the scaffold (exit code 2).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MODULE = '''"""{title} (one line: the problem this fixer finds, as --list-fixers shows it).

What it does:
    Which objects and fields it looks at, what counts as the problem, and what the fix writes.

Why it matters:
    What goes wrong in a cluster without the fix, and which scanners report it.

Example:
    Before::

        apiVersion: v1
        kind: Pod

    After::

        apiVersion: v1
        kind: Pod

Options:
    None.

Fix safety:
    For each fix: safe (it cannot stop a working object from working, given what k8sfix sees), or
    unsafe (usually right, but it can break some workloads), and why.

Limitations:
    What it does not see or does not fix, and what it reports instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from remediate.kube.findings import Finding
from remediate.kube.fixer import Context, Fixer
from remediate.kube.k8s import Manifest, pod_template


@dataclass(frozen=True)
class Options:
    """The fixer's options; each field is an option (``snake_case`` here, ``kebab-case`` in the config)."""


class {cls}(Fixer):
    id = "{id}"
    code = "{code}"
    Options = Options
    writes = ("{first_key}",)

    def check(self, manifest: Manifest, ctx: Context) -> Iterator[Finding]:
        template = pod_template(manifest, ctx.pod_kinds)
        if template is None:
            return
        yield from ()  # find the problem; yield self.finding(manifest, node, message, fix=(title, build))
'''

TEST = '''"""The {id} fixer: it finds and fixes ``golden/{id}/fixes.in.yaml``, and leaves the
compliant case alone."""

from __future__ import annotations

from tests.conftest import GOLDEN
from tests.helpers import fix_text

SELECT = ["{id}"]


def test_it_finds_and_fixes_the_problem() -> None:
    result = fix_text((GOLDEN / "{id}" / "fixes.in.yaml").read_text(), SELECT)
    assert result.findings and result.output is not None and not result.unfixed


def test_it_leaves_a_compliant_object_alone() -> None:
    result = fix_text((GOLDEN / "{id}" / "compliant.in.yaml").read_text(), SELECT)
    assert not result.findings and result.output is None
'''

POD = (
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"
    "spec:\n  containers:\n  - name: web\n    image: nginx:1.25\n"
)
GOLDEN_CASES = {
    "fixes.in.yaml": "# the problem, as real manifests have it\n" + POD,
    "compliant.in.yaml": "# TODO: the same object without the problem (must stay byte-identical)\n" + POD,
    "keeps-comments.in.yaml": POD.replace(
        "  containers:\n", "  containers:   # the app\n  # sidecars below\n"
    ),
}


def next_code(fixers: Path) -> str:
    """One more than the highest ``K8S0NN`` code of the fixers present (K8S1NN are other checks)."""
    codes = [
        int(match)
        for path in fixers.glob("*.py")
        for match in re.findall(r'code = "K8S(0\d\d)"', path.read_text())
    ]
    return f"K8S{max(codes, default=0) + 1:03d}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("id", help="the fixer's id, lowercase words joined by dashes: host-namespaces")
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="the checkout to write into (default: this one)"
    )
    args = parser.parse_args(argv)
    fixer_id: str = args.id
    if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", fixer_id):
        print(
            f"new_fixer: error: {fixer_id!r} is not an id (lowercase words joined by dashes)", file=sys.stderr
        )
        return 2
    module = fixer_id.replace("-", "_")
    root: Path = args.root
    targets = {
        root / "fixers" / f"{module}.py": MODULE.format(
            title=fixer_id.replace("-", " ").capitalize(),
            cls="".join(word.capitalize() for word in fixer_id.split("-")),
            id=fixer_id,
            code=next_code(root / "fixers"),
            first_key="TODO: the keys it writes",
        ),
        root / "tests" / f"test_{module}.py": TEST.format(id=fixer_id),
        **{root / "golden" / fixer_id / name: text for name, text in GOLDEN_CASES.items()},
    }
    existing = [path for path in targets if path.exists()]
    if existing:
        print(f"new_fixer: error: {existing[0]} already exists; nothing written", file=sys.stderr)
        return 2
    for path, text in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
