"""Long-running containers without a readinessProbe (when a Service sends them traffic) or a livenessProbe.

What it does:
    Looks at the app containers (never init or ephemeral containers) of long-running workloads:
    Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers and the custom
    ``pod-kinds`` of the config; not Jobs, CronJobs, nor Pods whose ``restartPolicy`` is ``Never`` or
    ``OnFailure``, which are meant to finish. As kube-score's ``pod-probes`` does, it asks for a
    ``readinessProbe`` where a Service of the run selects the pod (the Service may be in another file
    of the run, or in a ``--context`` file), and for a ``livenessProbe`` (option ``liveness``) on
    every such container. Missing probes are added after the container's ``ports``, or at the end
    of the container, the ``livenessProbe`` first and the ``readinessProbe`` after it (the order of
    ``helm create``); a probe added next to an existing one keeps that order.

    Which Services decide the port: those in the workload's own file, when one there selects its
    pods (they were written together); else every Service of the run that selects them (a Service
    in another file that merely shares a label would otherwise choose the port).

    Which container a Service reaches: the one that declares the port its ``targetPort`` names
    (by ``name`` for a named targetPort, by ``containerPort`` for a number; no targetPort means the
    Service's ``port``). A number that no container declares reaches the pod's default container
    (the ``kubectl.kubernetes.io/default-container`` annotation, else the first one), as the
    Service still sends its traffic there. UDP and SCTP ports are never probed.

    Which port is probed: a dedicated health port the container declares (a name with ``healthz``,
    ``health`` or ``ready``, checked with ``httpGet`` on ``/healthz``, ``/health`` or ``/ready``);
    else among the ports a Service reaches in this container, else among the container's own
    ``ports``, the first whose names say its protocol (``http``, ``https``,
    ``grpc``, or ``<protocol>-<suffix>`` as Istio names ports), then other ports in declared order,
    and ports whose names contain ``metrics`` or ``prometheus`` last. A livenessProbe added beside
    an existing readinessProbe checks the port that one checks. A probe names the port as the
    container does (``port: http``), so it survives a renumbering; an undeclared port is named by
    its number.

    Which kind of check, from the names the port has (its container port name, the ``name`` and
    ``appProtocol`` of the Service ports that reach it): ``https`` gives ``httpGet`` with
    ``scheme: HTTPS``, ``http`` gives ``httpGet``, ``grpc`` gives ``tcpSocket``: a ``grpc`` probe
    asks the app's ``grpc.health.v1`` service, which most gRPC apps do not implement (never Ready),
    so it is written only for an image known to serve it there (the microservices-demo services,
    :mod:`remediate.kube.images`), and never ``httpGet``, which a gRPC server answers with an error.
    Without such a name the numbers
    decide: a container port 80 or 8080 is HTTP and 443 or 8443 HTTPS; otherwise a Service port
    80 or 8080 means HTTP and 443 HTTPS. Anything else is checked with ``tcpSocket``, and so is a
    metrics port whatever its name (its HTTP answers ``/metrics``, not ``/``). A known image
    (:mod:`remediate.kube.images`) gets its own health check instead: ``pg_isready``,
    ``redis-cli ping``, Prometheus's ``/-/ready``.

    The probes added::

        readinessProbe: {httpGet: {path: /, port: P}, initialDelaySeconds: 5, periodSeconds: 10}
        livenessProbe: {tcpSocket: {port: P}, initialDelaySeconds: 15, periodSeconds: 20}

    (the readiness handler follows the rule above; liveness is always ``tcpSocket``). The two
    differ by handler on purpose: kube-score's ``pod-probes-identical`` compares handlers only
    (``httpGet`` path and port, ``tcpSocket`` port, ``exec`` command), so two ``httpGet`` probes of
    one path are "identical" whatever their timings. A TCP liveness check restarts a container only
    when nothing listens on its port, so it never kills a slow but healthy app, which is the danger
    kube-score's probe guide warns of; it starts later and runs less often than readiness, because a
    restart costs more than a pause in traffic. A probe that would repeat its partner is not added
    and the finding says why: when readiness is itself a ``tcpSocket`` check of that port, or an
    existing livenessProbe makes the same ``httpGet`` (a port written by name and by number counts
    as the same). Containers that already have both probes are reported (without a fix) when
    kube-score would find them identical.

Why it matters:
    Without a readinessProbe a Service sends traffic to a pod as soon as its process starts, before
    the app listens, and keeps a new version that fails in rotation during a rolling update:
    kube-score reports this as critical. Without a livenessProbe a deadlocked or hung process keeps
    its place forever; with one that repeats the readiness check, a slow dependency gets every
    replica restarted at once.

Example:
    Before (a Service ``web`` selects these pods with ``port: 80, targetPort: 4567``)::

        containers:
        - name: web
          image: registry.example/web:1.4

    After::

        containers:
        - name: web
          image: registry.example/web:1.4
          livenessProbe:
            tcpSocket:
              port: 4567
            initialDelaySeconds: 15
            periodSeconds: 20
          readinessProbe:
            httpGet:
              path: /
              port: 4567
            initialDelaySeconds: 5
            periodSeconds: 10

Options:
    liveness: when true (default), every long-running container needs a livenessProbe; false asks
        only for readiness probes, as kube-score (which merely recommends liveness) does.
    http-path: the path of ``httpGet`` readiness probes (default ``/``).
    templates: probes of your own, per container (default: none). Each entry has ``name`` and
        ``image`` glob patterns (both optional, ``*`` when left out; the first entry that matches
        the container wins) and ``readiness`` and/or ``liveness``: the probe as YAML text, which is
        also a jinja2 template with the variables ``port`` (what the probe would refer to: the port's
        name, else its number), ``port_name``, ``port_number``, ``container`` and ``image``. A
        variable that could not be inferred is undefined, and using it is an error the finding
        shows. A probe that renders to ``null`` (or an empty text) means this container needs no
        such probe. Templates run in jinja2's sandbox. For example::

            templates:
            - image: "registry.example/api*"
              readiness: |
                httpGet: {path: /healthz/ready, port: {{ port }}}
                periodSeconds: 5
              liveness: |
                httpGet: {path: /healthz/live, port: {{ port }}}
            - name: log-shipper
              liveness: null

Fix safety:
    A missing readinessProbe and a missing livenessProbe are two findings, each with its own fix:

    - ``readiness``: safe for a ``tcpSocket`` check of a port the container declares and a Service
      sends traffic to: the app listens there, or the Service could not serve it either. Safe too
      for a probe of your own ``templates``, which you wrote for that image, and for the health
      check of a known image (``pg_isready``, ``redis-cli ping``, Prometheus's ``/-/ready``, the
      ``grpc`` check of an image that serves ``grpc.health.v1``: see :mod:`remediate.kube.images`),
      which answers whenever the image serves. Unsafe otherwise: an ``httpGet`` on a guessed path
      must answer with a status from 200 to 399 (a redirect to a login page counts, a 404 does not:
      a Prometheus metrics port is never Ready), and a port the container does not declare is a
      guess.
      A pod that never becomes Ready takes its Service's traffic away.
    - ``liveness``: unsafe, even though the check added is deliberately weak (is the port
      accepting connections?): a container that listens late, or only on localhost, is restarted
      over and over. Safe for a probe of your own ``templates``.

Limitations:
    When no port can be inferred (no ``ports`` and no Service), the finding has no fix and says to
    declare the port, add a ``templates`` entry, or set ``liveness: false``. kube-score is content
    with one readinessProbe per pod; k8sfix asks for one in every container a Service reaches (as
    Checkov and Polaris do per container). Startup probes are not added. A Service matches pods of
    its own namespace: objects without ``metadata.namespace`` are placed as ``--namespace``
    describes. A probe of a port the container does not declare (the Service's ``targetPort`` was
    the only clue) works, but kube-linter's ``readiness-port``/``liveness-port`` checks want the
    port declared too. Containers inside an anchor that aliases reuse elsewhere are reported
    without a fix.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal, NamedTuple, cast

from fixers._common import TemplateProblem
from remediate.kube import sandbox
from remediate.kube.findings import Finding, Severity
from remediate.kube.fixer import Context, Fixer, SetupProblem
from remediate.kube.images import Image
from remediate.kube.index import IndexedObject, labels_of
from remediate.kube.k8s import (
    LONG_RUNNING_KINDS,
    POD_SPEC_PATHS,
    SERVING_CONTAINERS,
    Container,
    Manifest,
    annotations_of,
    containers,
    declared_ports,
    is_port_number,
    pod_template,
)
from remediate.yaml.document import Mapping, Node, Scalar, parse
from remediate.yaml.edits import Change
from remediate.yaml.model import Applicability
from remediate.yaml.source import InputError
from remediate.yaml.values import to_data

READINESS = "readinessProbe"
LIVENESS = "livenessProbe"
PROBE_ORDER = (LIVENESS, READINESS)
"""The order probes go in a container: liveness, then readiness (as ``helm create`` writes them)."""
RULES = {LIVENESS: "liveness", READINESS: "readiness"}

READINESS_TIMING = {"initialDelaySeconds": 5, "periodSeconds": 10}
LIVENESS_TIMING = {"initialDelaySeconds": 15, "periodSeconds": 20}
DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"
HTTP_NUMBERS, HTTPS_NUMBERS = (80, 8080), (443, 8443)
TemplateKey = Literal["name", "image", "readiness", "liveness"]
Template = MappingABC[Any, str | None]
ProbeKind = Literal["http", "https", "grpc", "tcp"]
OPTION = "fixers.container-probes"


@dataclass(frozen=True)
class Options:
    liveness: bool = True
    http_path: str = "/"
    templates: tuple[dict[TemplateKey, str | None], ...] = ()


# -- ports --------------------------------------------------------------------------------------


class Port(NamedTuple):
    """A TCP port a probe could check.

    ``number`` is None when only a name is known; ``name`` is the container port's own name (None
    for a port the container does not declare); ``aliases`` are the names the Services give it
    (their ports' ``name`` and ``appProtocol``), and ``service_ports`` the Service port numbers
    that reach it.
    """

    number: int | None
    name: str | None = None
    aliases: tuple[str, ...] = ()
    service_ports: tuple[int, ...] = ()

    @property
    def reference(self) -> int | str | None:
        """What a probe writes as its ``port``: the container's name for it, else its number."""
        return self.name or self.number

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n.lower() for n in (self.name, *self.aliases) if n)


