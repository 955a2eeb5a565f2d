"""k8sfix reads YAML values as Kubernetes does (:mod:`remediate.yaml.values`), checked against Kubernetes'
own reader, not against our idea of it.

``tests/goyaml/scalars.jsonl`` holds, for every scalar of ``scalars.txt``, the JSON that go-yaml v2
behind ``YAMLToJSON`` (ghodss/yaml, which sigs.k8s.io/yaml grew from; kubectl and the API server use
the latter) makes of it as a value and as a key. It is the output of ``tests/goyaml/oracle.go``; where
Go and Debian's go-yaml packages are installed (``apt install golang-go golang-gopkg-yaml.v2-dev
golang-github-ghodss-yaml-dev``) the test rebuilds it and compares. The cases of the hardening issue
follow, through the fixers: ``privileged: y``, a label ``t: 1:20``, keys ``1`` and ``true``, and JSON
surrogate escapes.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from remediate.yaml.document import parse
from remediate.yaml.source import InputError
from remediate.yaml.values import is_plain_string, key_text, plain_value, to_data
from tests.helpers import fix_text, fixed_or_same

ORACLE = Path(__file__).parent / "goyaml"
RECORDS = [json.loads(line) for line in (ORACLE / "scalars.jsonl").read_text().splitlines()]
GO_YAML_SOURCES = "/usr/share/gocode/src/github.com/ghodss/yaml"


def same_json(ours: object, theirs: object) -> bool:
    """Equal as JSON values: true is not 1, and 8.0 is 8 (JSON has one kind of number)."""
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return ours is theirs
    if isinstance(ours, (int, float)) and isinstance(theirs, (int, float)):
        return math.isclose(ours, theirs, rel_tol=1e-15)
    return ours == theirs and type(ours) is type(theirs)


def test_a_whole_float_is_the_integer_the_api_server_gets() -> None:
    """``08080`` and ``8.08e3`` are go-yaml floats, written to JSON as ``8080``: a port, to Kubernetes."""
    (document,) = parse("a: 08080\nb: 8.08e3\nc: 1.5\nd: 1.0001e4\n")
    assert to_data(document.root) == {"a": 8080, "b": 8080, "c": 1.5, "d": 10001}
    assert all(type(v) is int for k, v in to_data(document.root).items() if k != "c")


@pytest.mark.parametrize("record", RECORDS, ids=[r["text"] for r in RECORDS])
def test_a_plain_scalar_reads_as_go_yaml_reads_it(record: dict[str, str]) -> None:
    ours = plain_value(record["text"])
    if "value" in record:
        assert same_json(ours, json.loads(record["value"])["v"]), (ours, record)
    else:  # JSON has no infinities or NaN: kubectl refuses them, k8sfix reads them as go-yaml does
        assert (
            isinstance(ours, float)
            and not math.isfinite(ours)
            and "unsupported value" in record["value_error"]
        )
    if "key" in record:
        (theirs,) = json.loads(record["key"])
        assert key_text(ours) == theirs
    else:  # a null key or one beyond int64: sigs.k8s.io/yaml refuses the object
        assert "Unsupported map key" in record["key_error"]


@pytest.mark.skipif(
    shutil.which("go") is None or not os.path.isdir(GO_YAML_SOURCES),
    reason="Go and Debian's go-yaml packages are not installed (the recorded table is checked above)",
)
def test_the_recorded_table_is_what_go_yaml_says(tmp_path: Path) -> None:
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": "/usr/share/gocode", "GOCACHE": str(tmp_path)}
    result = subprocess.run(
        ["go", "run", str(ORACLE / "oracle.go")],
        input=(ORACLE / "scalars.txt").read_bytes(),
        capture_output=True,
        env=env,
        timeout=300,
        check=True,
    )
    assert [json.loads(line) for line in result.stdout.decode().splitlines()] == RECORDS


def test_strings_any_reader_takes_for_something_else_are_not_written_plain() -> None:
    for text in ("y", "N", "on", "1:20", "08", "1e3", "0o17", "2023-10-01", ".5", "null", "0400"):
        assert not is_plain_string(text), text
    for text in ("Always", "100m", "64Mi", "nginx:1.25", "web", "._", "1Gi"):
        assert is_plain_string(text), text


# -- keys -----------------------------------------------------------------------------------


def test_keys_are_the_text_kubernetes_makes_of_them() -> None:
    """``1`` and ``true`` are the keys "1" and "true": two keys (Python's ``1 == True`` made them one).
    ``true`` and ``on`` are both "true", and ``1`` and ``'1'`` both "1": duplicates."""
    (document,) = parse("data:\n  1: a\n  true: b\n  1.5: c\n")
    assert to_data(document.root) == {"data": {"1": "a", "true": "b", "1.5": "c"}}
    for text, key in (("data:\n  1: a\n  '1': b\n", "1"), ("data:\n  true: a\n  on: b\n", "on")):
        with pytest.raises(InputError, match=f'duplicate key "{key}"') as caught:
            parse(text)
        assert (caught.value.line, caught.value.column) == (3, 3)


# -- through the fixers ---------------------------------------------------------------------

PRIVILEGED_Y = """apiVersion: v1
kind: Pod
metadata: {name: tools}
spec:
  containers:
  - name: tools
    image: busybox
    securityContext:
      privileged: y
"""


def test_privileged_y_is_a_privileged_container_left_as_it_is() -> None:
    """``y`` is true to Kubernetes: adding ``allowPrivilegeEscalation: false`` beside it gave an object
    the API server rejects (privileged containers always allow escalation)."""
    result = fix_text(PRIVILEGED_Y, ["security-context"])
    assert "allowPrivilegeEscalation" not in fixed_or_same(result)
    assert any("privileged" in f.message for f in result.unfixed)


LABELLED = """apiVersion: apps/v1
kind: Deployment
metadata: {name: cron}
spec:
  selector:
    matchLabels:
      t: 1:20
  template:
    metadata:
      labels:
        t: 1:20
    spec:
      containers: [{name: c, image: busybox}]
"""


def test_a_label_value_1_20_is_the_string_it_is_in_a_new_policy() -> None:
    """go-yaml has no base-60 numbers: ``1:20`` is a string (YAML 1.1 made it 80, and the new policy
    selected ``t: "80"``, pods that do not exist)."""
    output = fixed_or_same(fix_text(LABELLED, ["network-policy"]))
    policy = to_data(parse(output)[1].root)
    assert policy["spec"]["podSelector"] == {"matchLabels": {"t": "1:20"}}
    assert 't: "1:20"' in output


SURROGATES = """{
  "apiVersion": "v1",
  "kind": "Pod",
  "metadata": {"name": "smile", "annotations": {"mood": "\\ud83d\\ude00", "odd": "\\ud83d"}},
  "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}
}
"""


def test_json_surrogate_escapes_are_valid_and_kept() -> None:
    (document,) = parse(SURROGATES)
    assert to_data(document.root)["metadata"]["annotations"] == {"mood": "\U0001f600", "odd": "\ufffd"}
    output = fixed_or_same(fix_text(SURROGATES, ["image-pull-policy"], name="pod.json"))
    assert '"imagePullPolicy": "Always"' in output
    assert '"mood": "\\ud83d\\ude00"' in output  # the text is kept as it was written
    json.loads(output)


def test_surrogate_escapes_in_yaml_are_an_error_as_they_are_for_kubectl() -> None:
    with pytest.raises(InputError, match="invalid Unicode character escape"):
        parse('mood: "\\ud83d\\ude00"\n')


def test_a_float_beyond_float32_is_read_as_go_yaml_reads_it_without_a_crash() -> None:
    """``3.5e38`` as a key is ``.inf`` to sigs.k8s.io/yaml (the float32 overflows); as a value a float.
    Its conversion to text crashed every run that met one, in any file."""
    (document,) = parse("x: 3.5e38\n3.5e38: a\n-1e39: b\n")
    assert to_data(document.root) == {"x": 3.5e38, ".inf": "a", "-.inf": "b"}


INGRESS = """apiVersion: extensions/v1beta1
kind: Ingress
metadata: {name: shop}
spec:
  rules:
  - http:
      paths:
      - path: /
        backend: {serviceName: web, servicePort: 08080}
"""

PORTED = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 1.0001e4, runAsGroup: 10001}
      containers:
      - name: web
        image: nginx
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 08080}]
"""


def test_whole_floats_are_the_integers_kubectl_sends() -> None:
    """``08080`` and ``1.0001e4`` are floats to go-yaml and integers in the JSON kubectl sends."""
    ingress = fixed_or_same(fix_text(INGRESS, ["deprecated-api"]))
    assert "service: {name: web, port: {number: 8080}}" in ingress
    probes = fix_text(PORTED, ["container-probes"])
    assert "readinessProbe" in fixed_or_same(probes)
    security = fix_text(PORTED, ["security-context"])
    assert not [f for f in security.findings if "runAsUser" in f.message]
    assert "run-as-user" not in {f.rule for f in security.findings}  # 1.0001e4 is the user 10001


def test_line_separators_in_a_new_value_are_escaped() -> None:
    """NEL and U+2028 are line breaks to YAML, even inside quotes: written raw, the value changed."""
    from remediate.yaml import render

    rendered = render.scalar("one\u2028two\x85three")
    assert rendered == '"one\\u2028two\\u0085three"'
    (document,) = parse(f"v: {rendered}\n")
    assert to_data(document.root) == {"v": "one\u2028two\x85three"}
