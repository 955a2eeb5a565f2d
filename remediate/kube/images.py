"""What k8sfix knows of the images people run: their user, what they write, their ports, a health
check that fits them, and the memory below which they do not start.

A careful human fixing a Deployment of ``postgres:16`` knows that it starts as root and switches to
its ``postgres`` user (999), writes to its data directory and ``/var/run/postgresql``, listens on
5432, answers ``pg_isready``, and needs more than 128Mi. The fixers consult this table to fit their
fixes to the workload (and to know which fixes are safe for it); it is data, like
:mod:`remediate.kube.removed_apis`, and each entry names where its facts come from (the image's
Dockerfile or documentation). A config's ``images:`` list adds entries or replaces these
(:func:`from_config`).

Images are matched by repository, whatever the registry and tag: ``redis``, ``redis:7``,
``docker.io/library/redis@sha256:...`` and ``mirror.gcr.io/library/redis`` are the official Redis
image; ``bitnami/redis`` is another image (it runs as 1001 and writes elsewhere).
"""

from __future__ import annotations

import re
from typing import Any, Literal, NamedTuple

Protocol = Literal["http", "https", "grpc", "tcp", "udp"]


class Port(NamedTuple):
    """A port the image listens on by default, and what speaks there."""

    number: int
    protocol: Protocol = "tcp"
    health: str | None = None
    """For ``http`` and ``https`` ports, a path that answers 200 when the app is ready
    (``/-/ready``); for ``grpc`` ports, the service name the app's ``grpc.health.v1`` health service
    reports on (``""``: the server as a whole). None: no such check is known."""


class Image(NamedTuple):
    """What one image does, as its Dockerfile and documentation say.

    ``user``/``group``: the ids it runs as (its ``USER``); 0 for root. ``switches``: it starts as
    root and its entrypoint changes the owner of its data and switches to ``user`` (``gosu``,
    ``su-exec``), which needs root and the SETUID, SETGID and CHOWN capabilities (run as ``user``
    from the start, it skips that step). ``writes``: the paths outside its volumes it writes to,
    where a read-only root filesystem needs a volume (empty: it writes nowhere else; None: not
    known). ``own_volume``: those of ``writes`` where an ``emptyDir`` does not serve, so only a
    volume the user prepares will do: the image ships files it needs there (its configuration,
    which the entrypoint edits, and which an empty volume would hide), or it must own the directory
    (postgres refuses a data directory it cannot make private). The other paths start empty (a
    cache, a pid file, a data directory the image creates) and an ``emptyDir`` serves them.
    ``command``: a health check to run in the container (``exec``).
    """

    names: tuple[str, ...]
    source: str
    user: int | None = None
    group: int | None = None
    switches: bool = False
    writes: tuple[str, ...] | None = None
    own_volume: tuple[str, ...] = ()
    ports: tuple[Port, ...] = ()
    command: tuple[str, ...] | None = None
    memory_floor: str | None = None

    @property
    def runs_as_non_root(self) -> bool:
        """True when the image runs as a user other than root from its first process on."""
        return bool(self.user) and not self.switches

    @property
    def scratch(self) -> tuple[str, ...]:
        """The paths it writes that start empty, where an ``emptyDir`` can take the writes."""
        return tuple(path for path in self.writes or () if path not in self.own_volume)

    def port(self, number: int | None) -> Port | None:
        return next((port for port in self.ports if port.number == number), None)


DOCKER_LIBRARY = "https://github.com/docker-library"