class Target(NamedTuple):
    """Where one Service port sends traffic: a ``containerPort`` number or a container port name."""

    port: int | str
    service_port: int | None
    aliases: tuple[str, ...]


def tcp_ports(container: Mapping) -> list[Port]:
    """The TCP ports a container declares, in order: those a probe can check."""
    return [
        Port(port.valid_number, port.name)
        for port in declared_ports(container)
        if port.valid_number is not None and port.protocol.upper() == "TCP"
    ]


def service_targets(services: Iterable[IndexedObject]) -> list[Target]:
    """The TCP targets of the ports of ``services`` (``targetPort`` defaults to ``port``)."""
    targets = []
    for service in services:
        spec = service.spec if isinstance(service.spec, dict) else {}
        ports = spec.get("ports")
        for entry in ports if isinstance(ports, list) else []:  # the API server refuses other ports
            if not isinstance(entry, dict) or str(entry.get("protocol") or "TCP").upper() != "TCP":
                continue
            service_port = entry.get("port") if is_port_number(entry.get("port")) else None
            target = entry.get("targetPort", service_port)
            if isinstance(target, str) and target.isdigit():
                target = int(target)
            if not (is_port_number(target) or (isinstance(target, str) and target)):
                continue
            assert isinstance(target, (int, str))
            names = (entry.get("name"), entry.get("appProtocol"))
            aliases = tuple(v for v in names if isinstance(v, str) and v)
            targets.append(Target(target, service_port, aliases))
    return targets


