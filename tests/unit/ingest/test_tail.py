"""File following: line splitting, rotation by rename, copytruncate, truncation, restarts.

Everything here is plain files in a temp directory: the follower's positions must always be the
byte offsets where the next line starts, and lines must come out exactly once.
"""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logiflow.errors import ConfigError
from logiflow.ingest.positions import AckTracker, FileId, Fingerprint, Position, PositionStore
from logiflow.ingest.tail import FileFollower, Line, LineSplitter, OversizeChunk, TailEvent


def lines_of(events: list[TailEvent]) -> list[str]:
    return [e.piece.data.decode() for e in events if isinstance(e.piece, Line)]


def drain(follower: FileFollower, *, follow: bool = True) -> list[TailEvent]:
    return list(follower.poll(follow=follow))


def last_position(events: list[TailEvent]) -> Position:
    positions = [e.position for e in events if e.position is not None]
    assert positions, "no position reported"
    return positions[-1]


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


# --- LineSplitter ---------------------------------------------------------------------------------


def test_splitter_cuts_complete_lines_and_holds_the_partial_one() -> None:
    splitter = LineSplitter(100)
    pieces = splitter.feed(b"one\ntwo\r\nthr")
    assert pieces == [Line(b"one", 4), Line(b"two", 5)]
    assert splitter.pending_bytes == 3
    assert splitter.feed(b"ee\n") == [Line(b"three", 6)]
    assert splitter.pending_bytes == 0


def test_splitter_flush_completes_the_last_line() -> None:
    splitter = LineSplitter(100)
    assert splitter.feed(b"a\nlast") == [Line(b"a", 2)]
    assert splitter.flush() == [Line(b"last", 4)]
    assert splitter.flush() == []


def test_splitter_streams_an_oversize_line_in_chunks_without_buffering_it() -> None:
    splitter = LineSplitter(10)
    pieces = splitter.feed(b"ok\n" + b"x" * 8)
    assert pieces == [Line(b"ok", 3)]
    pieces = splitter.feed(b"x" * 8)
    assert pieces == [OversizeChunk(b"x" * 16, 16, first=True, last=False)]
    assert splitter.pending_bytes == 0
    pieces = splitter.feed(b"y" * 50)
    assert pieces == [OversizeChunk(b"y" * 50, 50, first=False, last=False)]
    pieces = splitter.feed(b"z\nnext\n")
    assert pieces == [OversizeChunk(b"z", 2, first=False, last=True), Line(b"next", 5)]


def test_splitter_marks_a_complete_oversize_line_as_first_and_last() -> None:
    splitter = LineSplitter(4)
    assert splitter.feed(b"12345\n1234\n") == [
        OversizeChunk(b"12345", 6, first=True, last=True),
        Line(b"1234", 5),
    ]


