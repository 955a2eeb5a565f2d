"""The index entries of a run's files, kept between runs, so that a pre-commit run stays fast.

A pre-commit hook consults the whole repository on every commit (``--context-staged``), and
``--context DIR`` reads a whole directory: at 24,000 files, parsing them all took 10 s, for a
commit that changes one. A run over a repository parses each file twice, once for the index
(what other files' fixes consult) and once to fix it; run again, the first parse is saved for
every file that did not change. The entries of a file depend only on its content, where it is,
the name it is shown by, the namespace its objects default to and the run's pod kinds. So they are
kept under a digest of the git blob id of the content (which ``git ls-files --stage`` gives for a
staged file without reading it, and which is computed for a file read from disk), its absolute
path, its shown name and that namespace. A file whose content changed has another blob id, so an entry is
never stale. Entries are kept only under the blob id of the content they were made of: those of
a staged file whose content is not what git's index says (a crafted index, a file cut at the size
limit), or of a file edited while the run read it, are not kept. The pod kinds, the k8sfix
version and the size and time of each of its modules are the cache's fingerprint: a cache of
another one starts afresh.

The cache is one text file per repository (or working directory) in the user's cache directory:
``$K8SFIX_CACHE_DIR``, else ``$XDG_CACHE_HOME/k8sfix``, else ``~/.cache/k8sfix``, and only when
that is an absolute path; never in the repository, which is untrusted input and is not written to.
It is written atomically, with the entries of the last run only, so it is as large as what that run
read. The entries a run makes are written out as they are made, to an unnamed temporary file beside
it (:class:`_Members`), not held until the run ends: at 24,000 files they were a fifth of the run's peak
memory. Runs whose context is the staged manifests (the pre-commit hooks' ``--context-staged``),
runs with context on disk (``--context``) and runs without context have a file each (``staged``,
``context``, ``files``), so that checking one file, or a run with ``--context .``, does not throw
away what the hooks keep (the next commit would read every manifest again). Each entry keeps its
objects as one JSON text, with the lookups that may find them (:func:`~remediate.kube.index.buckets`):
they are decoded only when a lookup asks for one of those (:class:`~remediate.kube.index.Later`),
so a pre-commit run over a file or two of a 24,000-file repository makes the objects its fixes
look for (the Services and policies that may select its pods, the workloads of a namespace or
two), not those of the whole repository, and holds the cache in about as much memory as its file
takes on disk.

The file holds a line for each entry and each kept blob id (:meth:`ContextCache._load`), in fields
cut by tabs, each field JSON, which writes tabs and line breaks as escapes: a run reads the lines
without decoding them, decodes the fields of an entry when it asks for the entry, and writes the
lines of the entries it used back as it read them. Decoding the whole file as one JSON document,
and encoding it again, took a fifth of a pre-commit run over 24,400 files. A cache file that cannot
be read, or is of another format or fingerprint, counts as empty, and an entry that holds anything
unexpected as missing (objects found not as written when they are decoded are made again from the
file); a cache that cannot be written is not kept. Entries whose values JSON would not give back
exactly (a non-text key, an infinite number) are not kept: they are computed on every run.
``--no-cache`` does without it.

A file on disk (``--context DIR``, the run's own files) has to be read for its blob id, and at
24,000 files that reading took more than a second. So the cache also keeps, by absolute path, the
blob id with the file's size, modification and change times, inode and device, as git's index
does; a file whose status is still the same is not read again. As git does with "racily clean"
files, a status is kept only when the file had not changed for :data:`SETTLED_NS` before it was
taken: a change within the same tick of a coarse file system clock then cannot pass unseen.
Every write to a file sets its change time to the current time, which no user can set back. The
status compared is the one the walk that listed the file took (one ``stat`` a file, not two), and
the line keeps it as text (``size mtime ctime inode device blob``): a run compares the texts,
without decoding a line per file.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from typing import IO, Any

from remediate import __version__
from remediate.kube.index import IndexedObject, Later, buckets
from remediate.run.files import Status, status_of
from remediate.run.results import Problem
from remediate.yaml.source import read_regular

FORMAT = 11
"""The layout of the cache file; a change to it starts every cache afresh."""

BLOB_LENGTH = 40
"""The length of a blob id (SHA-1, in hexadecimal)."""

SETTLED_NS = 3_000_000_000
"""How long a file must have been unchanged when its status was taken for the status to stand for
its content in later runs (3 s: more than the 2 s granularity of the coarsest file systems)."""

Made = tuple[list[IndexedObject], Problem | None]
"""What the index pass makes of one file: its index entries, and why part of it could not be read."""

Entry = tuple[list[IndexedObject] | Later, Problem | None]
"""An index pass's :data:`Made`, or one kept: its entries then made when a lookup needs them."""