def served_ports(app: list[Container], targets: list[Target], default: Container) -> dict[int, list[Port]]:
    """The ports each container receives Service traffic on, keyed by ``id(container.node)``.

    A target no container declares goes to ``default``: a number is still probed there; a name no
    container declares gives a port without a number (nothing to probe).
    """
    declared = {id(c.node): tcp_ports(c.node) for c in app}
    served: dict[int, list[Port]] = {}
    for target in targets:
        reached = False
        for container in app:
            for port in declared[id(container.node)]:
                if target.port == (port.name if isinstance(target.port, str) else port.number):
                    served.setdefault(id(container.node), []).append(_reached_by(port, target))
                    reached = True
        if not reached:
            number = target.port if isinstance(target.port, int) else None
            served.setdefault(id(default.node), []).append(_reached_by(Port(number), target))
    return served


def _reached_by(port: Port, target: Target) -> Port:
    service_ports = (target.service_port,) if target.service_port is not None else ()
    return port._replace(aliases=target.aliases, service_ports=service_ports)


def default_container(app: list[Container], pod_metadata: Mapping | None) -> Container:
    """The container ``kubectl`` picks by default: the annotated one, else the first."""
    wanted = annotations_of(pod_metadata).get(DEFAULT_CONTAINER_ANNOTATION)
    return next((c for c in app if c.name == wanted), app[0])