@given(
    lines=st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")), max_size=20),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=10),
)
def test_splitter_result_does_not_depend_on_how_the_stream_is_chunked(
    lines: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(line + b"\n" for line in lines)
    bounds = sorted({0, len(stream), *(c for c in cuts if c < len(stream))})
    splitter = LineSplitter(16)
    pieces = []
    for begin, end in itertools.pairwise(bounds):
        pieces.extend(splitter.feed(stream[begin:end]))
    assert sum(p.size for p in pieces) == len(stream)
    rebuilt: list[bytes] = []
    current = b""
    for piece in pieces:
        if isinstance(piece, Line):
            rebuilt.append(piece.data)
        else:
            current += piece.data
            if piece.last:
                rebuilt.append(current)
                current = b""
    assert [r.removesuffix(b"\r") for r in rebuilt] == [ln.removesuffix(b"\r") for ln in lines]
    for piece in pieces:
        if isinstance(piece, Line):
            assert len(piece.data) <= 16


# --- FileFollower: plain reading ------------------------------------------------------------------


def test_follower_positions_are_byte_offsets_and_partial_lines_wait(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("alpha\nbeta\ngam")
    follower = FileFollower(log, max_line_bytes=100)
    events = drain(follower)
    assert lines_of(events) == ["alpha", "beta"]
    assert last_position(events).offset == len("alpha\nbeta\n")
    assert follower.held_back_bytes == 3
    append(log, "ma\n")
    events = drain(follower)
    assert lines_of(events) == ["gamma"]
    assert last_position(events).offset == log.stat().st_size
    assert drain(follower) == []
    follower.close()


def test_follower_waits_for_a_missing_file(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    follower = FileFollower(log, max_line_bytes=100)
    assert drain(follower) == []
    log.write_text("here\n")
    assert lines_of(drain(follower)) == ["here"]
    follower.close()


def test_oversize_line_has_a_position_only_at_its_end(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    log.write_bytes(b"a\n" + b"x" * 50 + b"\nb\n")
    follower = FileFollower(log, max_line_bytes=10, read_chunk=16)
    events = [e for e in drain(follower) if e.piece is not None]
    oversize = [e for e in events if isinstance(e.piece, OversizeChunk)]
    assert b"".join(e.piece.data for e in oversize) == b"x" * 50  # type: ignore[union-attr]
    assert all(e.position is None for e in oversize[:-1])
    assert oversize[-1].position is not None
    assert oversize[-1].position.offset == 2 + 51
    assert lines_of(events) == ["a", "b"]
    follower.close()


# --- rotation and truncation while running --------------------------------------------------------


def test_rename_rotation_reads_late_writes_to_the_old_file_then_the_new_one(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("1\n2\n")
    follower = FileFollower(log, max_line_bytes=100)
    assert lines_of(drain(follower)) == ["1", "2"]

    log.rename(tmp_path / "access.log.1")
    # The writer still has the old file open for a moment after the rename.
    append(tmp_path / "access.log.1", "3\n")
    log.write_text("4\n")
    first = drain(follower)
    append(tmp_path / "access.log.1", "late\n")
    append(log, "5\n")
    second = drain(follower)
    assert lines_of(first) + lines_of(second) == ["3", "late", "4", "5"]
    assert last_position(second).offset == log.stat().st_size
    assert last_position(second).file.ino == log.stat().st_ino
    assert follower.current_name == log
    follower.close()


def test_rotation_completes_an_unterminated_last_line_of_the_old_file(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("a\nunfinished")
    follower = FileFollower(log, max_line_bytes=100)
    assert lines_of(drain(follower)) == ["a"]
    log.rename(tmp_path / "app.log-20260101")
    log.write_text("b\n")
    events = drain(follower) + drain(follower)
    assert lines_of(events) == ["unfinished", "b"]
    follower.close()


def test_copytruncate_recovers_unread_lines_from_the_copy(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("1\n2\n")
    follower = FileFollower(log, max_line_bytes=100)
    assert lines_of(drain(follower)) == ["1", "2"]
    append(log, "3\n4\n")  # written but not read before the rotation
    shutil.copyfile(log, tmp_path / "access.log.1")
    with log.open("r+") as handle:
        handle.truncate(0)
    append(log, "5\n")
    events = drain(follower)
    assert lines_of(events) == ["3", "4", "5"]
    assert last_position(events).offset == 2
    follower.close()


def test_truncation_without_a_copy_restarts_from_the_beginning(tmp_path: Path) -> None:
    notices: list[str] = []
    log = tmp_path / "access.log"
    log.write_text("old line one\nold line two\n")
    follower = FileFollower(log, max_line_bytes=100, notify=notices.append)
    assert len(lines_of(drain(follower))) == 2
    with log.open("r+") as handle:
        handle.truncate(0)
    append(log, "fresh\n")
    assert lines_of(drain(follower)) == ["fresh"]
    assert any("truncated" in n for n in notices)
    follower.close()


def test_truncation_followed_by_more_writes_than_before_is_still_noticed(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("short\n")
    follower = FileFollower(log, max_line_bytes=100)
    assert lines_of(drain(follower)) == ["short"]
    # Truncated and rewritten past our offset before we looked again: only the content tells.
    with log.open("w") as handle:
        handle.write("different and longer\n")
    assert lines_of(drain(follower)) == ["different and longer"]
    follower.close()


# --- restarts from a saved position ---------------------------------------------------------------


def test_restart_resumes_exactly_after_the_saved_position(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("1\n2\n3\n")
    first = FileFollower(log, max_line_bytes=100)
    events = drain(first)
    first.close()
    # Only the first two lines were acknowledged before the stop.
    saved = [e.position for e in events if isinstance(e.piece, Line)][1]
    assert saved is not None
    append(log, "4\n")
    second = FileFollower(log, max_line_bytes=100, start=saved)
    assert lines_of(drain(second)) == ["3", "4"]
    second.close()


def test_restart_after_a_rename_rotation_finishes_the_rotated_file_first(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("1\n2\n")
    first = FileFollower(log, max_line_bytes=100)
    saved = last_position(drain(first))
    first.close()
    append(log, "3\n")
    log.rename(tmp_path / "access.log.1")
    log.write_text("4\n")
    notices: list[str] = []
    second = FileFollower(log, max_line_bytes=100, start=saved, notify=notices.append)
    events = drain(second, follow=False)
    assert lines_of(events) == ["3", "4"]
    assert last_position(events).file.ino == log.stat().st_ino
    assert any("access.log.1" in n for n in notices)
    second.close()


def test_restart_after_copytruncate_recovers_from_the_copy(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("one\ntwo\n")
    first = FileFollower(log, max_line_bytes=100)
    saved = last_position(drain(first))
    first.close()
    append(log, "three\n")
    shutil.copyfile(log, tmp_path / "access.log-20260102")
    with log.open("r+") as handle:
        handle.truncate(0)
    append(log, "four\nfive\nsix\n")
    second = FileFollower(log, max_line_bytes=100, start=saved)
    assert lines_of(drain(second)) == ["three", "four", "five", "six"]
    second.close()


def test_restart_when_the_old_file_is_gone_reads_the_new_one_and_says_so(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("one\n")
    first = FileFollower(log, max_line_bytes=100)
    saved = last_position(drain(first))
    first.close()
    log.unlink()
    (tmp_path / "access.log.1.gz").write_bytes(b"compressed, cannot be read back")
    log.write_text("new\n")
    notices: list[str] = []
    second = FileFollower(log, max_line_bytes=100, start=saved, notify=notices.append)
    assert lines_of(drain(second)) == ["new"]
    assert any("not recoverable" in n for n in notices)
    second.close()


def test_restart_while_the_path_is_missing_keeps_the_saved_position(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("one\n")
    first = FileFollower(log, max_line_bytes=100)
    saved = last_position(drain(first))
    first.close()
    os.rename(log, tmp_path / "elsewhere")  # not a rotated name: nothing to resume from
    second = FileFollower(log, max_line_bytes=100, start=saved)
    assert drain(second) == []
    os.rename(tmp_path / "elsewhere", log)
    append(log, "two\n")
    assert lines_of(drain(second)) == ["two"]
    second.close()


# --- positions: acknowledgement order and the state file ------------------------------------------


def _pos(offset: int) -> Position:
    return Position(FileId(1, 2), offset, Fingerprint(0, "e3b0"))


def test_ack_tracker_commits_only_past_a_run_of_acknowledged_lines() -> None:
    tracker = AckTracker()
    t1 = tracker.add("/a", _pos(10))
    t2 = tracker.add("/a", _pos(20))
    t3 = tracker.add("/a", _pos(30))
    assert tracker.take_changes() is None
    tracker.ack(t2)
    assert tracker.take_changes() is None  # line 1 still in flight
    tracker.ack(t1)
    assert tracker.take_changes() == {"/a": _pos(20)}
    tracker.add("/a", _pos(35), done=True)  # a marker behind an unacknowledged line waits
    assert tracker.take_changes() is None
    tracker.ack(t3)
    assert tracker.take_changes() == {"/a": _pos(35)}
    assert tracker.pending == 0


def test_ack_tracker_keeps_paths_apart() -> None:
    tracker = AckTracker()
    tracker.add("/a", _pos(1))
    tb = tracker.add("/b", _pos(2))
    tracker.ack(tb)
    assert tracker.take_changes() == {"/b": _pos(2)}
    assert tracker.pending == 1


def test_position_store_round_trips_and_merges(tmp_path: Path) -> None:
    store = PositionStore(tmp_path / "state" / "positions.json")
    assert store.load() == {}
    store.save({"/a": _pos(1)})
    store.save({"/b": _pos(2)})
    assert store.load() == {"/a": _pos(1), "/b": _pos(2)}
    store.save({"/a": _pos(5)})
    assert store.load()["/a"] == _pos(5)


def test_position_store_refuses_a_second_user(tmp_path: Path) -> None:
    first = PositionStore(tmp_path / "positions.json")
    second = PositionStore(tmp_path / "positions.json")
    with first.lock(), pytest.raises(ConfigError, match="another shipper"), second.lock():
        pass
    with second.lock():
        pass


def test_damaged_state_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "positions.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="damaged"):
        PositionStore(path).load()
