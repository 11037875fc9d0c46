from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from feedsvc.config import ConfigError, SourceSettings, load_settings

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str, name: str = "c.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_defaults_without_any_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, env={})
    assert settings.service.port == 8080
    assert settings.telegram.push_categories == ("KALTARA",)
    assert settings.store.retention == 1000
    assert settings.path == ""


def test_example_config_loads_and_documents_every_key() -> None:
    settings = load_settings(str(ROOT / "config.example.toml"), env={})
    assert settings.sources, "the example should carry real sources"
    lines = (ROOT / "config.example.toml").read_text().splitlines()
    for section in ("service", "redis", "store", "logging", "feeds", "api", "poll", "telegram"):
        assert f"[{section}]" in lines
        for key in getattr(settings, section).__dataclass_fields__:
            line = next((ln for ln in lines if ln.startswith(f"{key} = ")), None)
            assert line is not None, f"{section}.{key} missing from config.example.toml"
            assert "#" in line, f"{section}.{key} has no comment"
    for key in SourceSettings.__dataclass_fields__:
        assert any(ln.startswith(f"# {key} ") for ln in lines), f"sources.{key} undocumented"


def test_precedence_cli_then_env_then_local_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "[service]\ntitle = 'local'\n", "config.toml")
    env_file = write(tmp_path, "[service]\ntitle = 'env'\n", "env.toml")
    cli_file = write(tmp_path, "[service]\ntitle = 'cli'\n", "cli.toml")
    assert load_settings(None, env={}).service.title == "local"
    assert load_settings(None, env={"FEEDSVC_CONFIG": env_file}).service.title == "env"
    assert load_settings(cli_file, env={"FEEDSVC_CONFIG": env_file}).service.title == "cli"


def test_environment_overrides_win(tmp_path: Path) -> None:
    path = write(tmp_path, "[service]\nport = 9000\n[redis]\nurl = 'redis://a:6379/0'\n")
    env = {
        "REDIS_URL": "redis://b:6379/1",
        "TELEGRAM_BOT_TOKEN": "123:abc",
        "PORT": "9100",
        "FEEDSVC_BASE_URL": "https://berita.example",
        "FEEDSVC_API_TOKENS": " token-one-123, token-two-456 ",
    }
    s = load_settings(path, env=env)
    assert s.redis.url == "redis://b:6379/1"
    assert s.telegram.token == "123:abc"
    assert s.service.port == 9100
    assert s.service.base_url == "https://berita.example"
    assert s.api.tokens == ("token-one-123", "token-two-456")
    assert "feedsvc/0." in s.user_agent and "(+https://berita.example)" in s.user_agent
    assert "123:abc" not in repr(s)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[service]\nportt = 1\n", "unknown key 'service.portt'"),
        ("[servise]\nport = 1\n", "unknown key 'servise'"),
        ("[service]\nport = '80'\n", "'service.port' must be an integer, got a string"),
        ("[poll]\ninterval = -5\n", "'poll.interval' must be a positive number"),
        ("[poll]\ninterval = true\n", "'poll.interval' must be a number"),
        ("[api]\ntokens = 'x'\n", "'api.tokens' must be a list"),
        ("[api]\ntokens = [1]\n", "'api.tokens[0]' must be a string"),
        ("[api]\ntokens = ['']\n", "'api.tokens[0]' is empty"),
        ("[api]\ntokens = ['ok-token', '   ']\n", "'api.tokens[1]' is empty"),
        ("[api]\ntokens = ['one,two']\n", "'api.tokens[0]' holds a comma"),
        ("[api]\ntokens = [' padded ']\n", "'api.tokens[0]' may hold only printable ASCII"),
        ("[api]\ntokens = ['tóken']\n", "'api.tokens[0]' may hold only printable ASCII"),
        ("[service]\nbase_url = 'ftp://x'\n", "'service.base_url' must be an http(s) URL"),
        ("[redis]\nurl = 'http://x'\n", "'redis.url' must start with one of"),
        ("[store]\nretention = 0\n", "'store.retention' must be at least 1"),
        ("[redis]\ntimeout = 0\n", "'redis.timeout' must be from 1.5 to 60 seconds"),
        ("[redis]\ntimeout = nan\n", "'redis.timeout' must be from 1.5 to 60 seconds"),
        ("[logging]\nformat = 'xml'\n", "'logging.format' must be one of text, json, got 'xml'"),
        ("[logging]\nlevel = 'loud'\n", "'logging.level' must be one of debug, info, warning"),
        ("[logging]\naccess_log = 'yes'\n", "'logging.access_log' must be true or false"),
        ("[logging]\ncolour = true\n", "unknown key 'logging.colour'"),
        ("[service]\nshutdown_timeout = 0\n", "'service.shutdown_timeout' must be a positive"),
        ("[service]\nshutdown_timeout = -3\n", "'service.shutdown_timeout' must be a positive"),
        ("[service]\nshutdown_timeout = nan\n", "'service.shutdown_timeout' must be a positive"),
        ("[service]\nshutdown_timeout = '30'\n", "'service.shutdown_timeout' must be a number"),
        ("[service]\nheader_timeout = 0\n", "'service.header_timeout' must be a positive"),
        ("[service]\nheader_timeout = inf\n", "'service.header_timeout' must be a positive"),
        ("[service]\ntimezone = 'Mars/Olympus'\n", "'service.timezone' is not a known"),
        ("[telegram]\nmode = 'push'\n", "'telegram.mode' must be one of polling, webhook"),
        ("[telegram]\nchannels = ['no spaces']\n", "'telegram.channels[0]'"),
        ("[telegram]\nadmins = ['me']\n", "'telegram.admins[0]' must be an integer"),
        ("[telegram]\nwebhook_secret = 'a b'\n", "'telegram.webhook_secret' may hold only"),
        ("[telegram]\nphotos = 'yes'\n", "'telegram.photos' must be true or false"),
        ("[telegram]\ndigest_hour = 24\n", "'telegram.digest_hour' must be an hour from 0 to 23"),
        ("[telegram]\ndigest_hour = 7.5\n", "'telegram.digest_hour' must be an integer"),
        ("[telegram]\nalert_after_hours = 0\n", "'telegram.alert_after_hours' must be positive"),
        ("sources = 3\n", "'sources' must be an array of tables"),
        ("[[sources]]\nurl = 'https://x.id/feed/'\n", "missing key 'sources[0].name'"),
        (
            "[[sources]]\nname = 'a'\nurl = 'https://x.id/feed/'\nkind = 'rss'\n",
            "'sources[0].kind' must be one of feed, html, got 'rss'",
        ),
        (
            "[[sources]]\nname = 'a'\nurl = 'https://x.id/feed/'\ninterval = 0\n",
            "'sources[0].interval' must be a positive number",
        ),
        ("[[sources]]\nname = 'a'\nurl = 'x.id/feed'\n", "'sources[0].url' must be an http(s)"),
        (
            "[[sources]]\nname = 'a'\nurl = 'https://x.id/'\n"
            "[[sources]]\nname = 'a'\nurl = 'https://y.id/'\n",
            "'sources[1].name' repeats",
        ),
        (
            "[[sources]]\nname = 'a'\nurl = 'https://x.id/'\nbogus = 1\n",
            "unknown key 'sources[0].bogus'",
        ),
        ("[service\n", "not valid TOML"),
    ],
)
def test_mistakes_name_the_file_and_the_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    message = str(info.value)
    assert message.startswith(path + ": ")
    assert expected in message
    assert "\n" not in message


