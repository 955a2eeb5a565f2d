"""The context cache's file: what a run used and made is what the next run finds, whichever of the
two a run had, and a run that used every entry and made none leaves the file as it was."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from remediate.kube.index import IndexedObject, Later
from remediate.run import context_cache
from remediate.run.context_cache import ContextCache, write_atomically
from remediate.run.files import status_of

POLICY = IndexedObject("policy.yaml", "NetworkPolicy", "networking.k8s.io/v1", "deny", "web", {}, None, {})


def _cache(tmp_path: Path) -> ContextCache:
    return ContextCache(str(tmp_path / "cache"), str(tmp_path / "repo"), "fingerprint")


def _key(name: str) -> str:
    return ContextCache.key("0" * 40, f"/repo/{name}", name, "web")


def _kept(stored: Path, kind: str) -> dict[str, str]:
    """The lines of ``kind`` (``e``: entries, ``b``: blob ids) of the cache file, by their key,
    after the header line that says the format and fingerprint."""
    header, *lines = stored.read_text().splitlines()
    assert (
        header.startswith("k8sfix context cache\t") and json.loads(header.split("\t")[1])[1] == "fingerprint"
    )
    return {line.split("\t")[1]: line.split("\t", 2)[2] for line in lines if line.startswith(f"{kind}\t")}


def _never() -> list[IndexedObject]:
    raise AssertionError("a kept entry was made again")


def test_the_next_run_finds_what_a_run_made_and_what_it_used(tmp_path: Path) -> None:
    first = _cache(tmp_path)
    first.put(_key("policy.yaml"), ([POLICY], None))
    first.put(_key("config-map.yaml"), ([], None))  # a file with nothing the index keeps
    first.save()

    second = _cache(tmp_path)
    kept = second.get(_key("policy.yaml"), "policy.yaml", _never)
    assert kept is not None and isinstance(kept[0], Later)
    assert kept[0].buckets == {"policies web\0*", "policy names web\0deny"}
    assert kept[0].load() == [POLICY]
    assert second.get(_key("config-map.yaml"), "config-map.yaml", _never) == ([], None)
    second.put(_key("service.yaml"), ([], None))  # made by this run, beside the two it used
    second.save()

    third = _cache(tmp_path)
    assert third.get(_key("service.yaml"), "service.yaml", _never) == ([], None)
    assert third.get(_key("config-map.yaml"), "config-map.yaml", _never) == ([], None)
    third.save()  # used two of the three and made none: the file keeps those two only

    (stored,) = (tmp_path / "cache").glob("context-*")
    assert sorted(_kept(stored, "e")) == [_key("config-map.yaml"), _key("service.yaml")]


def test_a_run_that_used_every_entry_and_made_none_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    first = _cache(tmp_path)
    first.put(_key("policy.yaml"), ([POLICY], None))
    first.save()
    (stored,) = (tmp_path / "cache").glob("context-*")
    before = os.stat(stored)

    again = _cache(tmp_path)
    assert again.get(_key("policy.yaml"), "policy.yaml", _never) is not None
    again.save()
    after = os.stat(stored)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_blob_ids_are_kept_beside_the_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file's blob id is kept with its status whether the run read the file for it or found it
    kept; files of the status no longer used are dropped with the run."""
    monkeypatch.setattr(context_cache, "SETTLED_NS", 0)  # the file below counts as settled at once
    manifest = tmp_path / "repo" / "web.yaml"
    manifest.parent.mkdir()
    manifest.write_text("kind: Service\n")
    first = _cache(tmp_path)
    blob = first.blob_of(str(manifest))
    first.save()

    (stored,) = (tmp_path / "cache").glob("context-*")
    assert _kept(stored, "e") == {}
    status = manifest.stat()
    facts = [status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino, status.st_dev]
    assert _kept(stored, "b")[json.dumps(str(manifest))] == " ".join(map(str, [*facts, blob]))
    assert _cache(tmp_path).blob_of(str(manifest)) == blob
    second = _cache(tmp_path)
    monkeypatch.setattr(context_cache, "read_regular", _unreadable)
    assert second.blob_of(str(manifest)) == blob  # from the kept status: the file is not read


def test_the_status_a_listing_took_is_the_one_compared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A walk passes the status it took of each file, and that is the status compared with the one
    the blob id was kept with (the cache takes none of its own): here the file changed after it was
    listed, which only the next run's listing will see; another status has the file read again."""
    monkeypatch.setattr(context_cache, "SETTLED_NS", 0)
    manifest = tmp_path / "web.yaml"
    manifest.write_text("kind: Service\n")
    listed = status_of(manifest.stat(), time.time_ns())
    first = _cache(tmp_path)
    blob = first.blob_of(str(manifest), listed)
    first.save()
    manifest.write_text("kind: Secret\n\n")
    second = _cache(tmp_path)
    assert second.blob_of(str(manifest), listed) == blob
    assert second.blob_of(str(manifest), status_of(manifest.stat(), time.time_ns())) != blob


def test_a_status_taken_soon_after_a_change_is_not_kept(tmp_path: Path) -> None:
    """A file changed less than SETTLED_NS before its status was taken may change again within the
    same tick of the file system's clock, unseen by its status: its blob id is not kept by it."""
    manifest = tmp_path / "web.yaml"
    manifest.write_text("kind: Service\n")
    first = _cache(tmp_path)
    assert first.blob_of(str(manifest)) is not None
    first.save()
    assert not list((tmp_path / "cache").glob("context-*"))  # nothing to keep: no file made


def _unreadable(path: str, *limit: int) -> tuple[bytes, os.stat_result]:
    raise AssertionError(f"{path} read")


def test_a_second_save_keeps_what_the_first_wrote(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    cache.put(_key("policy.yaml"), ([POLICY], None))
    cache.save()
    cache.save()  # the entries made were copied out by the first save; nothing is lost now
    assert _cache(tmp_path).get(_key("policy.yaml"), "policy.yaml", _never) is not None


def test_an_interrupted_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    def interrupted(stream: object) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(str(tmp_path / "cache" / "context-x.json"), interrupted)
    assert list((tmp_path / "cache").iterdir()) == []


def test_the_file_the_format_before_kept_is_removed_when_the_cache_is_written(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    before = Path(cache.path.removesuffix(".cache") + ".json")
    before.parent.mkdir(parents=True)
    before.write_text('{"fingerprint": [9, "fingerprint"], "entries": {}}')
    cache.put(_key("policy.yaml"), ([POLICY], None))
    cache.save()
    assert not before.exists() and Path(cache.path).is_file()
