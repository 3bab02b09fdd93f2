"""The Python workers' reference data is frozen out of the collector's scans once loaded."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_loading_the_geo_database_and_user_agent_matchers_freezes_them() -> None:
    # In a fresh interpreter: freezing is process-wide, and pytest's own objects must not count.
    script = textwrap.dedent(
        """
        import gc
        from logiflow.etl import enrich_geo, enrich_useragent
        assert gc.get_freeze_count() == 0
        enrich_geo._database()
        after_geo = gc.get_freeze_count()
        enrich_useragent._resolver()
        print(after_geo, gc.get_freeze_count(), len(gc.get_objects()))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    after_geo, after_both, still_scanned = map(int, out)
    # Tens of thousands of objects, now skipped by every collection PySpark runs between tasks.
    assert after_geo > 10_000
    assert after_both >= after_geo
    assert still_scanned < after_both