def named_kind(name: str) -> ProbeKind | None:
    """The check a port name asks for: ``http``, ``https``, ``grpc`` or ``<one of them>-<suffix>``."""
    if name == "grpc-web" or name.startswith("grpc-web-"):
        return None  # gRPC-Web is HTTP/1.1 framing that a grpc probe cannot speak
    protocol = name.split("-", 1)[0]
    return cast(ProbeKind, protocol) if protocol in ("http", "https", "grpc") else None


def is_metrics(name: str) -> bool:
    return "metrics" in name or "prometheus" in name


HEALTH_PATHS = (("healthz", "/healthz"), ("health", "/health"), ("ready", "/ready"))
"""Names of dedicated health ports, and the path such a port usually serves."""


def health_path(port: Port) -> str | None:
    """The path a dedicated health port (``healthz``, ``http-health``, ``ready``) serves, or None."""
    for name in port.names:
        for word, path in HEALTH_PATHS:
            if word in name:
                return path
    return None


def port_rank(port: Port) -> int:
    """-1 for dedicated health ports, 2 for metrics ports (``http-metrics`` too), 0 for ports named
    for their protocol, 1 for the rest."""
    if health_path(port):
        return -1
    if any(is_metrics(n) for n in port.names):
        return 2
    return 0 if any(named_kind(n) for n in port.names) else 1


def choose_port(ports: list[Port]) -> Port | None:
    """The port to probe: the best ranked usable one, the first declared among equals."""
    usable = [p for p in ports if p.reference is not None]
    return min(usable, key=port_rank) if usable else None


def probe_kind(port: Port) -> ProbeKind:
    """How to check ``port``: by its names first, then by well-known numbers (module docstring)."""
    if any(is_metrics(name) for name in port.names):
        return "tcp"  # its HTTP serves metrics, not the app's readiness (a 404 on /)
    for name in port.names:
        kind = named_kind(name)
        if kind:
            return kind
    if health_path(port):
        return "http"
    if port.number in HTTP_NUMBERS:
        return "http"
    if port.number in HTTPS_NUMBERS:
        return "https"
    if any(n in HTTP_NUMBERS for n in port.service_ports):
        return "http"
    if 443 in port.service_ports:
        return "https"
    return "tcp"


# -- probes -------------------------------------------------------------------------------------


def default_readiness(port: Port, path: str) -> dict[str, Any]:
    """The readiness probe for ``port``: its handler follows :func:`probe_kind` (a gRPC port gets
    ``tcpSocket``: the ``grpc`` probe of a known image is :func:`known_probe`'s)."""
    kind = probe_kind(port)
    handler: dict[str, Any]
    if kind in ("http", "https"):
        handler = {"httpGet": {"path": health_path(port) or path, "port": port.reference}}
        if kind == "https":
            handler["httpGet"]["scheme"] = "HTTPS"
    else:
        handler = {"tcpSocket": {"port": port.reference}}
    return {**handler, **READINESS_TIMING}