IMAGES: tuple[Image, ...] = (
    Image(
        ("nginx",),
        f"{DOCKER_LIBRARY}/nginx (Dockerfile: user nginx 101; the master runs as root; the entrypoint's"
        " conf.d scripts skip a read-only /etc/nginx/conf.d)",
        user=0,
        writes=("/var/cache/nginx", "/var/run"),
        ports=(Port(80, "http"),),
        memory_floor="32Mi",
    ),
    Image(
        ("nginxinc/nginx-unprivileged",),
        "https://github.com/nginxinc/docker-nginx-unprivileged (USER 101, port 8080, /tmp)",
        user=101,
        group=101,
        writes=("/tmp",),
        ports=(Port(8080, "http"),),
        memory_floor="32Mi",
    ),
    Image(
        ("httpd",),
        f"{DOCKER_LIBRARY}/httpd (root master, workers as daemon; pid in logs/)",
        user=0,
        writes=("/usr/local/apache2/logs",),
        ports=(Port(80, "http"),),
        memory_floor="32Mi",
    ),
    Image(
        ("redis",),
        f"{DOCKER_LIBRARY}/redis (user redis 999; docker-entrypoint.sh chowns and gosu redis)",
        user=999,
        group=999,
        switches=True,
        writes=("/data",),
        ports=(Port(6379),),
        command=("redis-cli", "ping"),
        memory_floor="16Mi",
    ),
    Image(
        ("valkey/valkey",),
        "https://github.com/valkey-io/valkey-container (user valkey 999; setpriv in the entrypoint)",
        user=999,
        group=999,
        switches=True,
        writes=("/data",),
        ports=(Port(6379),),
        command=("valkey-cli", "ping"),
        memory_floor="16Mi",
    ),
    Image(
        ("memcached",),
        f"{DOCKER_LIBRARY}/memcached (USER memcache 11211)",
        user=11211,
        group=11211,
        writes=(),
        ports=(Port(11211),),
        memory_floor="16Mi",
    ),
    Image(
        ("postgres",),
        f"{DOCKER_LIBRARY}/postgres (user postgres 999; docker-entrypoint.sh chowns PGDATA, gosu postgres)",
        user=999,
        group=999,
        switches=True,
        writes=("/var/lib/postgresql/data", "/var/run/postgresql"),
        own_volume=("/var/lib/postgresql/data",),
        ports=(Port(5432),),
        command=("pg_isready",),
        memory_floor="128Mi",
    ),
    Image(
        ("mysql",),
        f"{DOCKER_LIBRARY}/mysql (user mysql 999; docker-entrypoint.sh gosu mysql)",
        user=999,
        group=999,
        switches=True,
        writes=("/var/lib/mysql", "/var/run/mysqld", "/tmp"),
        ports=(Port(3306), Port(33060)),
        command=("mysqladmin", "ping"),
        memory_floor="512Mi",
    ),
    Image(
        ("mariadb",),
        "https://github.com/MariaDB/mariadb-docker (user mysql 999; gosu; healthcheck.sh)",
        user=999,
        group=999,
        switches=True,
        writes=("/var/lib/mysql", "/run/mysqld", "/tmp"),
        ports=(Port(3306),),
        command=("healthcheck.sh", "--connect", "--innodb_initialized"),
        memory_floor="256Mi",
    ),
    Image(
        ("mongo",),
        f"{DOCKER_LIBRARY}/mongo (user mongodb 999; docker-entrypoint.sh gosu mongodb)",
        user=999,
        group=999,
        switches=True,
        writes=("/data/db", "/data/configdb", "/tmp"),
        ports=(Port(27017),),
        command=("mongosh", "--quiet", "--eval", "db.adminCommand('ping')"),
        memory_floor="512Mi",
    ),
    Image(
        ("rabbitmq",),
        f"{DOCKER_LIBRARY}/rabbitmq (user rabbitmq 999; docker-entrypoint.sh gosu rabbitmq)",
        user=999,
        group=999,
        switches=True,
        writes=("/var/lib/rabbitmq", "/etc/rabbitmq"),
        own_volume=("/etc/rabbitmq",),
        ports=(Port(5672), Port(15672, "http", "/")),
        command=("rabbitmq-diagnostics", "-q", "ping"),
        memory_floor="256Mi",
    ),
    Image(
        ("elasticsearch", "elasticsearch/elasticsearch"),
        "https://www.elastic.co/guide/en/elasticsearch/reference/current/docker.html (uid 1000, gid 0)",
        user=1000,
        group=0,
        writes=(
            "/usr/share/elasticsearch/data",
            "/usr/share/elasticsearch/logs",
            "/usr/share/elasticsearch/config",
        ),
        own_volume=("/usr/share/elasticsearch/config",),
        ports=(Port(9200, "http"), Port(9300)),
        memory_floor="1Gi",
    ),
    Image(
        ("opensearchproject/opensearch",),
        "https://opensearch.org/docs/latest/install-and-configure/install-opensearch/docker/ (uid 1000)",
        user=1000,
        group=1000,
        writes=("/usr/share/opensearch/data", "/usr/share/opensearch/logs", "/usr/share/opensearch/config"),
        own_volume=("/usr/share/opensearch/config",),
        ports=(Port(9200, "https"), Port(9600, "http")),
        memory_floor="1Gi",
    ),
    Image(
        ("kibana", "kibana/kibana"),
        "https://www.elastic.co/guide/en/kibana/current/docker.html (uid 1000, port 5601, /api/status)",
        user=1000,
        group=0,
        writes=("/usr/share/kibana/data",),
        ports=(Port(5601, "http", "/api/status"),),
        memory_floor="512Mi",
    ),
    Image(
        ("cassandra",),
        f"{DOCKER_LIBRARY}/cassandra (user cassandra 999; docker-entrypoint.sh gosu cassandra)",
        user=999,
        group=999,
        switches=True,
        writes=("/var/lib/cassandra", "/etc/cassandra"),
        own_volume=("/etc/cassandra",),
        ports=(Port(9042), Port(7000)),
        command=("nodetool", "status"),
        memory_floor="1Gi",
    ),
    Image(
        ("apache/kafka",),
        "https://github.com/apache/kafka/tree/trunk/docker (USER appuser 1000)",
        user=1000,
        group=1000,
        writes=("/var/lib/kafka/data", "/opt/kafka/config"),
        own_volume=("/opt/kafka/config",),
        ports=(Port(9092),),
        memory_floor="512Mi",
    ),
    Image(
        ("zookeeper",),
        "https://github.com/31z4/zookeeper-docker (user zookeeper 1000; docker-entrypoint.sh gosu"
        " zookeeper; the Dockerfile moves the distribution's conf/ into /conf, where zoo.cfg is written)",
        user=1000,
        group=1000,
        switches=True,
        writes=("/data", "/datalog", "/logs", "/conf"),
        own_volume=("/conf",),
        ports=(Port(2181), Port(2888), Port(3888)),
        command=("zkServer.sh", "status"),
        memory_floor="256Mi",
    ),
    Image(
        ("etcd-development/etcd", "coreos/etcd", "etcd"),
        "https://github.com/etcd-io/etcd/blob/main/Dockerfile (distroless, root; /health on 2379)",
        user=0,
        writes=("/var/lib/etcd",),
        ports=(Port(2379, "http", "/health"), Port(2380)),
        memory_floor="64Mi",
    ),
    Image(
        ("grafana/grafana", "grafana/grafana-oss", "grafana/grafana-enterprise"),
        "https://grafana.com/docs/grafana/latest/setup-grafana/installation/docker/ (uid 472, gid 0)",
        user=472,
        group=0,
        writes=("/var/lib/grafana", "/var/log/grafana", "/tmp"),
        ports=(Port(3000, "http", "/api/health"),),
        memory_floor="128Mi",
    ),
    Image(
        ("prom/prometheus", "prometheus/prometheus"),
        "https://github.com/prometheus/prometheus/blob/main/Dockerfile (USER nobody 65534; /-/ready)",
        user=65534,
        group=65534,
        writes=("/prometheus",),
        ports=(Port(9090, "http", "/-/ready"),),
        memory_floor="128Mi",
    ),
    Image(
        ("prom/alertmanager", "prometheus/alertmanager"),
        "https://github.com/prometheus/alertmanager/blob/main/Dockerfile (USER nobody 65534; /-/ready)",
        user=65534,
        group=65534,
        writes=("/alertmanager",),
        ports=(Port(9093, "http", "/-/ready"),),
        memory_floor="32Mi",
    ),
    Image(
        ("prom/node-exporter", "prometheus/node-exporter"),
        "https://github.com/prometheus/node_exporter/blob/master/Dockerfile (USER nobody 65534)",
        user=65534,
        group=65534,
        writes=(),
        ports=(Port(9100, "http", "/"),),
        memory_floor="16Mi",
    ),
    Image(
        ("prom/blackbox-exporter", "prometheus/blackbox-exporter"),
        "https://github.com/prometheus/blackbox_exporter/blob/master/Dockerfile (USER nobody; /-/healthy)",
        user=65534,
        group=65534,
        writes=(),
        ports=(Port(9115, "http", "/-/healthy"),),
        memory_floor="16Mi",
    ),
    Image(
        ("busybox", "alpine", "debian", "ubuntu"),
        f"{DOCKER_LIBRARY}/official-images (base images: root, no service)",
        user=0,
    ),
    Image(
        ("keycloak/keycloak",),
        "https://www.keycloak.org/server/containers (USER 1000; health on the management port 9000;"
        " a start without --optimized rebuilds under /opt/keycloak/lib)",
        user=1000,
        group=0,
        ports=(Port(8080, "http"), Port(9000, "http", "/health/ready")),
        memory_floor="512Mi",
    ),
    Image(
        ("jenkins/jenkins",),
        "https://github.com/jenkinsci/docker (USER jenkins 1000; /login)",
        user=1000,
        group=1000,
        writes=("/var/jenkins_home", "/tmp"),
        ports=(Port(8080, "http", "/login"), Port(50000)),
        memory_floor="512Mi",
    ),
    Image(
        ("wordpress",),
        f"{DOCKER_LIBRARY}/wordpress (root: the entrypoint copies WordPress, Apache runs as www-data;"
        " PHP keeps uploads and sessions in /tmp)",
        user=0,
        writes=("/var/www/html", "/var/run/apache2", "/var/lock/apache2", "/tmp"),
        ports=(Port(80, "http"),),
        memory_floor="128Mi",
    ),
    Image(
        ("haproxy",),
        f"{DOCKER_LIBRARY}/haproxy (USER haproxy 99 since 2.4)",
        user=99,
        group=99,
        writes=(),
        memory_floor="32Mi",
    ),
    Image(
        ("traefik",),
        f"{DOCKER_LIBRARY}/traefik (root)",
        user=0,
        ports=(Port(80, "http"), Port(443, "https"), Port(8080, "http")),
        memory_floor="64Mi",
    ),
    Image(
        ("envoyproxy/envoy",),
        "https://github.com/envoyproxy/envoy/blob/main/ci/docker-entrypoint.sh (su-exec envoy 101)",
        user=101,
        group=101,
        switches=True,
        ports=(Port(9901, "http", "/ready"),),
        memory_floor="64Mi",
    ),
    Image(
        ("coredns/coredns",),
        "https://github.com/coredns/coredns/blob/master/Dockerfile (distroless nonroot 65532)",
        user=65532,
        group=65532,
        writes=(),
        ports=(Port(53, "udp"), Port(53), Port(8080, "http", "/health"), Port(8181, "http", "/ready")),
        memory_floor="32Mi",
    ),
    *(
        Image(
            (f"google-samples/microservices-demo/{name}",),
            "https://github.com/GoogleCloudPlatform/microservices-demo (kubernetes-manifests: grpc probes;"
            " each gRPC service implements grpc.health.v1)",
            ports=(Port(number, "grpc", ""),),
        )
        for name, number in (
            ("adservice", 9555),
            ("cartservice", 7070),
            ("checkoutservice", 5050),
            ("currencyservice", 7000),
            ("emailservice", 8080),
            ("paymentservice", 50051),
            ("productcatalogservice", 3550),
            ("recommendationservice", 8080),
            ("shippingservice", 50051),
        )
    ),
    *(
        Image(
            (f"bitnami/{name}",),
            f"https://github.com/bitnami/containers/tree/main/bitnami/{name} (USER 1001, under /opt/bitnami)",
            user=1001,
            group=0,
            ports=ports,
            command=command,
            memory_floor=floor,
        )
        for name, ports, command, floor in (
            ("redis", (Port(6379),), ("redis-cli", "ping"), "16Mi"),
            ("postgresql", (Port(5432),), ("pg_isready",), "128Mi"),
            ("mysql", (Port(3306),), ("mysqladmin", "ping"), "512Mi"),
            ("mariadb", (Port(3306),), ("mysqladmin", "ping"), "256Mi"),
            ("mongodb", (Port(27017),), None, "512Mi"),
            (
                "rabbitmq",
                (Port(5672), Port(15672, "http", "/")),
                ("rabbitmq-diagnostics", "-q", "ping"),
                "256Mi",
            ),
            ("kafka", (Port(9092),), None, "512Mi"),
            ("nginx", (Port(8080, "http"),), None, "32Mi"),
        )
    ),
)
"""The images k8sfix knows. ``writes`` is given only where it is known to be complete, a health
path only where the image serves it whatever its configuration (not ``/`` of a web server, whose
content is the user's)."""

