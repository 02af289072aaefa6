from __future__ import annotations

import pytest

from streams_worker.core.errors import ConfigurationError
from streams_worker.core.settings import CommonSettings, WorkerSettings, load


def test_defaults_follow_the_design_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POD_NAME", "worker-7f9c")
    s = load(WorkerSettings)
    assert (s.stream, s.group, s.consumer) == ("articles", "enrichment", "worker-7f9c")
    assert (s.concurrency, s.block_ms, s.claim_min_idle_ms, s.claim_interval_ms) == (
        16, 5000, 60_000, 5000,
    )  # fmt: skip
    assert (s.max_deliveries, s.partitions, s.http_port, s.shutdown_grace_s) == (3, 1, 8000, 25)
    assert s.keys().partitions[0].dead_letter == "articles:dead"


def test_earlier_workers_redis_host_settings_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_HOST", "cache.internal")
    monkeypatch.setenv("REDIS_PORT", "6380")
    monkeypatch.setenv("REDIS_PASSWORD", "s3cr:et")
    s = load(CommonSettings)
    assert s.redis_url.get_secret_value() == "redis://:s3cr%3Aet@cache.internal:6380/0"
    assert "s3cr" not in s.safe_redis_url()
    assert "s3cr" not in repr(s)


def test_redis_url_wins_over_redis_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_HOST", "old")
    monkeypatch.setenv("REDIS_URL", "rediss://user:pw@new:6390/1")
    s = load(CommonSettings)
    assert s.safe_redis_url() == "rediss://user:***@new:6390/1"


def test_password_from_a_mounted_secret_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    secret = tmp_path / "password"
    secret.write_text("from-file\n")
    monkeypatch.setenv("REDIS_PASSWORD_FILE", str(secret))
    assert load(CommonSettings).password() == "from-file"


def test_cli_overrides_beat_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER_CONCURRENCY", "4")
    assert load(WorkerSettings, concurrency=32).concurrency == 32


def test_batch_size_is_capped_by_concurrency() -> None:
    assert load(WorkerSettings, concurrency=4, batch_size=50).batch_size == 4


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WORKER_CONCURRENCY", "0"),
        ("WORKER_CONCURRENCY", "-3"),
        ("WORKER_CONCURRENCY", "many"),
        ("WORKER_BATCH_SIZE", "1e9"),
        ("WORKER_CLAIM_MIN_IDLE_MS", "-1"),
        ("WORKER_MAX_DELIVERIES", "0"),
        ("WORKER_PARTITIONS", "0"),
        ("WORKER_HTTP_PORT", "70000"),
        ("WORKER_SHUTDOWN_GRACE_S", "forever"),
        ("REDIS_URL", "localhost:6379"),
        ("REDIS_URL", "redis://"),
        ("REDIS_URL", "redis://h:notaport/0"),
        ("WORKER_LOG_LEVEL", "chatty"),
        ("WORKER_STREAM", ""),
    ],
)
def test_a_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as err:
        load(WorkerSettings)
    assert err.value.variable == variable
    assert "\n" not in str(err.value)


def test_a_bad_redis_url_is_not_echoed_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "http://user:hunter2@h")
    with pytest.raises(ConfigurationError) as err:
        load(WorkerSettings)
    assert "hunter2" not in str(err.value)


def test_tls_files_are_required_only_with_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_TLS_CA_FILE", "/nonexistent/ca.pem")
    monkeypatch.setenv("REDIS_URL", "redis://h:6379/0")
    assert load(CommonSettings).redis_tls_ca_file is not None  # unused without TLS
    monkeypatch.setenv("REDIS_URL", "rediss://h:6379/0")
    with pytest.raises(ConfigurationError) as err:
        load(CommonSettings)
    assert err.value.variable == "REDIS_TLS_CA_FILE"


def test_a_missing_password_file_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_PASSWORD_FILE", "/nonexistent/password")
    with pytest.raises(ConfigurationError) as err:
        load(CommonSettings)
    assert err.value.variable == "REDIS_PASSWORD_FILE"


def test_sentinels_need_a_master_name_and_exclude_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_SENTINELS", " s0:26379, [::1]:26380 ")
    with pytest.raises(ConfigurationError, match=r"^REDIS_SENTINEL_MASTER: is required"):
        load(CommonSettings)
    monkeypatch.setenv("REDIS_SENTINEL_MASTER", "mymaster")
    s = load(CommonSettings)
    assert s.sentinel_addresses() == [("s0", 26379), ("::1", 26380)]
    assert s.safe_redis_url() == "sentinel://s0:26379,[::1]:26380/mymaster/0"
    monkeypatch.setenv("REDIS_CLUSTER", "true")
    with pytest.raises(ConfigurationError, match=r"^REDIS_SENTINELS: and REDIS_CLUSTER"):
        load(CommonSettings)