def default_liveness(port: Port) -> dict[str, Any]:
    """The liveness probe for ``port``: does anything accept connections there?"""
    return {"tcpSocket": {"port": port.reference}, **LIVENESS_TIMING}


def identical(readiness: Any, liveness: Any) -> bool:
    """kube-score's ``pod-probes-identical`` test: the same handler target, whatever the timings.

    Two ``httpGet`` handlers match on path and on the port's integer value (a port name counts as
    0, as Go's ``IntOrString.IntValue`` has it); ``tcpSocket`` on the exact port; ``exec`` on the
    command. Different handler kinds never match.
    """
    if not isinstance(readiness, dict) or not isinstance(liveness, dict):
        return False
    ready, live = readiness.get("httpGet"), liveness.get("httpGet")
    if isinstance(ready, dict) and isinstance(live, dict):
        same_path = (ready.get("path") or "") == (live.get("path") or "")
        return same_path and _int_value(ready.get("port")) == _int_value(live.get("port"))
    ready, live = readiness.get("tcpSocket"), liveness.get("tcpSocket")
    if isinstance(ready, dict) and isinstance(live, dict):
        return ready.get("port") == live.get("port")
    ready, live = readiness.get("exec"), liveness.get("exec")
    if isinstance(ready, dict) and isinstance(live, dict):
        return list(ready.get("command") or []) == list(live.get("command") or [])
    return False


def with_numbers(probe: Any, numbers: dict[str, int]) -> Any:
    """``probe`` with a port name of its ``httpGet`` or ``tcpSocket`` replaced by the port's number."""
    if not isinstance(probe, dict):
        return probe
    resolved = dict(probe)
    for handler in ("httpGet", "tcpSocket"):
        action = probe.get(handler)
        if isinstance(action, dict) and isinstance(action.get("port"), str) and action["port"] in numbers:
            resolved[handler] = {**action, "port": numbers[action["port"]]}
    return resolved


def _int_value(port: Any) -> int:
    if isinstance(port, int) and not isinstance(port, bool):
        return port
    return int(port) if isinstance(port, str) and re.fullmatch(r"[+-]?\d+", port) else 0


# -- templates ----------------------------------------------------------------------------------


def matching_template(templates: Iterable[Template], container: Container) -> Template:
    """The first entry whose ``name`` and ``image`` globs match the container, or an empty one."""
    for entry in templates:
        if fnmatchcase(container.name, entry.get("name") or "*") and fnmatchcase(
            container.image or "", entry.get("image") or "*"
        ):
            return entry
    return {}


def template_variables(container: Container, port: Port | None) -> dict[str, Any]:
    """The variables a template sees; those that could not be inferred are left out (undefined)."""
    known = {
        "container": container.name,
        "image": container.image,
        "port": port.reference if port else None,
        "port_name": port.name if port else None,
        "port_number": port.number if port else None,
    }
    return {key: value for key, value in known.items() if value is not None}


def render_probe(text: str, variables: dict[str, Any]) -> Any:
    """Render a probe template in the sandbox (:mod:`remediate.kube.sandbox`, as for NetworkPolicy
    templates), then read it as YAML: a mapping, or None for no probe."""
    try:
        rendered = sandbox.render(text, variables)
    except sandbox.TemplateFailure as failure:
        raise TemplateProblem(f"its template fails: {failure}") from None
    try:
        documents = parse(rendered)
    except InputError as exc:
        raise TemplateProblem(f"its template does not render to YAML: {exc.message}") from None
    value = to_data(documents[0].root) if documents else None
    if value is not None and not isinstance(value, dict):
        raise TemplateProblem(f"its template renders {value!r}, not a probe mapping")
    return value


# -- the decision for one container -------------------------------------------------------------


class Plan:
    """What one container lacks (in container order), what can be added, and why the rest cannot;
    ``safe``: the probes in ``values`` that are safe fixes (see the docstring's Fix safety)."""

    __slots__ = ("lacking", "reasons", "safe", "values")

    def __init__(self, lacking: list[str]) -> None:
        self.lacking = lacking
        self.values: dict[str, Any] = {}
        self.reasons: dict[str, str] = {}
        self.safe: set[str] = set()


