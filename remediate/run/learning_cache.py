"""Where a chart's values are rendered, kept between runs: learning it is most of a chart's time.

:func:`remediate.run.chart_values.controlled_places` renders a chart twenty times or more to learn
which values key controls which rendered field (about 0.3 s for a chart of the Prometheus
community's). What it learns depends only on the chart's files, the release (its values files'
content, ``--set`` values, namespace and name), the values it starts from, the renderer (the
helm-python-sdk's version, or the ``helm`` binary) and k8sfix's own code. A digest of all of those
is the key, and the places learnt are kept under it, so that a run over a chart that did not change
(CI, a second pre-commit run) renders it only to check it. A chart edited while it was learnt (its
digest after learning is not the one before) is not kept. Where the chart's gates render once
switched on (:mod:`remediate.run.chart_gates`, a render for each) is kept the same way, under a
key of its own.

Each learning has one cache file, named by its kind and digest, in the context cache's
directory (:func:`remediate.run.context_cache.directory`: never in the repository), so that the
same chart in another place (a vendored copy in each environment's folder, a second checkout or
worktree, a CI job's own workspace) is learnt once: the digest holds the files' contents and paths
inside the chart, never where the chart is. The :data:`KEPT` files of each kind used last are kept
(a use renews a file's time), and older ones are removed when a learning is kept. A file is
written atomically. A chart with a link in it, a file that cannot be read, or a learning cut short
(by its time budget, a render that never ended, a render worker that died) is not kept. A cache
file that cannot be read, or holds anything unexpected, counts as none; ``--no-cache`` does
without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import os
import shutil
from collections.abc import Callable
from typing import Any

from remediate.run import charts, context_cache
from remediate.run.charts import Release, engine
from remediate.yaml.model import YamlPath
from remediate.yaml.source import read_regular

FORMAT = 1
"""The layout of the cache file; a change to it starts every cache afresh."""

Places = dict[tuple[str, ...], list[tuple[str, int, YamlPath]]]
"""What learning finds (:func:`remediate.run.chart_values.controlled_places`)."""


BYTES = 16 * 1024 * 1024
"""The largest cache file read (a chart of the Prometheus community's learns some 20 KB); a larger
one counts as none."""

MAX_CHART_BYTES = 20_000_000
"""A chart whose files hold more than this is not digested (nor kept): a digest per run would cost
more than it saves."""


class _Unreadable(Exception):
    """A folder of the chart could not be listed."""


def key(root: str, release: Release, values: dict[str, Any], settings: tuple[Any, ...]) -> str | None:
    """The digest of what learning the chart at ``root`` depends on (``settings``: the learner's
    own, such as how many keys it marks); None when some of it cannot be read, the chart holds a
    link (whose target is outside what is digested) or more than :data:`MAX_CHART_BYTES`, and
    nothing is kept. Every file counts, but a ``.git`` folder's: more than Helm reads, never less."""
    renderer = _renderer()
    if renderer is None:
        return None
    digest = hashlib.sha256(repr((FORMAT, context_cache.code_fingerprint(), renderer, settings)).encode())
    read = 0

    def unreadable(error: OSError) -> None:
        raise _Unreadable(error)

    try:
        for folder, folders, names in os.walk(root, onerror=unreadable):
            folders[:] = sorted(name for name in folders if name != ".git")
            for name in sorted(names + [f for f in folders if os.path.islink(os.path.join(folder, f))]):
                path = os.path.join(folder, name)
                content = None if os.path.islink(path) else _content(path)
                if content is None:
                    return None
                read += len(content)
                if read > MAX_CHART_BYTES:
                    return None
                where = f"{os.path.relpath(path, root)}\0{len(content)}\0"
                digest.update(where.encode("utf-8", "surrogateescape") + content)
    except _Unreadable:
        return None
    for path in release.values_files:
        content = _content(path)
        if content is None:
            return None
        digest.update(b"values file\0%d\0" % len(content) + content)
    release_text = repr((release.set_values, release.namespace, release.name, values))
    digest.update(release_text.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _content(path: str) -> bytes | None:
    try:
        return read_regular(path)[0]
    except OSError:  # TooLarge, a FIFO, a device: not read, nothing kept
        return None


def _renderer() -> str | None:
    """Which Helm renders: the SDK's version, or the binary's path, size and time (None: none, or
    one whose version cannot be told)."""
    renderer = engine()
    if renderer is None:
        return None
    if renderer is charts._render_with_sdk:
        try:
            return f"sdk {importlib.metadata.version('helm-python-sdk')}"
        except importlib.metadata.PackageNotFoundError:
            return None
    binary = shutil.which("helm")
    if binary is None:
        return None
    status = os.stat(binary)
    return f"helm {binary} {status.st_size} {status.st_mtime_ns}"


KEPT = 200
"""How many learnings of each kind are kept: the charts of a large monorepo, each in a few
releases (some 20 KB each)."""

LEARNING = "learning"
"""The kind of what :func:`remediate.run.chart_values.controlled_places` learns."""
GATES = "gates"
"""The kind of what :func:`remediate.run.chart_gates.gated_places` finds."""


def _file(kind: str, digest: str) -> str | None:
    folder = context_cache.directory()
    return None if folder is None else os.path.join(folder, f"{kind}-{digest[:40]}.json")


def remembered(
    kind: str,
    root: str,
    release: Release,
    values: dict[str, Any],
    settings: tuple[Any, ...],
    learn: Callable[[], tuple[Places, bool]],
    *,
    cache: bool = True,
) -> Places:
    """What ``learn`` finds of the chart at ``root`` (the places, and whether the learning was
    whole: not cut short, nor spoilt by a render that stopped), its ``settings`` being what else it
    depends on. With ``cache``, a learning of ``kind`` kept under the same digest is taken instead,
    and a whole one is kept when the chart did not change while it was learnt."""
    digest = key(root, release, values, settings) if cache else None
    known = _get(digest, kind) if digest else None
    if known is not None:
        return known
    places, whole = learn()
    if digest and whole:
        _put(digest, places, key(root, release, values, settings), kind)
    return places


def _get(digest: str, kind: str) -> Places | None:
    """What a learning of ``kind`` made under ``digest`` found, if it is kept."""
    path = _file(kind, digest)
    if path is None:
        return None
    stored = context_cache.read_cache(path, BYTES)
    try:
        if stored["key"] != digest:
            return None
        places = _places(stored["places"])
    except (ValueError, TypeError, KeyError):
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # used now: the last to be removed
    return places


def _places(stored: Any) -> Places:
    """The places as :func:`_put` keeps them; ValueError when they are not."""
    if type(stored) is not list:
        raise ValueError("not places")
    places: Places = {}
    for values_key, found in stored:
        if type(values_key) is not list or not all(type(part) is str for part in values_key):
            raise ValueError("not a key")
        if type(found) is not list:
            raise ValueError("not places")
        places[tuple(values_key)] = []
        for template, document, path in found:
            if type(template) is not str or type(document) is not int or type(path) is not list:
                raise ValueError("not a place")
            if not all(type(part) in (str, int) for part in path):
                raise ValueError("not a path")
            places[tuple(values_key)].append((template, document, tuple(path)))
    return places


def _put(digest: str, places: Places, now: str | None, kind: str) -> None:
    """Keep ``places`` as what a learning of ``kind`` found under ``digest``, when ``now`` (the
    digest after learning) is the same: a chart edited meanwhile was learnt in part from its new
    files. Nothing is kept when the cache directory cannot be written, or what is to be kept is not
    what JSON would give back (a key or path part neither text nor a number)."""
    path = _file(kind, digest)
    if path is None or now != digest:
        return
    exact = all(
        all(type(part) is str for part in values_key)
        and all(type(part) in (str, int) for *_, place in found for part in place)
        for values_key, found in places.items()
    )
    if not exact:
        return
    stored = [
        [list(values_key), [[t, d, list(p)] for t, d, p in found]] for values_key, found in places.items()
    ]
    context_cache.write_cache(path, {"key": digest, "places": stored})
    _forget_old(os.path.dirname(path), kind)


def _forget_old(folder: str, kind: str) -> None:
    """Remove the learnings of ``kind`` in ``folder`` but the :data:`KEPT` used last."""
    try:
        with os.scandir(folder) as entries:
            learnt = [
                (entry.stat().st_mtime_ns, entry.path)
                for entry in entries
                if entry.name.startswith(f"{kind}-") and entry.name.endswith(".json")
            ]
    except OSError:
        return
    for _, path in sorted(learnt, reverse=True)[KEPT:]:
        with contextlib.suppress(OSError):
            os.unlink(path)
