"""The image knowledge table (:mod:`remediate.kube.images`): its shape, how references are
matched, and the config's ``images:`` entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from remediate.kube import images
from remediate.kube.k8s import BUILTIN_POD_KINDS, containers, declared_ports, manifests, pod_template
from remediate.kube.quantities import Quantity
from remediate.run.config import ConfigError, load
from remediate.yaml.document import parse
from remediate.yaml.values import to_data
from tests.test_corpus import ALL, fixed_corpus


def test_every_entry_cites_its_source_and_holds_usable_facts() -> None:
    names = [name for entry in images.IMAGES for name in entry.names]
    assert len(names) == len(set(names)), "an image is known twice"
    assert len(names) >= 45  # the images the workload-knowledge issue lists, and more
    for entry in images.IMAGES:
        assert entry.source.startswith("https://"), entry.names
        assert all(name == images.repository(name) for name in entry.names), entry.names
        assert entry.user is None or entry.user >= 0
        assert not entry.switches or entry.user, f"{entry.names}: switches to which user?"
        assert all(path.startswith("/") for path in entry.writes or ()), entry.names
        assert all(1 <= port.number <= 65535 for port in entry.ports), entry.names
        assert all(port.health is None or port.protocol in ("http", "https", "grpc") for port in entry.ports)
        paths = [port.health for port in entry.ports if port.health is not None and port.protocol != "grpc"]
        assert all(path.startswith("/") for path in paths), entry.names
        assert set(entry.own_volume) <= set(entry.writes or ()), entry.names
        assert entry.memory_floor is None or Quantity.parse(entry.memory_floor) is not None
        assert entry.command is None or all(isinstance(word, str) and word for word in entry.command)


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("redis", "redis"),
        ("redis:7.2-alpine", "redis"),
        ("docker.io/library/redis@sha256:0123", "redis"),
        ("mirror.gcr.io/library/redis:7", "redis"),
        ("public.ecr.aws/docker/library/redis:7", "redis"),
        ("bitnami/redis:7.2", "bitnami/redis"),
        ("quay.io/prometheus/prometheus:v2.54.0", "prometheus/prometheus"),
        ("localhost:5000/team/api:1", "team/api"),
        ("registry.example:5000/team/api", "team/api"),
    ],
)
def test_references_are_matched_by_repository_whatever_the_registry_and_tag(
    reference: str, expected: str
) -> None:
    assert images.repository(reference) == expected


def test_the_official_and_the_bitnami_image_are_different_images() -> None:
    official, bitnami = images.BUILT_IN.lookup("redis:7"), images.BUILT_IN.lookup("bitnami/redis:7")
    assert official is not None and bitnami is not None
    assert (official.user, official.switches) == (999, True)
    assert (bitnami.user, bitnami.switches) == (1001, False)
    assert images.BUILT_IN.lookup("registry.example/redis-proxy:1") is None
    assert images.BUILT_IN.lookup(None) is None


def test_the_config_adds_entries_and_overrides_built_in_ones(tmp_path: Path) -> None:
    config = tmp_path / ".k8sfix.yaml"
    config.write_text(
        "images:\n- name: docker.io/library/redis\n  user: 4242\n"
        "- name: team/api\n  writes: [/tmp, /etc/api]\n  own-volume: [/etc/api]\n"
    )
    catalog = load(config).images
    redis, api = catalog.lookup("redis:7"), catalog.lookup("registry.example/team/api:3")
    assert redis is not None and redis.user == 4242 and not redis.switches
    assert api is not None and api.writes == ("/tmp", "/etc/api") and api.user is None
    assert api.scratch == ("/tmp",)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("- user: 1", "entry 1: needs a name"),
        ("- {name: a, color: blue}", "entry 1: unknown key 'color'"),
        ("- {name: a, writes: [tmp]}", "entry 1: writes must be a list of absolute paths"),
        ("- {name: a, writes: [/tmp], own-volume: [/etc]}", "entry 1: own-volume must list paths of writes"),
        ("- {name: a, user: -1}", "entry 1: user must be a user or group id"),
        ("- {name: a, ports: [{number: 80, protocol: ftp}]}", "entry 1: protocol must be"),
    ],
)
def test_a_bad_entry_is_a_config_error_at_its_line(tmp_path: Path, entry: str, message: str) -> None:
    config = tmp_path / ".k8sfix.yaml"
    config.write_text(f"select: [security-context]\nimages:\n{entry}\n")
    with pytest.raises(ConfigError) as error:
        load(config)
    assert f".k8sfix.yaml:3:1: error: images: {message}" in str(error.value)


@pytest.mark.xdist_group("corpus-all")
def test_on_the_corpus_no_probe_added_checks_a_known_non_http_port_with_http_get() -> None:
    """Every httpGet probe the fixers add on the corpus checks a port its image is not known to
    serve something else than HTTP on, and every probe of a declared-ports container checks one of
    them (the workload guard's rule, held here on the output)."""
    checked = 0
    for source, result in fixed_corpus(ALL):
        if result.output is None:
            continue
        before = {(m.document.index, m.node.path()): m for m in manifests(parse(source.text))}
        for manifest in manifests(parse(result.output)):
            template = pod_template(manifest, BUILTIN_POD_KINDS)
            old = before.get((manifest.document.index, manifest.node.path()))
            if template is None or old is None:
                continue
            old_template = pod_template(old, BUILTIN_POD_KINDS)
            old_containers = list(containers(old_template.spec)) if old_template else []
            for index, container in enumerate(containers(template.spec)):
                had = old_containers[index].node if index < len(old_containers) else None
                image = images.BUILT_IN.lookup(container.image)
                ports = {p.valid_number: p for p in declared_ports(container.node)}
                names = {p.name: p.valid_number for p in ports.values() if p.name}
                for key in ("readinessProbe", "livenessProbe"):
                    probe = container.node.get(key)
                    if probe is None or (had is not None and had.get(key) is not None):
                        continue
                    data = to_data(probe)
                    action = data.get("httpGet") or data.get("tcpSocket") or data.get("grpc")
                    if action is None:  # an exec check: no port
                        continue
                    port = action.get("port")
                    number = names.get(port, port) if isinstance(port, str) else port
                    if ports:
                        assert number in ports, (source.name, container.name, key, port)
                    known = image.port(number) if image is not None else None
                    if "httpGet" in data and known is not None:
                        assert known.protocol in ("http", "https"), (source.name, container.name, port)
                    checked += 1
    assert checked > 300
