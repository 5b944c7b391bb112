"""What git knows about the controlled documents: commits and their text at each commit.

Revision history pages and diffs are built from the repository's full history.
In a shallow clone (CI checkouts often are) or outside a repository the history
is incomplete: `History.complete` is False and the pages say so; `git fetch
--unshallow` restores it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Commit:
    sha: str
    date: str  # ISO 8601 author date
    author: str
    subject: str


@dataclass
class History:
    repo: Path
    available: bool = False
    shallow: bool = False
    commits: dict[str, list[Commit]] = field(default_factory=dict)  # path → newest first
    #: Where ``repo`` lies in the repository ("" at its top, else "dir/").
    prefix: str = ""
    _texts: dict[tuple[str, str], str | None] = field(default_factory=dict, repr=False)

    @property
    def complete(self) -> bool:
        return self.available and not self.shallow

    def text_at(self, sha: str, path: str) -> str | None:
        if (sha, path) not in self._texts:
            self.fetch([(sha, path)])
        return self._texts[(sha, path)]

    def fetch(self, wanted: Iterable[tuple[str, str]]) -> None:
        """Read the text of each (commit, path) with one ``git cat-file --batch`` (a ``git show``
        per file costs a process each: most of the time of a build with many revisions)."""
        wanted = [w for w in dict.fromkeys(wanted) if w not in self._texts]
        if not wanted:
            return
        request = "".join(f"{sha}:{self.prefix}{path}\n" for sha, path in wanted).encode()
        try:
            out = subprocess.run(["git", "-C", str(self.repo), "cat-file", "--batch"], input=request,
                                 capture_output=True, timeout=120, check=True).stdout  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            out = b""
        offset = 0
        for key in wanted:
            end = out.find(b"\n", offset)
            header = out[offset:end].split(b" ") if end >= 0 else [b"missing"]
            if header[-1] == b"missing" or len(header) != 3:
                self._texts[key] = None
                offset = end + 1 if end >= 0 else len(out)
                continue
            size = int(header[2])
            body = out[end + 1 : end + 1 + size]
            self._texts[key] = body.decode("utf-8", "replace") if header[1] == b"blob" else None
            offset = end + 1 + size + 1  # the contents end with a newline


def _git(repo: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


def head(repo: Path) -> str:
    """The commit the working tree is at ("" outside a git repository)."""
    return (_git(repo, "rev-parse", "HEAD") or "").strip()


def load(repo: Path, paths: list[str]) -> History:
    """Commits touching each of ``paths`` (relative to ``repo``), newest first, in one git call."""
    history = History(repo)
    # One process; git prints the answers in the order asked.
    found = _git(repo, "rev-parse", "--show-toplevel", "--is-shallow-repository")
    if found is None:
        return history
    top, shallow = found.splitlines()
    history.available = True
    history.shallow = shallow == "true"
    prefix = Path(top).resolve()
    offset = repo.resolve().relative_to(prefix).as_posix()
    offset = "" if offset == "." else offset + "/"
    history.prefix = offset
    wanted = set(paths)
    log = (
        _git(
            repo,
            "log",
            "--format=%x1e%H%x1f%aI%x1f%an%x1f%s",
            "--name-only",
            "--no-renames",
            "--",
            *paths,
        )
        or ""
    )
    for block in log.split("\x1e")[1:]:
        header, _, names = block.partition("\n")
        sha, date, author, subject = header.split("\x1f", 3)
        commit = Commit(sha, date, author, subject)
        for name in names.split("\n"):
            name = name.strip()
            if not name:
                continue
            rel = name[len(offset) :] if name.startswith(offset) else name
            if rel in wanted:
                history.commits.setdefault(rel, []).append(commit)
    return history


def branch_file(repo: Path, branch: str, path: str) -> str | None:
    """A file of another branch (the published editions) without checking it out."""
    return _git(repo, "show", f"{branch}:{path}")


def status(repo: Path, paths: Iterable[str]) -> str | None:
    """Uncommitted changes to ``paths`` as ``git status --porcelain`` lists them ("" for none)."""
    return _git(repo, "status", "--porcelain", "--", *paths)
