"""How often the daemon looks for due tenant schedules: a minute unless EXPORT_SCHEDULE_CHECK_SECONDS says
otherwise, never under the sensor daemon's own 5 s loop, and a clear error for a value that is no number."""

from __future__ import annotations

import pytest

from export_platform.errors import InvalidSetting
from export_platform.settings import SCHEDULE_CHECK_VAR, schedule_check_seconds


@pytest.mark.parametrize(("value", "seconds"), [(None, 60), ("", 60), ("15", 15), ("1", 5), ("300", 300)])
def test_the_interval_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str | None, seconds: int
) -> None:
    if value is None:
        monkeypatch.delenv(SCHEDULE_CHECK_VAR, raising=False)
    else:
        monkeypatch.setenv(SCHEDULE_CHECK_VAR, value)
    assert schedule_check_seconds() == seconds


def test_a_value_that_is_no_number_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SCHEDULE_CHECK_VAR, "1m")
    with pytest.raises(InvalidSetting, match=r"^EXPORT_SCHEDULE_CHECK_SECONDS='1m' is not a whole number"):
        schedule_check_seconds()
