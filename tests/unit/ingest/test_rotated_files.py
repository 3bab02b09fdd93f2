"""Rotated files: their order, globs, gzip, reading through several rotations, source identity.

Plain files in a temp directory, rotated the way logrotate does it (rename, then gzip the older
file with ``delaycompress``); every line must come out exactly once, in the order written, with
the same source identity whichever file it is read from.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from logiflow.ingest.rotated_files import (
    LogFile,
    expand_patterns,
    has_patterns,
    rotated_siblings,
    rotation_suffix,
)
from logiflow.ingest.tail import FileFollower, Line, TailEvent


def numbered(start: int, stop: int) -> str:
    return "".join(f"line {i:05d} GET /items/{i} 200\n" for i in range(start, stop))


def expected(start: int, stop: int) -> list[str]:
    return numbered(start, stop).splitlines()


def lines_of(events: list[TailEvent]) -> list[str]:
    return [e.piece.data.decode() for e in events if isinstance(e.piece, Line)]


def ids_of(events: list[TailEvent]) -> dict[str, bytes]:
    return {
        e.piece.data.decode(): e.source_id
        for e in events
        if isinstance(e.piece, Line) and e.source_id is not None
    }


def last_position(events: list[TailEvent]):
    return [e.position for e in events if e.position is not None][-1]


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def rotate(log: Path, *, compress_previous: bool = False) -> None:
    """logrotate with delaycompress: shift ``.n`` up (gzipping ``.1`` if asked), rename, create."""
    siblings = sorted(
        (p for p in log.parent.iterdir() if rotation_suffix(p, log.name)),
        key=lambda p: int(rotation_suffix(p, log.name) or 0),
        reverse=True,
    )
    for path in siblings:
        number = int(rotation_suffix(path, log.name) or 0)
        target = log.with_name(f"{log.name}.{number + 1}")
        if path.name.endswith(".gz"):
            path.rename(target.with_name(target.name + ".gz"))
        elif compress_previous:
            with path.open("rb") as source, gzip.open(f"{target}.gz", "wb") as sink:
                sink.write(source.read())
            path.unlink()
        else:
            path.rename(target)
    log.rename(log.with_name(log.name + ".1"))
    log.write_text("")


# --- names and order ------------------------------------------------------------------------------


def test_rotated_siblings_are_listed_oldest_first(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    for name in ["access.log", "access.log.1", "access.log.2", "access.log.10", "access.log.3.gz"]:
        (tmp_path / name).write_text("x\n")
    for name in ["access.log.4.bz2", "access.logger", "error.log.1", "access.log."]:
        (tmp_path / name).write_text("x\n")
    assert [p.name for p in rotated_siblings(log)] == [
        "access.log.10",
        "access.log.3.gz",
        "access.log.2",
        "access.log.1",
    ]


def test_dateext_names_sort_by_date_and_a_file_being_compressed_counts_once(
    tmp_path: Path,
) -> None:
    log = tmp_path / "access.log"
    for name in ["access.log-20260103", "access.log-20260101.gz", "access.log-20260102"]:
        (tmp_path / name).write_text("x\n")
    # Mid-compression: the uncompressed file is complete, the archive may not be yet.
    (tmp_path / "access.log-20260102.gz").write_bytes(b"partial")
    assert [p.name for p in rotated_siblings(log)] == [
        "access.log-20260101.gz",
        "access.log-20260102",
        "access.log-20260103",
    ]


def test_a_glob_names_base_paths_and_says_whose_rotated_files_it_matched(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    for name in ["access.log", "access.log.1", "access.log.2.gz", "error.log", "notes.txt"]:
        (logs / name).write_text("x\n")
    both = {logs / "access.log": False, logs / "error.log": False}
    assert expand_patterns([f"{logs}/*.log"]) == both
    assert expand_patterns([f"{logs}/access.log*"]) == {logs / "access.log": True}
    assert expand_patterns([f"{logs}/*.log", f"{logs}/error.log"]) == both
    # Without glob characters a path is named as given, even before it exists.
    assert expand_patterns([str(logs / "later.log")]) == {logs / "later.log": False}
    assert expand_patterns([f"{logs}/*.none"]) == {}
    assert has_patterns(["a.log", "logs/*.log"]) and not has_patterns(["a.log"])


# --- gzip -----------------------------------------------------------------------------------------


def test_a_gzip_file_reads_by_offset_in_its_uncompressed_stream(tmp_path: Path) -> None:
    text = numbered(0, 200).encode()
    plain = tmp_path / "a.log.1"
    plain.write_bytes(text)
    packed = tmp_path / "a.log.2.gz"
    packed.write_bytes(gzip.compress(text))
    one, two = LogFile.open(plain), LogFile.open(packed)
    assert one is not None and two is not None
    try:
        assert two.compressed and two.size() is None
        assert two.read_at(3000, 50) == text[3000:3050]
        assert two.read_at(10, 5) == text[10:15]  # backwards too
        assert two.read_at(len(text), 10) == b""
        assert two.fingerprint() == one.fingerprint()
        assert two.matches(one.fingerprint(100))
    finally:
        one.close()
        two.close()


# --- reading through rotations --------------------------------------------------------------------


def test_restart_after_two_rotations_reads_every_file_in_order_once(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(numbered(0, 100))
    first = FileFollower(log, max_line_bytes=1000)
    first_events = list(first.poll(follow=False))
    saved = [e.position for e in first_events if isinstance(e.piece, Line)][49]  # 50 acked
    first.close()
    # While stopped: the rest of the file, two rotations (the older one gzipped), a new file.
    append(log, numbered(100, 150))
    rotate(log)
    append(log, numbered(150, 300))
    rotate(log, compress_previous=True)
    append(log, numbered(300, 320))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "access.log",
        "access.log.1",
        "access.log.2.gz",
    ]
    notices: list[str] = []
    second = FileFollower(log, max_line_bytes=1000, start=saved, notify=notices.append)
    events = list(second.poll(follow=False))
    assert lines_of(events) == expected(50, 320)
    assert last_position(events).file.ino == log.stat().st_ino
    assert any("access.log.2.gz and 1 rotated after it" in n for n in notices)
    # A line read again from the gzipped file has the identity it had in the plain one.
    before, after = ids_of(first_events), ids_of(events)
    assert all(after[line] == before[line] for line in expected(50, 100))
    second.close()


def test_a_position_saved_inside_a_gzip_file_resumes_there(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(numbered(0, 10))
    rotate(log)
    rotate(log, compress_previous=True)  # access.log.2.gz holds lines 0..9
    append(log, numbered(10, 12))
    first = FileFollower(log, max_line_bytes=1000, read_rotated_first=True)
    events = list(first.poll(follow=False))
    assert lines_of(events) == expected(0, 12)
    saved = [e.position for e in events if isinstance(e.piece, Line)][3]
    first.close()
    second = FileFollower(log, max_line_bytes=1000, start=saved)
    assert lines_of(list(second.poll(follow=False))) == expected(4, 12)
    second.close()


def test_two_rotations_between_polls_lose_nothing_while_following(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(numbered(0, 10))
    follower = FileFollower(log, max_line_bytes=1000)
    lines = lines_of(list(follower.poll()))
    append(log, numbered(10, 20))
    rotate(log)
    append(log, numbered(20, 30))
    rotate(log, compress_previous=True)
    append(log, numbered(30, 40))
    for _ in range(3):  # the first quiet poll waits for late writes to the old file
        lines += lines_of(list(follower.poll()))
    assert lines == expected(0, 40)
    follower.close()


def test_a_glob_that_matched_rotated_files_reads_them_first_oldest_first(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(numbered(0, 5))
    rotate(log)
    append(log, numbered(5, 9))
    rotate(log, compress_previous=True)
    append(log, numbered(9, 12))
    follower = FileFollower(log, max_line_bytes=1000, read_rotated_first=True)
    assert lines_of(list(follower.poll(follow=False))) == expected(0, 12)
    follower.close()


# --- source identity ------------------------------------------------------------------------------


def test_source_identity_is_head_digest_and_offset_and_stable_as_the_file_grows(
    tmp_path: Path,
) -> None:
    log = tmp_path / "access.log"
    log.write_text(numbered(0, 3))  # well under the 1 KiB fingerprint
    early = FileFollower(log, max_line_bytes=1000)
    small = ids_of(list(early.poll(follow=False)))
    early.close()
    append(log, numbered(3, 200))
    late = FileFollower(log, max_line_bytes=1000)
    grown = ids_of(list(late.poll(follow=False)))
    late.close()
    assert all(grown[line] == small[line] for line in small)
    assert len(set(grown.values())) == 200
    line_150 = grown[expected(0, 200)[150]].decode()
    assert line_150.startswith("file:")
    assert line_150.endswith(f":{len(numbered(0, 150))}")
    # The same bytes in another file (a copy) are the same lines; another file's are not.
    copy = tmp_path / "copy.log"
    copy.write_bytes(log.read_bytes())
    other = tmp_path / "other.log"
    other.write_text(numbered(1000, 1200))
    assert ids_of(list(FileFollower(copy, max_line_bytes=1000).poll(follow=False))) == grown
    other_ids = ids_of(list(FileFollower(other, max_line_bytes=1000).poll(follow=False)))
    assert not set(other_ids.values()) & set(grown.values())


def test_a_plain_rotated_file_older_than_the_saved_one_is_not_read_again(tmp_path: Path) -> None:
    # Not logrotate's shifting: the first file became .1, the second .2, so the name order says
    # .1 is newer. Its last write says otherwise; it was shipped before.
    log = tmp_path / "access.log"
    log.write_text(numbered(0, 10))
    log.rename(tmp_path / "access.log.1")
    os.utime(tmp_path / "access.log.1", ns=(10**18, 10**18))
    log.write_text(numbered(10, 20))
    first = FileFollower(log, max_line_bytes=1000)
    saved = last_position(list(first.poll(follow=False)))
    first.close()
    append(log, numbered(20, 25))
    log.rename(tmp_path / "access.log.2")
    log.write_text(numbered(25, 30))
    second = FileFollower(log, max_line_bytes=1000, start=saved)
    assert lines_of(list(second.poll(follow=False))) == expected(20, 30)
    second.close()