def test_source_interval_any_positive_number(tmp_path: Path) -> None:
    path = write(tmp_path, "[[sources]]\nname = 'a'\nurl = 'https://x.id/feed/'\ninterval = 0.5\n")
    s = load_settings(path, env={})
    assert s.source_interval(s.sources[0]) == 0.5
    path = write(tmp_path, "[[sources]]\nname = 'b'\nurl = 'https://x.id/feed/'\n", "d.toml")
    s = load_settings(path, env={})
    assert s.source_interval(s.sources[0]) == s.poll.interval


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("good-token,,other", "FEEDSVC_API_TOKENS token 2 is empty"),
        ("good-token,", "FEEDSVC_API_TOKENS token 2 is empty"),
        (" , ", "FEEDSVC_API_TOKENS token 1 is empty"),
        ("good-token,bad token", "FEEDSVC_API_TOKENS token 2 may hold only printable ASCII"),
    ],
)
def test_bad_api_tokens_from_the_environment(value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(None, env={"FEEDSVC_API_TOKENS": value})
    assert str(info.value).startswith(f"environment: {expected}")
    assert "good-token" not in str(info.value) and "bad token" not in str(info.value)


def test_a_bad_token_in_the_file_gets_no_hint_about_the_environment(tmp_path: Path) -> None:
    for text in ("[api]\ntokens = ['']\n", "[api]\ntokens = ['one,two']\n"):
        with pytest.raises(ConfigError) as info:
            load_settings(write(tmp_path, text), env={})
        assert "commas?" not in str(info.value)
    with pytest.raises(ConfigError, match="two commas, or one at an end"):
        load_settings(None, env={"FEEDSVC_API_TOKENS": "a-token,,b-token"})


def test_missing_file_and_bad_port_env(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(str(tmp_path / "nope.toml"), env={})
    with pytest.raises(ConfigError, match="PORT must be a number"):
        load_settings(None, env={"PORT": "eighty"})


def test_cli_prints_one_line_and_exits_nonzero(tmp_path: Path) -> None:
    path = write(tmp_path, "[poll]\ninterval = -1\n")
    result = subprocess.run(
        [sys.executable, "-m", "feedsvc", "run", "--config", path],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"feedsvc: {path}: 'poll.interval' must be a positive number of seconds"
    ]
    assert "Traceback" not in result.stderr


def test_a_bad_value_from_the_environment_names_the_variable(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[redis]\nurl = 'redis://127.0.0.1:6379'\n")
    with pytest.raises(ConfigError) as err:
        load_settings(str(path), env={"REDIS_URL": "localhost:6379"})
    assert str(err.value).startswith("environment: REDIS_URL must start with one of redis")
    with pytest.raises(ConfigError) as err:
        load_settings(str(path), env={"FEEDSVC_BASE_URL": "berita.example"})
    assert str(err.value).startswith("environment: FEEDSVC_BASE_URL must be an http(s) URL")
    path.write_text("[redis]\nurl = 'localhost:6379'\n")
    with pytest.raises(ConfigError) as err:  # from the file: the file and the key
        load_settings(str(path), env={})
    assert str(err.value).startswith(f"{path}: 'redis.url' must start with one of redis")


def test_origin_says_where_a_value_came_from(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[redis]\nurl = 'redis://127.0.0.1:6379'\n")
    assert load_settings(str(path), env={}).origin("redis.url") == f"redis.url in {path}"
    from_env = load_settings(str(path), env={"REDIS_URL": "redis://other:6379"})
    assert from_env.origin("redis.url") == "REDIS_URL"
    assert from_env.redis.url == "redis://other:6379"
    assert from_env.origin("service.port") == f"service.port in {path}"