def runs_long(manifest: Manifest, spec: Mapping) -> bool:
    """True for workloads whose pods keep running: not Jobs and CronJobs, nor run-to-completion Pods."""
    if manifest.kind in POD_SPEC_PATHS and manifest.kind not in LONG_RUNNING_KINDS:
        return False
    return spec.str("restartPolicy") in (None, "Always")


def probe_node(container: Mapping, key: str) -> Node | None:
    """The container's probe ``key``, or None when it is missing or null."""
    node = container.get(key)
    return None if node is None or (isinstance(node, Scalar) and node.is_null) else node


def plan_probes(
    container: Container,
    serves: list[Port] | None,
    options: Options,
    has: dict[str, Node | None],
    image: Image | None = None,
) -> Plan:
    """Which probes ``container`` lacks and the value of each one k8sfix can add.

    ``serves`` is None when no Service sends the container traffic; ``has`` maps each probe key to
    the container's existing probe node (or None); ``image`` is what is known of its image, whose
    own health check (:func:`known_probe`) is used where it has one.
    """
    needed = {LIVENESS: options.liveness, READINESS: serves is not None}
    entry = matching_template(options.templates, container)
    declared = tcp_ports(container.node)
    numbers = {p.number for p in declared}
    usable = [p for p in serves or [] if not declared or p.number in numbers or p.name]
    undeclared = [p.number for p in serves or [] if p not in usable and p.number is not None]
    health = next((p for p in declared if health_path(p)), None)  # made for probes: it wins
    port = health or choose_port(usable) or (None if undeclared else choose_port(declared))
    ports = {
        READINESS: port,
        LIVENESS: probed_port(has[READINESS], usable + declared)
        or choose_port(usable)
        or choose_port(declared),
    }
    plan = Plan([])
    for key in PROBE_ORDER:
        if has[key] is not None or not needed[key]:
            continue
        source = entry.get(key.removesuffix("Probe"), ...)
        known = known_probe(key, image, ports[key], has) if source is ... else None
        try:
            value = known or _probe_value(key, source, container, ports[key], options)
        except TemplateProblem as problem:
            plan.lacking.append(key)
            plan.reasons[key] = str(problem)
            continue
        if value is None and source is not ...:
            continue  # the template says this container needs no such probe
        plan.lacking.append(key)
        if value is None and key == READINESS and undeclared:
            plan.reasons[key] = (
                f"the Service sends its traffic to port {undeclared[0]}, which the container does not "
                "declare among its ports: declare it (or correct the Service's targetPort)"
            )
        elif value is None:
            plan.reasons[key] = _no_port_reason(key)
        else:
            plan.values[key] = value
            served = key == READINESS and _checks_a_served_port(value, ports[key], declared)
            if source is not ... or served or (known is not None and key == READINESS):
                plan.safe.add(key)
    _refuse_identical(plan, has, {p.name: p.number for p in declared if p.name and p.number})
    return plan


def known_probe(key: str, image: Image | None, port: Port | None, has: dict[str, Node | None]) -> Any:
    """The probe the image's own health check makes (:mod:`remediate.kube.images`), or None.

    Readiness: a ``grpc`` probe where the probed port is one where the image serves
    ``grpc.health.v1``; the image's HTTP health path where it is its HTTP port, else its health
    command (``pg_isready``, ``redis-cli ping``); a port the image says is not HTTP is never given an
    ``httpGet``. Liveness: its health command beside an existing readiness probe that does not run
    it (beside a new one, the weak TCP check, which a command readiness probe never repeats).
    """
    if image is None:
        return None
    known = image.port(port.number) if port is not None else None
    if key == READINESS:
        if known is not None and known.protocol == "grpc" and known.health is not None:
            check: dict[str, Any] = {"port": known.number}
            if known.health:
                check["service"] = known.health
            return {"grpc": check, **READINESS_TIMING}
        if known is not None and known.health and known.protocol in ("http", "https") and port is not None:
            action: dict[str, Any] = {"path": known.health, "port": port.reference}
            if known.protocol == "https":
                action["scheme"] = "HTTPS"
            return {"httpGet": action, **READINESS_TIMING}
        if image.command:
            return {"exec": {"command": list(image.command)}, **READINESS_TIMING}
        if known is not None and port is not None and known.protocol == "tcp":
            return {"tcpSocket": {"port": port.reference}, **READINESS_TIMING}
        return None
    readiness = has[READINESS]
    existing = to_data(readiness) if readiness is not None else None
    if not image.command or not isinstance(existing, dict):
        return None
    if existing.get("exec") == {"command": list(image.command)}:
        return None
    return {"exec": {"command": list(image.command)}, **LIVENESS_TIMING}


