"""User regexes that can backtrack catastrophically fail the config load, naming the key.

The rule set is in ``logiflow.regex_safety``; here: the classic ReDoS shapes are refused in drop
rules and endpoint rules, the shipped defaults, the README's examples and common safe patterns
pass, and every compiled log format (built-in and custom) is possessive enough to pass too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from logiflow.config import DEFAULT_ENDPOINT_RULES, load_config
from logiflow.errors import ConfigError
from logiflow.etl.parse import log_format
from logiflow.regex_safety import backtracking_problem

CATASTROPHIC = [
    r"(a+)+$",  # nested quantifiers: exponential
    r"^(\w+\s?)*$",  # nested, with an optional separator
    r"(x+x+)+y",
    r"(a|a)*$",  # repeated alternation, same first character
    r"(a|ab)*c",
    r"(\w|\d)+$",  # single-character branches Python would merge into a set; Java does not
    r"(a|)+",  # a branch that matches nothing
    r"(a{1,5})+$",  # a bounded inner repeat is still ambiguous
    r"\d+\d+$",  # adjacent overlapping repeats: cubic under rlike's search
    r".*.*=.*",
    r"(\p{Alpha}+)+$",  # Java-only syntax is translated before the check
    r"(?i)[a-z]+[A-Z]+$",  # overlapping once case is ignored
]

SAFE = [
    r"[0-9]+",
    r"(?i)\.(png|jpe?g|gif)$",
    r"\p{XDigit}{12,}",
    r".*bot.*",
    r"(?i)bot|crawler|spider",
    r"^/health",
    r"(\d+\.)+\d+",  # each iteration ends with a character the next repeat cannot start with
    r"(?:[a-z0-9]+-)+[a-z0-9]+",
    r"(a|b)+",
    r"(a++)+$",  # possessive: gives nothing back
    r"(?>a+)+b",  # atomic group
    r"\Q(a+)+\E",  # quoted literal text
    r"[a-z]+[A-Z]+$",  # distinct while case matters
]


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_catastrophic_patterns_are_named(pattern: str) -> None:
    assert backtracking_problem(pattern)


@pytest.mark.parametrize("pattern", SAFE)
def test_safe_patterns_pass(pattern: str) -> None:
    assert backtracking_problem(pattern) is None


def _load(tmp_path: Path, data: dict) -> None:
    path = tmp_path / "logiflow.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    load_config(path)


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(\w|\d)+$", r"\d+\d+$"])
def test_drop_rule_regex_fails_the_load_naming_the_key(tmp_path: Path, pattern: str) -> None:
    rule = {"name": "slow", "field": "url.path", "op": "regex", "value": pattern}
    with pytest.raises(ConfigError, match=r"filter\.drop\.0\.value: .*backtrack catastrophically"):
        _load(tmp_path, {"filter": {"drop": [rule]}})


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(a|ab)*c", r"([a-z]+[0-9]*)+"])
def test_endpoint_rule_fails_the_load_naming_the_key(tmp_path: Path, pattern: str) -> None:
    rules = [{"pattern": "[0-9]+"}, {"pattern": pattern}]
    with pytest.raises(ConfigError, match=r"enrich\.endpoint_rules\.1\.pattern: .*backtrack"):
        _load(tmp_path, {"enrich": {"endpoint_rules": rules}})


def test_other_drop_operations_are_not_read_as_regexes(tmp_path: Path) -> None:
    rule = {"name": "literal", "field": "url.path", "op": "prefix", "value": "(a+)+"}
    _load(tmp_path, {"filter": {"drop": [rule]}})


def test_defaults_and_readme_examples_load(tmp_path: Path) -> None:
    assert all(backtracking_problem(rule.pattern) is None for rule in DEFAULT_ENDPOINT_RULES)
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    example = readme.split("```yaml\n")[1].split("```")[0]  # the configuration example
    data = yaml.safe_load(example)
    assert data["filter"]["drop"] and data["enrich"]["endpoint_rules"]
    _load(tmp_path, data)


@pytest.mark.parametrize(
    "compiled",
    [
        log_format.COMBINED,
        log_format.COMMON,
        log_format.MAIN,
        log_format.compile_nginx_log_format(
            "timed",
            'log_format timed \'$remote_addr $host "$request" $status $body_bytes_sent '
            '$request_time "$http_user_agent" "$http_x_forwarded_for" $request_uri $uri '
            "$args [$time_iso8601]';",
        ),
        log_format.compile_apache_log_format(
            "vhost", '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i" %D %U%q'
        ),
    ],
    ids=lambda compiled: compiled.name,
)
def test_compiled_formats_cannot_backtrack(compiled: log_format.CompiledFormat) -> None:
    assert backtracking_problem(compiled.regex) is None


@pytest.mark.parametrize("pattern", [*CATASTROPHIC, *SAFE])
def test_every_pattern_here_is_really_read(pattern: str) -> None:
    # A pattern Python cannot read after translation is not judged: none of these may be one.
    import re._parser as sre_parse  # type: ignore[import-not-found]

    from logiflow.regex_safety import _java_to_python

    sre_parse.parse(_java_to_python(pattern))
