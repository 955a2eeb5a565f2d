"""Fix safety: what each fixer's docstring says of its fixes is what the code does.

A fixer's "Fix safety" section has one bullet per rule (``- ``rule``: ...``), or, for a fixer
without rules, bullets that start with the class they describe (``- safe: ...``). Every finding
of the golden cases and of the corpus (all fixers, unsafe fixes on) is held to it: its rule has a
bullet, and that bullet names the class its fix has ("safe" or "unsafe" as a word). A bullet that
says only "unsafe" cannot cover a fix the code calls safe.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

import pytest

from remediate.kube import workload_guard
from remediate.kube.findings import Finding
from remediate.kube.fixer import Fixer
from remediate.kube.k8s import BUILTIN_POD_KINDS, manifests
from remediate.run import registry
from remediate.yaml.document import parse
from remediate.yaml.model import Applicability
from tests.test_corpus import ALL, fixed_corpus
from tests.test_fixer_contract import sections
from tests.test_golden import CASES, _run

FIXERS = registry.all_fixers()
CLASSES = {Applicability.SAFE: "safe", Applicability.UNSAFE: "unsafe"}


def bullets(fixer: type[Fixer]) -> dict[str, str]:
    """The Fix safety bullets by what their head (the text before the first colon outside
    ````code````) names: rules (````rule````, several for one bullet), or a class word."""
    text = sections(fixer)["Fix safety"]
    found: dict[str, str] = {}
    for bullet in re.split(r"^\s*- ", text, flags=re.MULTILINE)[1:]:
        plain = re.sub(r"``[^`]*``", lambda code: code.group().replace(":", ""), bullet)
        head = plain.split(":", 1)[0]
        names = re.findall(r"``([a-z-]+)``", head) if fixer.rules else re.findall(r"^(safe|unsafe)\b", head)
        assert names, f"{fixer.id}: a Fix safety bullet names neither a rule nor a class: {bullet[:60]!r}"
        for name in names:
            found[name] = " ".join(bullet.split())
    return found


def says(bullet: str, applicability: Applicability) -> bool:
    return re.search(rf"(?<![\w-]){CLASSES[applicability]}\b", bullet, re.IGNORECASE) is not None


@pytest.mark.parametrize("fixer", FIXERS, ids=[f.id for f in FIXERS])
def test_every_rule_has_a_bullet_and_every_bullet_a_rule(fixer: type[Fixer]) -> None:
    found = bullets(fixer)
    if fixer.rules:
        assert set(fixer.rules) <= set(found), f"{fixer.id}: rules without a bullet"
        assert set(found) <= set(fixer.rules), f"{fixer.id}: bullets of unknown rules"
    else:
        assert found and set(found) <= {"safe", "unsafe"}


def observed() -> Iterator[Finding]:
    for case in CASES:
        _, result = _run(case, case.read_bytes())
        yield from result.findings  # type: ignore[attr-defined]
    for _, result in fixed_corpus(ALL):
        yield from result.findings


@pytest.mark.xdist_group("corpus-all")
def test_every_fix_is_of_a_class_its_docstring_names() -> None:
    by_id = registry.by_id()
    seen: Counter[tuple[str, str, str]] = Counter()
    for finding in observed():
        if finding.fix is None or finding.fix.applicability is Applicability.DISPLAY_ONLY:
            continue
        fixer = by_id[finding.fixer]
        found = bullets(fixer)
        bullet = found[finding.rule] if fixer.rules else found.get(CLASSES[finding.fix.applicability], "")
        assert says(bullet, finding.fix.applicability), (finding.rule_id, finding.fix.applicability, bullet)
        seen[finding.fixer, finding.rule, CLASSES[finding.fix.applicability]] += 1
    print("\nfixes by fixer, rule and class:", dict(sorted(seen.items())))
    assert {key[2] for key in seen} == {"safe", "unsafe"}


@pytest.mark.parametrize(
    "unsafe",
    [
        pytest.param(False, id="default", marks=pytest.mark.xdist_group("corpus-default")),
        pytest.param(True, id="unsafe-fixes", marks=pytest.mark.xdist_group("corpus-all")),
    ],
)
def test_fixing_the_corpus_brings_in_no_problem_the_workload_guard_knows(unsafe: bool) -> None:
    """Every object of the corpus after fixing has no workload problem its input did not have
    (:mod:`remediate.kube.workload_guard`), and the refusals are counted by rule."""
    refused: Counter[str] = Counter()
    classes: Counter[tuple[str, str]] = Counter()
    unsafe_gone: set[str] = set()
    worse: list[str] = []
    for source, result in fixed_corpus(ALL, unsafe):
        for finding in result.findings:
            if "the workload guard refuses it" in finding.message:
                refused[finding.rule_id] += 1
            elif finding.fix is not None and finding.identity in result.fixed:
                classes[finding.fixer, CLASSES[finding.fix.applicability]] += 1
                if finding.fix.applicability is Applicability.UNSAFE:
                    unsafe_gone.add(finding.rule_id)
        if result.output is None:
            continue
        before = {(m.document.index, m.node.path()): m for m in manifests(parse(source.text))}
        for manifest in manifests(parse(result.output)):
            old = before.get((manifest.document.index, manifest.node.path()))
            known = {p.key for p in workload_guard.problems(old, BUILTIN_POD_KINDS)} if old else set()
            worse += [
                f"{source.name}: {p.message}"
                for p in workload_guard.problems(manifest, BUILTIN_POD_KINDS)
                if p.key not in known
            ]
    print(
        f"\nfixed by fixer and class ({'unsafe fixes on' if unsafe else 'default'}):",
        dict(sorted(classes.items())),
    )
    print("refused by the workload guard, by rule:", dict(refused))
    assert not worse, worse[:10]
    assert sum(classes.values()) > (9000 if unsafe else 2000)
    # a default run applies safe fixes only; the pod's runAsNonRoot becomes safe (it changes nothing)
    # once the safe fixes gave every container its image's own user id, and is applied then
    assert unsafe or unsafe_gone <= {"security-context/run-as-non-root"}, unsafe_gone
