"""Attacks through the paths a deck names: symlinks and `..` for every kind of path livedeck
reads or writes for a deck, as real builds.

The kinds are taken from the code (livedeck.paths.HostKey and LabKey, which every containment
check must name): a kind added there without attacks here fails
test_every_kind_of_path_is_attacked.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import get_args

import pytest

from livedeck import paths
from security import Attack

SECRET = "TOP-SECRET-OF-THE-AUTHOR"
PNG = b"\x89PNG\r\n\x1a\n" + SECRET.encode()


# An attack changes the course and says: the deck line the refusal must name (None: a path
# livedeck chose, named in the message without a deck line) and words the message must hold.
Setup = Callable[[Attack], tuple[int | None, str]]


def picture_symlink_to_environ(a: Attack) -> tuple[int | None, str]:
    (a.course / "img" / "logo.png").symlink_to("/proc/self/environ")
    return a.add_prose("![logo](img/logo.png)"), "picture 'img/logo.png' lies outside"


def picture_dotdot(a: Attack) -> tuple[int | None, str]:
    (a.outside / "secret.png").write_bytes(PNG)
    return a.add_prose("![x](../outside/secret.png)"), "picture '../outside/secret.png' lies"


def picture_symlinked_folder(a: Attack) -> tuple[int | None, str]:
    (a.outside / "secret.png").write_bytes(PNG)
    (a.course / "shared").symlink_to(a.outside)
    return a.add_prose("![x](shared/secret.png)"), "picture 'shared/secret.png' lies outside"


def picture_file_url(a: Attack) -> tuple[int | None, str]:
    (a.outside / "secret.png").write_bytes(PNG)
    line = a.add_prose(f"![x](file://{a.outside}/secret.png)")
    return line, "is not a path inside"


def picture_from_a_template(a: Attack) -> tuple[int | None, str]:
    (a.outside / "secret.png").write_bytes(PNG)
    line = a.add_prose(f"![x]({{{{ {str(a.outside / 'secret.png')!r} }}}})")
    return line, "is not a path inside"


def _theme(a: Attack) -> int:
    css = f"/* @theme evil */\nsection::after {{ content: '{SECRET}'; }}\n"
    (a.outside / "evil.css").write_text(css, encoding="utf-8")
    a.deck.write_text(a.text.replace("theme: mspt2", "theme: evil"), encoding="utf-8")
    return a.text.split("\n").index("theme: evil") + 1


def theme_symlink(a: Attack) -> tuple[int | None, str]:
    (a.course / "themes").mkdir()
    (a.course / "themes" / "evil.css").symlink_to(a.outside / "evil.css")
    return _theme(a), "theme 'themes/evil.css' lies outside"


def theme_symlinked_folder(a: Attack) -> tuple[int | None, str]:
    (a.course / "themes").symlink_to(a.outside)
    return _theme(a), "theme 'themes/evil.css' lies outside"


def files_dotdot(a: Attack) -> tuple[int | None, str]:
    line = a.front_matter("  files: {../../../../etc/hostname: ~/h}")
    return line, "livedeck.files: '../../../../etc/hostname' lies outside"


def files_symlink(a: Attack) -> tuple[int | None, str]:
    (a.course / "hands_on").symlink_to(a.outside)
    return a.front_matter("  files: {hands_on: ~/h}"), "livedeck.files: 'hands_on' lies outside"


def record_symlink(a: Attack) -> tuple[int | None, str]:
    record = a.course / "docker-layers.record.yaml"
    shutil.move(record, a.outside / "record.yaml")
    record.symlink_to(a.outside / "record.yaml")
    return 1, "record 'docker-layers.record.yaml' lies outside"


def record_symlink_to_host_file(a: Attack) -> tuple[int | None, str]:
    record = a.course / "docker-layers.record.yaml"
    record.unlink()
    record.symlink_to(a.outside / "secret.txt")
    return 1, "record 'docker-layers.record.yaml' lies outside"


def output_symlinked_folder(a: Attack) -> tuple[int | None, str]:
    (a.course / "build").mkdir()
    (a.course / "build" / "img").symlink_to(a.outside)
    return None, "output 'img/generated/docker-layers-1.svg' lies outside"


def output_symlinked_file(a: Attack) -> tuple[int | None, str]:
    (a.course / "build").mkdir()
    (a.course / "build" / "docker-layers.md").symlink_to(a.outside / "secret.txt")
    return None, "output 'docker-layers.md' lies outside"


def _file_block(a: Attack, target: str) -> int:
    return a.add_prose(f"<!-- livedeck: {{file: {target}}} -->\n```\n{SECRET}\n```")


def lab_file_dotdot_from_home(a: Attack) -> tuple[int | None, str]:
    return _file_block(a, "~/../../etc/cron.d/evil"), "`file:` must be a path in the lab"


def lab_file_dotdot_absolute(a: Attack) -> tuple[int | None, str]:
    return _file_block(a, "/tmp/../etc/evil"), "`file:` must be a path in the lab"


def lab_files_target_dotdot(a: Attack) -> tuple[int | None, str]:
    line = a.front_matter("  files: {img: ~/../../root/.ssh}")
    return line, "livedeck.files: the lab path must be a path in the lab"


def lab_files_target_dotdot_absolute(a: Attack) -> tuple[int | None, str]:
    line = a.front_matter("  files: {img: /home/../root/.ssh}")
    return line, "livedeck.files: the lab path must be a path in the lab"


ATTACKS: dict[tuple[str, str], tuple[Setup, ...]] = {
    ("host", "picture"): (
        picture_symlink_to_environ,
        picture_dotdot,
        picture_symlinked_folder,
        picture_file_url,
        picture_from_a_template,
    ),
    ("host", "theme"): (theme_symlink, theme_symlinked_folder),
    ("host", "files"): (files_dotdot, files_symlink),
    ("host", "record"): (record_symlink, record_symlink_to_host_file),
    ("host", "output"): (output_symlinked_folder, output_symlinked_file),
    ("lab", "file"): (lab_file_dotdot_from_home, lab_file_dotdot_absolute),
    ("lab", "files"): (lab_files_target_dotdot, lab_files_target_dotdot_absolute),
}
KINDS = {("host", k) for k in get_args(paths.HostKey)} | {
    ("lab", k) for k in get_args(paths.LabKey)
}


def test_every_kind_of_path_is_attacked() -> None:
    assert set(ATTACKS) == KINDS
    assert set(paths.HOST_LABELS) == {k for side, k in KINDS if side == "host"}
    assert set(paths.LAB_LABELS) == {k for side, k in KINDS if side == "lab"}
    assert all(len(setups) >= 2 for setups in ATTACKS.values())  # a symlink and a `..` each


@pytest.mark.parametrize(
    "setup",
    [setup for kind in sorted(ATTACKS) for setup in ATTACKS[kind]],
    ids=lambda setup: setup.__name__,
)
def test_a_path_out_of_the_course_is_refused(setup: Setup, tmp_path: Path) -> None:
    attack = Attack(tmp_path)
    line, words = setup(attack)
    # The build's environment holds a secret: /proc/self/environ would show it.
    said = attack.run(
        "build",
        "--offline",
        "--format",
        "none",
        attack.deck.name,
        env={"LIVEDECK_TEST_SECRET": SECRET},
    )
    if line is None:  # a path livedeck chose: the message names it, not a deck line
        assert said.code not in (0, None) and "Traceback" not in said.stderr, said.stderr
        assert words in said.stderr, said.stderr
    else:
        said.refused_at(attack.deck, line, words)
    attack.nothing_outside()
    built = attack.course / "build"
    for path in built.rglob("*") if built.is_dir() else []:
        if path.is_file() and not path.is_symlink():
            assert SECRET.encode() not in path.read_bytes(), path
    assert (attack.outside / "secret.txt").read_text(encoding="utf-8").startswith(SECRET)
    assert not os.path.exists(attack.outside / "generated")
