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

    def ignored(self, path: str, *, is_dir: bool = False) -> bool:
        """True when git ignores ``path`` (a directory when ``is_dir``)."""
        absolute = os.path.abspath(path)
        for base, spec in reversed(self._chain(os.path.dirname(absolute))):
            relative = os.path.relpath(absolute, base).replace(os.sep, "/")
            verdict = spec.check_file(relative + "/" if is_dir else relative).include
            if verdict is not None:
                return verdict
        return False

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


def _rules(base: str, path: str) -> Chain:
    try:
        data, _ = read_regular(path)
    except OSError:  # none, or a FIFO or device that a repository put there: no rules
        return ()
    return ((base, patterns(data.decode("utf-8", errors="replace").splitlines())),)


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
