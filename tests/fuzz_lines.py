"""Hostile input for the pipeline: 10,000 fuzzed log lines per category, from a fixed seed.

Shared by the integration test that ships them through the real pipeline
(``tests/integration/test_fuzz_input.py``) and the benchmark that times the parse transform
per category (``tests/benchmarks/bench_fuzz.py``). Nothing is stored: the lines are made here,
the same every run.

Every line is a non-blank byte string without a newline, so the shipper sends each one as one
record and the pipeline must account for each (indexed, filtered or dead-lettered). The
``valid`` category holds well-formed lines in every format with a ``/fuzz-valid/`` path (and a
few with the ``DROPPED_PATH`` a drop rule filters), so the run proves good lines still get
through among the hostile ones.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable

from logiflow.config import CustomFormat, DropRule, LogiflowConfig
from logiflow.contract import ecs

SEED = 20261130
DROPPED_PATH = "/fuzz-drop"
VALID_PREFIX = "/fuzz-valid/"
ONE_MIB = 1024 * 1024

# A custom nginx format (parse.custom_formats) with separators the built-ins never use.
CUSTOM_NAME = "fuzzpipe"
CUSTOM_LOG_FORMAT = (
    'log_format fuzzpipe \'$remote_addr|$host|"$request"|$status|$body_bytes_sent|'
    '$request_time|"$http_user_agent"\';'
)

# Over the default 32 KiB so the 10,000-key JSON lines (about 150 KB) are parsed, not only
# measured; the 300 KB and 1 MiB lines stay over it.
PARSE_MAX_LINE_BYTES = 256 * 1024

_TIME = "30/Nov/2026:12:00:00 +0000"
_UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0"


def _combined(path: str, status: int = 200, agent: str = _UA) -> str:
    return f'203.0.113.9 - - [{_TIME}] "GET {path} HTTP/1.1" {status} 512 "-" "{agent}"'


def _common(path: str) -> str:
    return f'203.0.113.9 - bob [{_TIME}] "POST {path} HTTP/1.0" 201 77'


def _main(path: str) -> str:
    return _combined(path) + ' "198.51.100.1, 10.0.0.1"'


def _custom(path: str) -> str:
    return f'203.0.113.9|example.com|"GET {path} HTTP/2.0"|404|0|0.004|"{_UA}"'


def _json(path: str, **extra: object) -> str:
    doc = {"timestamp": "2026-11-30T12:00:00Z", "method": "GET", "path": path, "status": 200}
    return json.dumps({**doc, **extra})


_FORMATS: tuple[Callable[[str], str], ...] = (_combined, _common, _main, _custom, _json)


def _not_blank(line: bytes) -> bytes:
    """The shipper skips blank lines; a fuzzed line must reach Kafka to be accounted for."""
    line = line.replace(b"\n", b"?")
    return line if line.strip() else b"#" + line


def valid(rng: random.Random, count: int) -> list[bytes]:
    lines = []
    for i in range(count):
        path = DROPPED_PATH if i % 10 == 9 else f"{VALID_PREFIX}{i}"
        lines.append(_FORMATS[i % len(_FORMATS)](path).encode())
    return lines


def random_bytes(rng: random.Random, count: int) -> list[bytes]:
    return [_not_blank(rng.randbytes(rng.choice((1, 7, 80, 400, 3000)))) for _ in range(count)]


_BAD_UTF8 = (b"\xff", b"\xc3\x28", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82")


def _splice(rng: random.Random, line: bytes, inserts: tuple[bytes, ...], times: int) -> bytes:
    for _ in range(times):
        at = rng.randrange(len(line) + 1)
        line = line[:at] + rng.choice(inserts) + line[at:]
    return line


def invalid_utf8(rng: random.Random, count: int) -> list[bytes]:
    return [
        _not_blank(
            _splice(rng, _FORMATS[i % len(_FORMATS)](f"/u/{i}").encode(), _BAD_UTF8, 1 + i % 5)
        )
        for i in range(count)
    ]


def nul_bytes(rng: random.Random, count: int) -> list[bytes]:
    return [
        _not_blank(
            _splice(rng, _FORMATS[i % len(_FORMATS)](f"/n/{i}").encode(), (b"\x00",), 1 + i % 4)
        )
        for i in range(count)
    ]


def huge_lines(rng: random.Random, count: int) -> list[bytes]:
    """Over Kafka's 1 MiB record limit, over the parse limit, and just under it."""
    sizes = (ONE_MIB + 1, ONE_MIB * 3 // 2, 300_000, 100_000, 40_000, 20_000)
    lines = []
    for i in range(count):
        size = sizes[i % len(sizes)]
        if i % 2:  # a well-formed access line whose path is the whole size
            lines.append(_combined("/" + "a" * size).encode())
        else:
            lines.append(_not_blank(bytes(rng.choice(b'abc "[]\\/') for _ in range(size))))
    return lines


def _nested(depth: int, array: bool) -> str:
    return ("[" * depth + "1" + "]" * depth) if array else ('{"a":' * depth + "1" + "}" * depth)


def deep_json(rng: random.Random, count: int) -> list[bytes]:
    depths = (10, 100, 999, 1001, 5000, 10_000)
    lines = []
    for i in range(count):
        nested = _nested(depths[i % len(depths)], array=bool(i % 2))
        if i % 3 == 0:
            lines.append(nested.encode())  # the whole line
        else:  # inside a line that is otherwise a good event
            event = _json(f"/deep/{i}")[:-1]
            lines.append(f'{event}, "nested": {nested}}}'.encode())
    return lines


def wide_json(rng: random.Random, count: int) -> list[bytes]:
    lines = []
    for i in range(count):
        keys = {f"k{n}": n for n in range(10_000)}
        lines.append(_json(f"/wide/{i}", **keys).encode())
    return lines


def _catastrophic_for(fmt: str, n: int) -> list[str]:
    """Inputs that make a naive backtracking pattern for ``fmt`` blow up: long runs of the
    characters its fields stop at, unclosed quotes and brackets, endless escapes."""
    return {
        "combined": [
            "203.0.113.9 - - [" + "[" * n,
            f'203.0.113.9 - - [{_TIME}] "GET /' + "\\" * n,
            f'203.0.113.9 - - [{_TIME}] "GET /x HTTP/1.1" 200 5 "' + '\\"' * (n // 2),
            f'203.0.113.9 - - [{_TIME}] "' + "GET " * (n // 4),
            "203.0.113.9 " * (n // 12) + "!",
            " " * n + "x",
            '"' * n,
        ],
        "common": ["- " * (n // 2) + "[", "203.0.113.9 - bob [" + " " * n + "]"],
        "main": [_combined("/x") + ' "' + ", " * (n // 2)],
        "custom": ["|" * n, "203.0.113.9|" + '"' * n, '203.0.113.9|h|"GET ' + "/|" * (n // 2)],
        "json": ['{"a":"' + "\\" * n, "{" + '"a":' * (n // 4), '{"msg":"' + "\\u" * (n // 2)],
    }[fmt]


def regex_catastrophic(rng: random.Random, count: int) -> list[bytes]:
    formats = ("combined", "common", "main", "custom", "json")
    lines = []
    for i in range(count):
        n = rng.choice((1_000, 5_000, 30_000))
        choices = _catastrophic_for(formats[i % len(formats)], n)
        lines.append(_not_blank(choices[(i // len(formats)) % len(choices)].encode()))
    return lines


def mutated(rng: random.Random, count: int) -> list[bytes]:
    """Good lines with a few random bytes changed, cut short or doubled."""
    lines = []
    for i in range(count):
        line = bytearray(_FORMATS[i % len(_FORMATS)](f"/m/{i}").encode())
        for _ in range(rng.randrange(1, 6)):
            line[rng.randrange(len(line))] = rng.randrange(256)
        if i % 3 == 0:
            line = line[: rng.randrange(1, len(line))]
        lines.append(_not_blank(bytes(line)))
    return lines


# Category -> (generator, line count); the counts add up to 10,000.
CATEGORIES: dict[str, tuple[Callable[[random.Random, int], list[bytes]], int]] = {
    "valid": (valid, 1_000),
    "random_bytes": (random_bytes, 2_000),
    "invalid_utf8": (invalid_utf8, 1_500),
    "nul_bytes": (nul_bytes, 1_500),
    "huge_lines": (huge_lines, 12),
    "deep_json": (deep_json, 300),
    "wide_json": (wide_json, 30),
    "regex_catastrophic": (regex_catastrophic, 600),
    "mutated": (mutated, 3_058),
}


def fuzz_lines(seed: int = SEED) -> dict[str, list[bytes]]:
    """Every category's lines, the same for the same seed."""
    rng = random.Random(seed)
    return {name: make(rng, count) for name, (make, count) in CATEGORIES.items()}


def expected_valid(lines: dict[str, list[bytes]]) -> tuple[int, int]:
    """(indexed, filtered) among the ``valid`` category's lines."""
    dropped = sum(DROPPED_PATH.encode() in line for line in lines["valid"])
    return len(lines["valid"]) - dropped, dropped


def fuzz_config(config: LogiflowConfig) -> LogiflowConfig:
    """``config`` with the custom format, the parse limit and the drop rule of the fuzz run."""
    parse = config.parse.model_copy(
        update={
            "max_line_bytes": PARSE_MAX_LINE_BYTES,
            "custom_formats": {CUSTOM_NAME: CustomFormat(nginx_log_format=CUSTOM_LOG_FORMAT)},
        }
    )
    drop = [DropRule(name="fuzz-drop", field=ecs.URL_PATH, op="equals", value=DROPPED_PATH)]
    return config.model_copy(
        update={"parse": parse, "filter": config.filter.model_copy(update={"drop": drop})}
    )
