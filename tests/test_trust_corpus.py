"""Trust figures on the real corpus with every fixer on: what a user handing k8sfix a whole
repository needs to hold.

``tests/test_corpus.py`` already runs the same files per fixer and with all fixers, and checks that
nothing crashes, that every added line is a fix line and that a second run changes nothing. This
module adds what it does not measure, on the all-fixers output:

- every changed file parses again;
- every object the Kubernetes schema accepted before (``kubernetes-validate``, the newest version it
  knows, not strict) is still accepted after, and so is every object a fixer added;
- not one line of the input is removed or altered unless it only gained text or holds a value the
  fix changed (:func:`tests.fidelity.altered_lines`, which does not rely on fixer key names);
- every comment of the input is in the output.

The figures are printed (``pytest -s``); the test fails when any count of problems is not zero.
"""

from __future__ import annotations

import time
from typing import Any

import kubernetes_validate
import pytest

from remediate.run.results import Status
from remediate.yaml.values import to_data
from tests import reference_schema
from tests.fidelity import altered_lines, comments, lost_comments, parse
from tests.helpers import noise_lines
from tests.test_corpus import ALL, KNOWN_INVALID, corpus_sources, fixed_corpus


def schema_verdict(obj: Any, version: str, validate: Any = reference_schema.validate) -> str:
    """``valid``, ``invalid: <why>``, or ``unknown`` (no schema: a custom resource or a removed API)."""
    if not (
        isinstance(obj, dict) and isinstance(obj.get("kind"), str) and isinstance(obj.get("apiVersion"), str)
    ):
        return "unknown"
    try:
        validate(obj, version, strict=False)
    except kubernetes_validate.SchemaNotFoundError:
        return "unknown"
    except kubernetes_validate.ValidationError as exc:
        return f"invalid: {'.'.join(map(str, exc.path))}: {exc.message[:120]}"
    return "valid"


@pytest.mark.xdist_group("corpus-all")
def test_all_fixers_keep_files_valid_comments_and_untouched_lines() -> None:
    version = reference_schema.latest_version()
    counts = ("files", "changed", "comments", "objects_checked", "objects_added")
    problem_counts = ("failed", "unparsable", "invalidated", "altered_lines", "lost_comments")
    figures = dict.fromkeys(counts + problem_counts, 0)
    problems: list[str] = []
    started = time.perf_counter()
    for source, result in fixed_corpus(ALL):
        figures["files"] += 1
        if result.status is Status.FAILED:
            if source.name not in KNOWN_INVALID:
                figures["failed"] += 1
                problems.append(f"{source.name}: failed: {result.errors}")
            continue
        if result.output is None:
            continue
        figures["changed"] += 1
        before = parse(source.text)
        try:
            after = parse(result.output)
        except Exception as exc:  # noqa: BLE001 - counted and shown, not raised
            figures["unparsable"] += 1
            problems.append(f"{source.name}: the output does not parse: {exc}")
            continue
        for document in after:
            if document.index < len(before):
                old = before[document.index].data
                if schema_verdict(old, version) != "valid":
                    continue
                new = "valid" if repr(document.data) == repr(old) else schema_verdict(document.data, version)
            else:
                new = schema_verdict(document.data, version)
                figures["objects_added"] += 1
            figures["objects_checked"] += 1
            if new != "valid":
                figures["invalidated"] += 1
                problems.append(f"{source.name} document {document.index + 1}: {new}")
        altered = altered_lines(source.text, result.output)
        figures["altered_lines"] += len(altered)
        problems.extend(f"{source.name}: altered {line}" for line in altered[:3])
        figures["comments"] += len(comments(source.text, before))
        lost = lost_comments(source.text, result.output)
        figures["lost_comments"] += len(lost)
        problems.extend(f"{source.name}: lost comment {comment!r}" for comment in lost[:3])
    figures["seconds"] = round(time.perf_counter() - started, 1)
    print(f"\ntrust on the corpus, all fixers: {figures}")
    assert figures["files"] > 1000 and figures["changed"] > 500 and figures["comments"] > 1000
    assert not problems, "\n".join(problems[:30])


def test_the_schema_judge_gives_the_verdicts_of_kubernetes_validate_itself() -> None:
    """:mod:`tests.reference_schema` only caches what the library rebuilds for every object."""
    version = reference_schema.latest_version()
    verdicts: dict[str, int] = {}
    for source in corpus_sources()[::40]:
        for document in parse(source.text):
            obj = to_data(document.root)
            judged = schema_verdict(obj, version)
            assert judged == schema_verdict(obj, version, kubernetes_validate.validate), source.name
            verdicts[judged.split(":")[0]] = verdicts.get(judged.split(":")[0], 0) + 1
    assert verdicts["valid"] > 20 and verdicts["unknown"] > 2, verdicts


def test_the_measures_see_what_they_count() -> None:
    """The fidelity measures themselves: a lost comment and an altered line are seen, a fix is not."""
    old = 'a: "x # not a comment"  # one\n# two\nb: {c: 1}  # three\nd: IfNotPresent\ne: |\n  # text\n'
    assert comments(old) == ["# one", "# two", "# three"]
    fixed = old.replace("{c: 1}", "{c: 1, f: 2}").replace("IfNotPresent", "Always") + "g: 3\n"
    assert altered_lines(old, fixed) == [] and lost_comments(old, fixed) == []
    spoiled = old.replace("  # three", "").replace("d: IfNotPresent", "d:  IfNotPresent")
    assert lost_comments(old, spoiled) == ["# three"]
    assert altered_lines(old, spoiled) == ["line 3: 'b: {c: 1}  # three'", "line 4: 'd: IfNotPresent'"]


def test_the_noise_check_reads_keys_not_substrings() -> None:
    """A fixer that writes ``name`` does not excuse ``namespace: prod``; a list item under a key it
    writes, or a key it gained in a flow mapping, is its own."""
    old = "metadata:\n  labels: {app: a}\ndrop:\n- NET_RAW\n"
    new = "metadata:\n  namespace: prod\n  labels: {app: a, name: b}\ndrop:\n- NET_RAW\n- ALL\n"
    assert noise_lines(old, new, ("name", "drop")) == ["+  namespace: prod"]
    assert noise_lines(old, new, ("namespace", "name", "drop")) == []
