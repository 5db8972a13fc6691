"""tools/ci/refresh-prs.sh: refresh JSON -> one branch and pull request per deck, one issue.

A real git remote (a bare repository) and a stand-in `gh` that logs its arguments and answers
as GitHub would for "no pull request yet" or "an open one".
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools/ci/refresh-prs.sh"

FAKE_GH = """\
#!/bin/sh
printf '%s\\n' "$*" >> "$GH_LOG"
case "$1 $2" in
  "pr view") [ -n "$GH_OPEN" ] && echo OPEN && exit 0; exit 1 ;;
  "issue list") [ -n "$GH_ISSUE" ] && echo "$GH_ISSUE"; exit 0 ;;
esac
exit 0
"""


def git(cwd: Path, *argv: str) -> str:
    done = subprocess.run(["git", *argv], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def deck(name: str, *, changed: bool, draft: list[str], failed: bool) -> dict[str, object]:
    pictures = []
    if changed:
        pictures = [
            {
                "slide": 1,
                "before": f".livedeck/refresh/{name}/slide-1-before.png",
                "after": f".livedeck/refresh/{name}/slide-1-after.png",
            }
        ]
    error = {"kind": "CommandFailed", "message": "exit 1"} if failed else None
    return {
        "deck": f"slides/{name}.md",
        "name": name,
        "changed": changed,
        "draft": draft,
        "pictures": pictures,
        "error": error,
        "title": f"Refresh {name}: nginx changed",
        "body": f"## `slides/{name}.md`\n\nbody of {name}\n",
    }


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(tmp_path, "clone", "-q", str(origin), str(work))
    git(work, "config", "user.name", "t")
    git(work, "config", "user.email", "t@example.org")
    (work / "slides").mkdir()
    for name in ("a", "b", "c"):
        (work / "slides" / f"{name}.md").write_text(f"# {name}\n")
        (work / "slides" / f"{name}.record.yaml").write_text("old\n")
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "decks")
    git(work, "push", "-q", "origin", "HEAD:main")
    for name in ("a", "c"):  # what `livedeck refresh` left: new records and pictures
        (work / "slides" / f"{name}.record.yaml").write_text("new\n")
        pictures = work / ".livedeck" / "refresh" / name
        pictures.mkdir(parents=True)
        for when in ("before", "after"):
            (pictures / f"slide-1-{when}.png").write_bytes(b"\x89PNG " + when.encode())
    decks = [
        deck("a", changed=True, draft=[], failed=False),
        deck("b", changed=False, draft=["the deck failed: exit 1"], failed=True),
        deck("c", changed=True, draft=["slide 1 overflows"], failed=False),
    ]
    (tmp_path / "refresh.json").write_text(json.dumps({"schema": 1, "decks": decks}))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(FAKE_GH)
    (bin_dir / "gh").chmod(0o755)
    return work


def run(work: Path, *argv: str, **env: str) -> tuple[int, list[str]]:
    log = work.parent / "gh.log"
    log.unlink(missing_ok=True)
    environ = {
        **os.environ,
        "PATH": f"{work.parent / 'bin'}:{os.environ['PATH']}",
        "GH_LOG": str(log),
        "GITHUB_REPOSITORY": "course/slides",
        **env,
    }
    argv = argv or (str(work.parent / "refresh.json"),)
    done = subprocess.run([SCRIPT, *argv], cwd=work, env=environ, capture_output=True)
    return done.returncode, log.read_text().splitlines() if log.exists() else []


def test_one_pull_request_per_deck_a_draft_for_overflow_an_issue_for_a_failure(
    repo: Path,
) -> None:
    code, calls = run(repo)
    assert code == 1  # b failed
    origin = repo.parent / "origin.git"
    branches = git(origin, "branch", "--format=%(refname:short)").split()
    assert sorted(branches) == ["livedeck/refresh/a", "livedeck/refresh/c", "main"]
    files = git(origin, "diff", "--name-only", "main", "livedeck/refresh/a").split()
    assert files == [
        ".livedeck/refresh/a/slide-1-after.png",
        ".livedeck/refresh/a/slide-1-before.png",
        "slides/a.record.yaml",
    ]
    assert git(origin, "show", "livedeck/refresh/a:slides/a.record.yaml") == "new\n"
    creates = [c for c in calls if c.startswith("pr create")]
    assert len(creates) == 2
    assert "--head livedeck/refresh/a" in creates[0] and "--draft" not in creates[0]
    assert "--head livedeck/refresh/c" in creates[1] and creates[1].endswith("--draft")
    assert any(c.startswith("issue create --title livedeck refresh failed") for c in calls)


def test_an_open_pull_request_is_updated_and_an_open_issue_commented(repo: Path) -> None:
    code, calls = run(repo, GH_OPEN="1", GH_ISSUE="7")
    assert code == 1
    assert not any(c.startswith("pr create") for c in calls)
    assert "pr ready livedeck/refresh/a" in calls
    assert "pr ready livedeck/refresh/c --undo" in calls
    assert any(c.startswith("issue comment 7 --body-file") for c in calls)
    assert not any(c.startswith("issue create") for c in calls)


def test_a_run_that_failed_before_any_deck_opens_the_issue_once(repo: Path) -> None:
    error = repo.parent / "outdated.json"
    error.write_text('{"schema": 1, "error": {"message": "registry unreachable"}}')
    code, calls = run(repo, "--job-failed", str(error))
    assert code == 0
    (create,) = [c for c in calls if c.startswith("issue create")]
    assert "--label livedeck-refresh-failed" in create
    # Reported already (by this step, or by the deck failures before it): not again.
    code, calls = run(repo, "--job-failed", str(error))
    assert code == 0 and not any(c.startswith("issue") for c in calls)


def test_deck_failures_are_not_reported_twice_by_the_failure_step(repo: Path) -> None:
    assert run(repo)[0] == 1
    code, calls = run(repo, "--job-failed", "")
    assert code == 0 and not any(c.startswith("issue") for c in calls)
