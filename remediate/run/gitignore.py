"""Which files git ignores, so a directory walk skips them as ``git status`` would.

The rules are git's own, read with the ``pathspec`` library's ``GitIgnoreSpec``: every ``.gitignore``
from the repository's root (the nearest directory above holding ``.git``) down to the file's
directory, plus ``.git/info/exclude``. Each file's patterns are relative to its own directory. The
deepest file with a matching pattern decides, and within a file the last matching pattern wins, so
``!keep.yaml`` in a subdirectory re-includes what the root ignored. A file inside an ignored
directory stays ignored (git cannot re-include it either): the walk does not enter such directories.

Not read: the user's global excludes file (``core.excludesFile``); ignore rules that differ between
machines would make a run differ between them too.
"""

from __future__ import annotations

import os

from pathspec import GitIgnoreSpec

from remediate.yaml.source import read_regular

Chain = tuple[tuple[str, GitIgnoreSpec], ...]
"""The rule files in force in a directory: (directory they are relative to, rules), root first."""


def repository_root(directory: str) -> str | None:
    """The nearest directory at or above ``directory`` holding ``.git`` (a directory or a worktree file)."""
    current = os.path.abspath(directory)
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


class GitIgnore:
    """The ignore rules of one walk, read once per directory."""

    def __init__(self, top: str):
        self.root = repository_root(top) or os.path.abspath(top)
        self._chains: dict[str, Chain] = {}

    def in_directory(self, directory: str) -> DirectoryRules:
        """The rules that decide for the entries of ``directory`` (absolute and normalized, as a
        walk makes it once per directory: each entry then costs one match per rule file)."""
        return DirectoryRules(directory, self._chain(directory))

    def _chain(self, directory: str) -> Chain:
        """The rules in force in ``directory`` (absolute): its parent's, then its own ``.gitignore``."""
        if directory in self._chains:
            return self._chains[directory]
        parent = os.path.dirname(directory)
        if directory == self.root or parent == directory:
            inherited: Chain = _rules(self.root, os.path.join(self.root, ".git", "info", "exclude"))
        else:
            inherited = self._chain(parent)
        chain = inherited + _rules(directory, os.path.join(directory, ".gitignore"))
        self._chains[directory] = chain
        return chain


class DirectoryRules:
    """The rule files in force in one directory, deepest first, each with the directory's path
    relative to the rule file's own (the form its patterns match)."""

    __slots__ = ("_rules",)

    def __init__(self, directory: str, chain: Chain) -> None:
        self._rules = [(relative_prefix(directory, base), spec) for base, spec in reversed(chain)]

    def ignores(self, name: str, *, is_dir: bool = False) -> bool:
        """True when git ignores the entry ``name`` of the directory (a directory when ``is_dir``)."""
        for prefix, spec in self._rules:
            verdict = spec.check_file(prefix + name + ("/" if is_dir else "")).include
            if verdict is not None:
                return verdict
        return False


def relative_prefix(directory: str, base: str) -> str:
    """``directory`` relative to ``base``, in the form patterns match: ``/`` between names and at
    the end; empty for ``base`` itself."""
    relative = os.path.relpath(directory, base).replace(os.sep, "/")
    return "" if relative == "." else relative + "/"


def _rules(base: str, path: str) -> Chain:
    """The rules of the file ``path``, relative to ``base``; none when it has no pattern (git's own
    ``info/exclude`` holds only comments), so that a walk does not match every entry against it."""
    try:
        data, _ = read_regular(path)
    except OSError:  # none, or a FIFO or device that a repository put there: no rules
        return ()
    spec = patterns(data.decode("utf-8", errors="replace").splitlines())
    if all(pattern.include is None for pattern in spec.patterns):
        return ()
    return ((base, spec),)


def patterns(lines: list[str]) -> GitIgnoreSpec:
    """The rules of ``lines``, without the lines git itself would ignore as invalid (a lone ``!`` or
    ``\\``): a committed ``.gitignore`` must not stop the walk."""
    try:
        return GitIgnoreSpec.from_lines(lines)
    except ValueError:  # pathspec's GitIgnorePatternError: keep the lines that are patterns
        return GitIgnoreSpec.from_lines([line for line in lines if valid_pattern(line)])


def valid_pattern(line: str) -> bool:
    """True when ``line`` is a pattern git accepts (pathspec's reading of it)."""
    try:
        GitIgnoreSpec.from_lines([line])
    except ValueError:
        return False
    return True