def blob_id(data: bytes) -> str:
    """The id git gives a blob of ``data`` (the key of a file read from disk)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def directory() -> str | None:
    """Where caches are kept (see the module docstring); None when that is not an absolute path
    (no ``HOME``, or a relative setting): a relative one would put the cache in the directory k8sfix
    runs in, the repository, and there is then no cache."""
    chosen = os.environ.get("K8SFIX_CACHE_DIR")
    if not chosen:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        chosen = os.path.join(base, "k8sfix")
    return chosen if os.path.isabs(chosen) else None


@functools.cache
def code_fingerprint() -> str:
    """What identifies the code that makes the entries: the version, and the size and time of every
    module of the package, so that a changed checkout (an editable install, a new pre-commit
    ``rev``) starts its caches afresh."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    digest = hashlib.sha256(__version__.encode())
    for folder, _, names in sorted(os.walk(package)):
        for name in sorted(names):
            if name.endswith(".py"):
                status = os.stat(os.path.join(folder, name))
                digest.update(f"{folder}/{name} {status.st_size} {status.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


class ContextCache:
    """The cache of one repository: :meth:`get` and :meth:`put` entries, then :meth:`save`."""

    def __init__(self, folder: str, root: str, fingerprint: str, *, kind: str = "context") -> None:
        """The cache of ``kind`` (see the module docstring: ``staged``, ``context`` or ``files``) for
        the directory ``root``."""
        self.path = cache_file(folder, kind, root)
        self.fingerprint = fingerprint
        self._old, self._old_blobs = self._load()
        self._reused: list[str] = []
        """The keys of the kept entries this run used (which :meth:`save` keeps)."""
        self._reused_blobs: list[str] = []
        self._made = _Members(folder)
        """The entries this run made, written out as they come."""
        self._made_blobs = _Members(folder)
        self._saved = False
        self._buckets: dict[str, frozenset[str | None]] = {}
        """The buckets of entries, by the field that holds them: most files of a repository share
        theirs with many others (the workloads of one namespace), so each field is decoded once."""

    def _load(self) -> tuple[dict[str, str], dict[str, str]]:
        """The lines of the cache file, undecoded, by key: those of entries (``e`` TAB key TAB
        buckets TAB problem TAB objects) and those of blob ids (``b`` TAB path TAB status and id). The
        first line is :meth:`_header`; a file with another one, or anything but ASCII, counts as
        empty (a line of neither kind is left out)."""
        try:
            lines = read_regular(self.path, CONTEXT_BYTES)[0].decode("ascii").split("\n")
        except (OSError, ValueError):
            return {}, {}
        if lines[0] != self._header():
            return {}, {}
        entries: dict[str, str] = {}
        blobs: dict[str, str] = {}
        for line in lines[1:]:
            kind, _, rest = line.partition("\t")
            name, _, value = rest.partition("\t")
            if kind == "e":
                entries[name] = value
            elif kind == "b":
                blobs[name] = value
        return entries, blobs

    def _header(self) -> str:
        return f"k8sfix context cache\t{json.dumps([FORMAT, self.fingerprint])}"

    def blob_of(self, path: str, status: Status | None = None) -> str | None:
        """The blob id of the file at the absolute ``path``, from the status its id was kept with
        (see the module docstring), or read and kept; None when it cannot be read. ``status`` is
        the file's when it was listed (:func:`~remediate.run.files.status_of`); without it, it is
        taken now."""
        if status is None:
            taken = time.time_ns()
            try:
                status = status_of(os.stat(path), taken)
            except OSError:
                return None
        size, modified, changed, inode, device, taken = status
        name = json.dumps(path)
        facts = f"{size} {modified} {changed} {inode} {device} "  # the kept line: these, then the id
        kept = self._old_blobs.get(name)
        if kept is not None and len(kept) == len(facts) + BLOB_LENGTH and kept.startswith(facts):
            self._reused_blobs.append(name)
            return kept[len(facts) :]
        try:
            data, _ = read_regular(path)
        except OSError:  # TooLarge too: the pass that works on it says why
            return None
        blob = blob_id(data)
        if taken - max(modified, changed) >= SETTLED_NS:  # else the status may not tell a change
            self._made_blobs.add(f"b\t{name}\t{facts}{blob}")
        return blob

    @staticmethod
    def key(blob: str, path: str, name: str, namespace: str) -> str:
        """The key of the entries of the file at the absolute ``path`` (a kustomization's entry
        holds it), shown as ``name``, with the content ``blob``, whose objects that state no
        namespace are in ``namespace``: a digest of them all (a quarter of the size of their text,
        which a cache of 24,000 files held in memory three times over)."""
        facts = f"{blob}\0{path}\0{name}\0{namespace}".encode("utf-8", "surrogateescape")
        return hashlib.blake2b(facts, digest_size=16).hexdigest()

    def get(self, key: str, file: str, remake: Callable[[], list[IndexedObject]]) -> Entry | None:
        """The entry kept for ``key``, of the file shown as ``file``; None when there is none (or
        it is not as written). Its objects are made when a lookup needs them
        (:class:`~remediate.kube.index.Later`): by ``remake`` (which reads the file again) if
        their kept text turns out not to be as written."""
        fields = self._old.get(key, "").split("\t")
        if len(fields) != 3:
            return None
        buckets_field, problem_field, objects = fields
        buckets = self._buckets.get(buckets_field)
        if buckets is None:
            buckets = self._buckets[buckets_field] = _buckets(buckets_field)
        if buckets is _NOT_BUCKETS:
            return None
        try:
            kept_problem = None if problem_field == "null" else _problem(json.loads(problem_field))
        except (TypeError, ValueError, RecursionError):
            return None
        self._reused.append(key)
        if not buckets:  # a file with no object the index keeps: two in five
            return [], kept_problem
        return Later(file, buckets, lambda: _objects(file, objects) or remake()), kept_problem

    def put(self, key: str, entry: Made) -> None:
        """Keep ``entry`` for ``key``, when JSON gives it back exactly."""
        found, problem = entry
        objects = [
            [o.kind, o.api_version, o.name, o.namespace, dict(o.labels), o.pod_labels, o.spec] for o in found
        ]
        kept_problem = None if problem is None else [problem.message, problem.line, problem.column]
        if _exact(objects) and _exact(kept_problem):
            places = sorted(
                set().union(*map(buckets, found)), key=lambda place: (place is not None, place or "")
            )
            text = json.dumps(objects, separators=(",", ":"))  # one text: a tenth of the objects
            self._made.add(f"e\t{key}\t{json.dumps(places)}\t{json.dumps(kept_problem)}\t{text}")

    def save(self) -> None:
        """Write the entries this run used, atomically; keep nothing new when the directory cannot be
        written (nor rewrite the file when the run used every entry of it and made none). Once: the
        entries made are gone from their temporary file after it."""
        if self._saved:
            return
        self._saved = True
        reused, reused_blobs = dict.fromkeys(self._reused), dict.fromkeys(self._reused_blobs)
        try:
            unchanged = (
                not self._made.count
                and not self._made_blobs.count
                and len(reused) == len(self._old)
                and len(reused_blobs) == len(self._old_blobs)
            )
            if unchanged or self._made.broken or self._made_blobs.broken:
                return

            def write(stream: IO[str]) -> None:
                stream.write(f"{self._header()}\n")
                self._made.write_with(stream, (f"e\t{key}\t{self._old[key]}" for key in reused))
                self._made_blobs.write_with(
                    stream, (f"b\t{name}\t{self._old_blobs[name]}" for name in reused_blobs)
                )

            write_atomically(self.path, write)
            with contextlib.suppress(OSError):  # the JSON file the format before 10 kept instead
                os.unlink(self.path.removesuffix(".cache") + ".json")
        finally:
            self._made.close()
            self._made_blobs.close()


class _Members:
    """Lines of the cache file, written to an unnamed temporary file in ``folder`` as they come (the
    system removes it when it is closed, or when the process ends first), then copied into the file
    :meth:`write_with` writes. ``broken`` when the temporary file could not be made or written: what
    was added is then lost."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.count = 0
        self.broken = False
        self._file: IO[str] | None = None

    def add(self, line: str) -> None:
        """Write ``line`` (without its line break)."""
        self.count += 1
        if self.broken:
            return
        try:
            if self._file is None:
                os.makedirs(self.folder, mode=0o700, exist_ok=True)
                self._file = tempfile.TemporaryFile(  # noqa: SIM115 - written across calls; close() ends it
                    "w+", encoding="ascii", dir=self.folder
                )
            self._file.write(f"{line}\n")
        except (OSError, ValueError):  # ValueError: not ASCII, which every field's JSON is
            self.broken = True

    def write_with(self, stream: IO[str], others: Iterable[str]) -> None:
        """Write the lines ``others``, then the lines added."""
        stream.writelines(f"{line}\n" for line in others)
        if self._file is not None:
            self._file.seek(0)
            shutil.copyfileobj(self._file, stream)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


_NOT_BUCKETS: frozenset[str | None] = frozenset({"not buckets"})
"""What :func:`_buckets` makes of a field that does not hold buckets."""


def _buckets(field: str) -> frozenset[str | None]:
    """The buckets an entry's field holds (a JSON list of texts and nulls), or :data:`_NOT_BUCKETS`."""
    found = _decoded(field)
    if not isinstance(found, list) or not all(place is None or isinstance(place, str) for place in found):
        return _NOT_BUCKETS
    return frozenset(found)


def _decoded(text: str | None) -> Any:
    """The JSON value of a field of the cache file; None when there is none or it is not JSON."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def cache_file(folder: str, kind: str, root: str) -> str:
    """The cache file of ``kind`` (``staged``, ``context`` or ``files``) for the directory ``root``:
    one per directory, named by a digest of its absolute path."""
    name = hashlib.sha256(os.path.abspath(root).encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return os.path.join(folder, f"{kind}-{name}.cache")


CONTEXT_BYTES = 512 * 1024 * 1024
"""The largest context cache file read (about 400 bytes a file: room for a repository of a million
files); a larger one counts as none."""


def read_cache(path: str, limit: int) -> Any:
    """The JSON data of the cache file ``path``; None when there is none or it cannot be trusted to
    be one: not a regular file, larger than ``limit`` bytes, not JSON, or nested deeper than Python
    can decode (a damaged or hostile file must cost a run its saving, never the run itself)."""
    try:
        return json.loads(read_regular(path, limit)[0])
    except (OSError, ValueError, RecursionError):
        return None


def write_cache(path: str, data: Any) -> None:
    """Write ``data`` as JSON to the cache file ``path`` (see :func:`write_atomically`)."""
    write_atomically(path, lambda stream: json.dump(data, stream))


def write_atomically(path: str, write: Callable[[IO[str]], None]) -> None:
    """Make the cache file ``path`` with ``write``, atomically (a temporary file beside it, renamed
    over it); nothing is kept when its directory cannot be made or written: a cache is only ever a
    saving, never a reason for a run to fail."""
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".cache-", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            write(stream)
        os.replace(temporary, path)
    except BaseException as problem:  # Ctrl-C too: no temporary file is left in the cache directory
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if not isinstance(problem, OSError):
            raise


def _objects(file: str, text: str) -> list[IndexedObject] | None:
    """The objects kept as ``text`` (see :meth:`ContextCache.put`), of the file ``file``; None when
    the text is not what :meth:`ContextCache.put` writes (a damaged cache file)."""
    try:
        objects = json.loads(text)
        found = []
        for kind, api_version, name, namespace, labels, pod_labels, spec in objects:
            if not (type(kind) is type(api_version) is type(name) is type(namespace) is str):  # JSON texts
                return None
            if not _labels(labels) or not (pod_labels is None or _labels(pod_labels)):
                return None
            found.append(IndexedObject(file, kind, api_version, name, namespace, labels, pod_labels, spec))
    except (TypeError, ValueError, RecursionError):  # not JSON, not lists of seven
        return None
    return found


def _problem(kept: Any) -> Problem | None:
    """The problem kept as ``kept``; ValueError or TypeError when it is not one."""
    if kept is None:
        return None
    message, line, column = kept
    if not isinstance(message, str) or not all(n is None or type(n) is int for n in (line, column)):
        raise ValueError("not a problem")
    return Problem(message, line, column)


def _labels(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _exact(value: Any) -> bool:
    """True when JSON gives ``value`` back as it is: text keys, finite numbers, lists not tuples."""
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_exact(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _exact(item) for key, item in value.items())
    return False
