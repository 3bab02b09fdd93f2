"""Our own errors end the CLI with one line on stderr, whatever brackets the message quotes."""

from __future__ import annotations

import pytest

from logiflow.cli import main
from logiflow.io.bulk_retries import SinkRefusedError

# As Elasticsearch words a 401: a bracketed path that reads like a closing markup tag.
REFUSAL = (
    "Elasticsearch refused the sink's bulk request (401: security_exception: unable to "
    "authenticate user [etl] for REST request [/_bulk?filter_path=errors,items.*._id])"
)


def test_a_message_quoting_brackets_is_printed_as_it_is(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse() -> None:
        raise SinkRefusedError(REFUSAL)

    monkeypatch.setattr(main, "app", refuse)
    with pytest.raises(SystemExit) as exited:
        main.run()
    assert exited.value.code == SinkRefusedError.exit_code
    assert " ".join(capsys.readouterr().err.split()) == f"error: {REFUSAL}"