def _checks_a_served_port(probe: dict[str, Any], port: Port | None, declared: list[Port]) -> bool:
    """True for a ``tcpSocket`` probe of a port that the container declares and a Service targets
    (a Service port reaches it: :attr:`Port.service_ports` or aliases come from a Service)."""
    if port is None or "tcpSocket" not in probe:
        return False
    served = bool(port.service_ports or port.aliases)
    return served and any((p.name, p.number) == (port.name, port.number) for p in declared)


def probed_port(probe: Node | None, known: list[Port]) -> Port | None:
    """The port an existing probe checks, as the :class:`Port` the run knows (None: no port).

    A livenessProbe added beside an existing readinessProbe checks the same port, as a human
    would write it: the readiness check already says where the app listens.
    """
    data = to_data(probe) if probe is not None else None
    if not isinstance(data, dict):
        return None
    for handler in ("httpGet", "tcpSocket", "grpc"):
        action = data.get(handler)
        if isinstance(action, dict):
            reference = action.get("port")
            if reference is None:
                return None
            found = next((p for p in known if reference in (p.name, p.number)), None)
            return found or (Port(reference) if is_port_number(reference) else None)
    return None


def _probe_value(key: str, source: Any, container: Container, port: Port | None, options: Options) -> Any:
    if source is None:
        return None
    if source is not ...:
        return render_probe(source, template_variables(container, port))
    if port is None:
        return None
    return default_liveness(port) if key == LIVENESS else default_readiness(port, options.http_path)


def _no_port_reason(key: str) -> str:
    way_out = f"declare the container's ports, or give it a probe with {OPTION}.templates"
    if key == LIVENESS:
        way_out += f", or set {OPTION}.liveness: false"
    return f"no port to probe: {way_out}"


def _refuse_identical(plan: Plan, has: dict[str, Node | None], numbers: dict[str, int]) -> None:
    """Move a planned probe that repeats its partner into the reasons.

    Repeats are what kube-score finds identical, and also the same check written once with the
    port's name and once with its number (``numbers`` maps the container's port names to numbers).
    """
    if not plan.values:
        return
    existing = {key: to_data(node) if node is not None else None for key, node in has.items()}
    readiness = plan.values.get(READINESS, existing[READINESS])
    liveness = plan.values.get(LIVENESS, existing[LIVENESS])
    same = identical(readiness, liveness)
    if not (same or identical(with_numbers(readiness, numbers), with_numbers(liveness, numbers))):
        return
    added = LIVENESS if LIVENESS in plan.values else READINESS
    other = READINESS if added == LIVENESS else LIVENESS
    del plan.values[added]
    plan.reasons[added] = (
        f"it would repeat the {other} (kube-score: pod-probes-identical); "
        f"give it a probe with {OPTION}.templates"
        + (f", or set {OPTION}.liveness: false" if added == LIVENESS else "")
    )


# -- the fix ------------------------------------------------------------------------------------


def place_probe(ctx: Context, container: Mapping, key: str, value: Any) -> Change:
    """Add (or fill a null) probe where a human would: next to the other probe, else after ``ports``.

    A livenessProbe goes before an existing readinessProbe, a readinessProbe after an existing
    livenessProbe; with neither, both go after ``ports`` or at the end of the container. In JSON
    and flow mappings a probe stays on one line, as ``"ports": [{...}]`` usually does.
    """
    if key in container.own:
        return ctx.editor.set_value(container, key, value)
    if key == READINESS:
        after: tuple[str, ...] = (LIVENESS, "ports")
    else:
        before = _key_before(container, READINESS)
        after = (before,) if before is not None else (READINESS, "ports")
    return ctx.editor.add_key(container, key, value, after=after)


