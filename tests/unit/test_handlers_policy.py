from __future__ import annotations

import pytest

from streams_worker.core.errors import ConfigurationError
from streams_worker.core.handlers import is_async, load_handler
from streams_worker.core.policy import Backoff


def test_a_handler_is_loaded_by_module_and_name() -> None:
    h = load_handler("tests.support.handlers:Recorder")  # a class: zero-arg factory
    assert is_async(h)


def test_a_factory_is_called_to_build_the_handler() -> None:
    h = load_handler("tests.support.handlers:recorder")
    assert callable(h)
    assert is_async(h)


@pytest.mark.parametrize(
    "spec", ["nocolon", "no_such_module_xyz:h", "tests.support.handlers:missing", ":h"]
)
def test_a_bad_handler_spec_is_a_configuration_error(spec: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        load_handler(spec)
    assert err.value.variable == "WORKER_HANDLER"


def test_backoff_grows_to_its_cap_with_jitter_and_resets() -> None:
    b = Backoff(base_s=0.1, cap_s=2.0)
    delays = [b.next_delay() for _ in range(10)]
    assert delays[0] <= 0.1
    assert all(d <= 2.0 for d in delays)
    assert delays[-1] >= 1.0  # reached the cap (jitter keeps it in [cap/2, cap])
    b.reset()
    assert b.next_delay() <= 0.1