_REGISTRY = re.compile(r"^(?:[^/]+[.:][^/]*|localhost)/")
_MIRRORED_LIBRARY = ("library/", "docker/library/")


def repository(image: str) -> str:
    """The repository of an image reference, without registry, tag or digest, as Docker Hub names
    it: ``redis`` for ``docker.io/library/redis:7``, ``prom/prometheus`` for ``quay.io/prom/...``."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)
    if ":" in last[-1]:
        name = name[: len(name) - len(last[-1]) + last[-1].index(":")]
    name = _REGISTRY.sub("", name, count=1)
    for prefix in _MIRRORED_LIBRARY:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


class Catalog(NamedTuple):
    """The images of a run: the built-in table, and the config's entries before it."""

    entries: tuple[Image, ...] = IMAGES

    def lookup(self, image: str | None) -> Image | None:
        """What is known of ``image`` (an image reference), or None."""
        if not image:
            return None
        name = repository(image)
        return next((entry for entry in self.entries if name in entry.names), None)


BUILT_IN = Catalog()


class EntryError(Exception):
    """An ``images:`` entry of the config that cannot be used; the message says which and why."""


_KEYS = {
    "name",
    "user",
    "group",
    "switches-user",
    "writes",
    "own-volume",
    "ports",
    "health-command",
    "memory-floor",
    "source",
}