def _key_before(mapping: Mapping, key: str) -> Any:
    """The key of the entry just before ``key`` in ``mapping`` (None when it is first or absent)."""
    previous = None
    for key_node, _ in mapping.pairs:
        current = getattr(key_node, "key_value", None)
        if current == key:
            return previous
        previous = current
    return None


class ContainerProbes(Fixer):
    id = "container-probes"
    code = "K8S003"
    Options = Options
    writes = (
        LIVENESS,
        READINESS,
        "exec",
        "command",
        "httpGet",
        "tcpSocket",
        "grpc",
        "path",
        "port",
        "scheme",
        "initialDelaySeconds",
        "periodSeconds",
    )
    needs_index = True
    rules = ("readiness", "liveness")

    def setup(self) -> None:
        """Compile the probe templates of the options: one that cannot compile is a configuration
        error, not a finding on every container."""
        for number, entry in enumerate(self.options.templates, 1):
            for key in ("readiness", "liveness"):
                text = entry.get(key)
                if text:
                    try:
                        sandbox.compiled(text)
                    except sandbox.TemplateFailure as failure:
                        raise SetupProblem("templates", f"entry {number}, {key}: {failure}") from None

    def check(self, manifest: Manifest, ctx: Context) -> Iterator[Finding]:
        yield from self.guard_findings(manifest, ctx)
        template = pod_template(manifest, ctx.pod_kinds)
        if template is None or not runs_long(manifest, template.spec):
            return
        app = list(containers(template.spec, SERVING_CONTAINERS))
        if not app:
            return
        services = ctx.index.services_selecting(labels_of(template.metadata), ctx.namespace_of(manifest))
        deciding = [s for s in services if s.file == ctx.source.name] or services
        served = served_ports(app, service_targets(deciding), default_container(app, template.metadata))
        for container in app:
            serves = served.get(id(container.node))
            yield from self._check_container(manifest, ctx, container, serves, services)

    def _check_container(
        self,
        manifest: Manifest,
        ctx: Context,
        container: Container,
        serves: list[Port] | None,
        services: list[IndexedObject],
    ) -> Iterator[Finding]:
        has = {key: probe_node(container.node, key) for key in PROBE_ORDER}
        plan = plan_probes(container, serves, self.options, has, ctx.images.lookup(container.image))
        who = container.subject
        if not plan.lacking:
            readiness, liveness = has[READINESS], has[LIVENESS]
            if (
                readiness is not None
                and liveness is not None
                and identical(to_data(readiness), to_data(liveness))
            ):
                yield self.finding(
                    manifest,
                    liveness,
                    rule="liveness",
                    message=f"{who} has a livenessProbe identical to its readinessProbe: a slow dependency "
                    "would get it restarted, not just taken out of its Service (kube-score: "
                    "pod-probes-identical); make liveness a simpler check, or remove it",
                    container=container,
                )
            return
        for key in plan.lacking:
            message = f"{who} has {_lack(key, services)}"
            if key in plan.reasons:
                message += f"; not added: {plan.reasons[key]}"
            fix = None
            if key in plan.values:
                value = plan.values[key]
                fix = (
                    f"add {key}",
                    lambda key=key, value=value: [place_probe(ctx, container.node, key, value)],
                )
            safe = key in plan.safe
            found = self.finding(
                manifest,
                container.node,
                message,
                container=container,
                fix=fix,
                applicability=Applicability.SAFE if safe else Applicability.UNSAFE,
                rule=RULES[key],
            )
            yield found if key == READINESS else dataclasses.replace(found, severity=Severity.WARNING)


def _lack(key: str, services: list[IndexedObject]) -> str:
    if key == LIVENESS:
        return "no livenessProbe"
    unique = list(dict.fromkeys(s.name for s in services))  # the same Service may sit in two files
    names = ", ".join(f'"{name}"' for name in unique)
    they = f"Services {names} send" if len(unique) > 1 else f"Service {names} sends"
    return f"no readinessProbe, though {they} it traffic"