def from_config(items: Any) -> Catalog:
    """A catalog with the config's ``images:`` entries first, so they win over the built-in ones::

        images:
          - name: registry.example/team/api      # matched by repository, any tag
            user: 10001
            writes: [/tmp, /etc/api]              # where it writes outside its volumes
            own-volume: [/etc/api]                # of those, where an emptyDir will not do
            ports: [{number: 8080, protocol: http, health: /healthz}]
            memory-floor: 256Mi

    Raise :class:`EntryError` saying what is wrong with an entry.
    """
    if not isinstance(items, list):
        raise EntryError("expected a list of images")
    entries = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise EntryError(f"entry {number}: needs a name (the image's repository)")
        unknown = set(item) - _KEYS
        if unknown:
            raise EntryError(
                f"entry {number}: unknown key {min(unknown)!r} (allowed: {', '.join(sorted(_KEYS))})"
            )
        entries.append(_entry(item, number))
    return Catalog((*entries, *IMAGES))


def _entry(item: dict[str, Any], number: int) -> Image:
    def ids(key: str) -> int | None:
        value = item.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise EntryError(f"entry {number}: {key} must be a user or group id")
        return value

    writes = item.get("writes")
    if writes is not None and not (
        isinstance(writes, list) and all(isinstance(p, str) and p.startswith("/") for p in writes)
    ):
        raise EntryError(f"entry {number}: writes must be a list of absolute paths")
    own_volume = item.get("own-volume") or []
    if not (isinstance(own_volume, list) and all(path in (writes or ()) for path in own_volume)):
        raise EntryError(f"entry {number}: own-volume must list paths of writes")
    ports = []
    for port in item.get("ports") or []:
        if not isinstance(port, dict) or not isinstance(port.get("number"), int):
            raise EntryError(f"entry {number}: each port needs a number")
        protocol = port.get("protocol", "tcp")
        if protocol not in ("http", "https", "grpc", "tcp", "udp"):
            raise EntryError(f"entry {number}: protocol must be http, https, grpc, tcp or udp")
        ports.append(Port(port["number"], protocol, port.get("health")))
    command = item.get("health-command")
    if command is not None and not (
        isinstance(command, list) and all(isinstance(word, str) for word in command)
    ):
        raise EntryError(f"entry {number}: health-command must be a list of words")
    return Image(
        (repository(item["name"]),),
        str(item.get("source") or "the config"),
        user=ids("user"),
        group=ids("group"),
        switches=bool(item.get("switches-user", False)),
        writes=tuple(writes) if writes is not None else None,
        own_volume=tuple(own_volume),
        ports=tuple(ports),
        command=tuple(command) if command is not None else None,
        memory_floor=item.get("memory-floor"),
    )
