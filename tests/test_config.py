"""The configuration file and its environment overrides: stable keys, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.access import check_exposure
from bot.cli.settings import load_settings
from bot.config import (
    EXAMPLE_TOKEN,
    MAKE_A_TOKEN,
    ConfigError,
    SimChannelSettings,
    WeChatChannelSettings,
)

EXAMPLE = Path(__file__).parent.parent / "examples" / "villagebot.toml"
WECHAT = """
[[channels]]
type = "wechat"
name = "oa"
token = "tok123"
app_id = "wx1"
"""


@pytest.fixture(autouse=True)
def _no_stray_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("VILLAGEBOT_"):
            monkeypatch.delenv(name)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "villagebot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def refusal(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as refused:
        load_settings(write(tmp_path, text))
    return str(refused.value)


def test_the_example_file_is_refused_until_its_admin_token_is_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(EXAMPLE)
    assert str(refused.value) == (
        f"config key [admin] token in {EXAMPLE}: is the example's placeholder, not a secret: "
        f"make one with {MAKE_A_TOKEN}"
    )
    assert f'token = "{EXAMPLE_TOKEN}"' in EXAMPLE.read_text(encoding="utf-8")
    monkeypatch.setenv("VILLAGEBOT_ADMIN__TOKEN", "Zx8-4tq2LqR0b3VvN1kWc9yPa7sJmE5d")
    settings = load_settings(EXAMPLE)
    assert settings.database.url.startswith("postgresql+asyncpg://")
    assert [c.type for c in settings.channels] == ["wechat"]  # the simulator is left out
    assert settings.server.metrics_port == 9464
    check_exposure(settings)  # it would start


def test_defaults_are_the_embedded_stack(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""))
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 8080)
    assert settings.database.url == "sqlite+aiosqlite:///./villagebot.db"
    assert settings.redis.url == ""
    assert settings.admin.token == ""
    assert settings.server.metrics_port == 9464
    assert (settings.sim.token, settings.sim.allow_real_pushes) == ("", False)
    assert settings.media.dir == Path("./media")
    assert settings.cache_dir == Path("./cache")  # jieba's dictionary, beside the media
    assert settings.channels == [SimChannelSettings(type="sim")]
    assert load_settings(None).model_dump() == settings.model_dump()  # no file: the same


def test_the_cache_sits_beside_the_media_unless_configured(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, '[media]\ndir = "/srv/vb/media"\n'))
    assert settings.cache_dir == Path("/srv/vb/cache")
    settings = load_settings(write(tmp_path, '[cache]\ndir = "/var/cache/vb"\n'))
    assert settings.cache_dir == Path("/var/cache/vb")


def test_a_wechat_channel_with_its_stable_keys(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, WECHAT))
    (oa,) = settings.channels
    assert isinstance(oa, WeChatChannelSettings)
    assert (oa.name, oa.token, oa.app_id, oa.encoding_aes_key) == ("oa", "tok123", "wx1", "")
    assert oa.api_base == "https://api.weixin.qq.com"


def test_environment_wins_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VILLAGEBOT_SERVER__PORT", "9001")
    monkeypatch.setenv("VILLAGEBOT_REDIS__URL", "redis://127.0.0.1:6379/3")
    settings = load_settings(write(tmp_path, "[server]\nport = 8081\n"))
    assert settings.server.port == 9001
    assert settings.redis.url == "redis://127.0.0.1:6379/3"


def test_a_bad_environment_value_names_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VILLAGEBOT_SERVER__PORT", "eighty")
    with pytest.raises(ConfigError) as refused:
        load_settings(write(tmp_path, ""))
    assert str(refused.value) == (
        "config key [server] port from VILLAGEBOT_SERVER__PORT: must be a whole number, "
        "not 'eighty'"
    )


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[server]\nport = "abc"\n', "[server] port"),
        ("[server]\nport = 70000\n", "[server] port"),
        ('[database]\nurl = "mysql://x/y"\n', "[database] url"),
        ('[redis]\nurl = "http://cache"\n', "[redis] url"),
        ("[bot]\nreply_deadline_seconds = 6\n", "[bot] reply_deadline_seconds"),
        ('[bot]\ntimezone = "Mars/Olympus"\n', "[bot] timezone"),
        ("[serverr]\nport = 1\n", "[serverr]"),
        ('[[channels]]\ntype = "telegram"\nname = "t"\n', "[[channels]] number 1"),
        (WECHAT.replace('token = "tok123"\n', ""), "[[channels]] number 1, token"),
        (WECHAT + 'encoding_aes_key = "short"\n', "[[channels]] number 1, encoding_aes_key"),
        (WECHAT.replace('name = "oa"', 'name = "o a/x"'), "[[channels]] number 1, name"),
    ],
    ids=[
        "port-text",
        "port-range",
        "db-scheme",
        "redis-scheme",
        "deadline",
        "timezone",
        "unknown-section",
        "channel-type",
        "wechat-token",
        "aes-key",
        "channel-name",
    ],
)
def test_bad_values_are_refused_naming_the_key(tmp_path: Path, text: str, key: str) -> None:
    message = refusal(tmp_path, text)
    assert f"config key {key} in {tmp_path / 'villagebot.toml'}: " in message
    assert "VILLAGEBOT_" not in message  # none of it came from the environment
    for internal in ("Settings", "Input should", "pattern", "^", "Extra inputs"):
        assert internal not in message


def test_a_typo_in_the_file_names_the_file_and_the_keys_it_could_be(tmp_path: Path) -> None:
    assert refusal(tmp_path, "[server]\nprot = 8081\n") == (
        f"config key [server] prot in {tmp_path / 'villagebot.toml'}: is not a known key "
        "(known here: host, port, max_body_bytes, public_url, metrics_port)"
    )


def test_a_typo_in_the_environment_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VILLAGEBOT_SERVER__PROT", "8081")
    message = refusal(tmp_path, "[server]\nport = 8081\n")
    assert message.startswith("config key [server] prot from VILLAGEBOT_SERVER__PROT: ")
    assert "villagebot.toml" not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[server]\npublic_url = "bot.example.cn"\n', "an address such as https://"),
        ('[redis]\nprefix = "v b"\n', "letters, digits, _, : and -"),
        ('[scheduler]\nquiet_hours = "22-7"\n', '"22:00-07:00"'),
        (WECHAT.replace('name = "oa"', 'name = "OA"'), "lower-case letters"),
        ('[bot]\nlocale = "fr"\n', "must be 'zh_CN' or 'en', not 'fr'"),
        ("[scheduler]\nrenew_seconds = 30\n", "renew_seconds must be shorter than lock_seconds"),
    ],
    ids=["public-url", "redis-prefix", "quiet-hours", "channel-name", "locale", "renew"],
)
def test_refusals_say_what_is_expected(tmp_path: Path, text: str, expected: str) -> None:
    message = refusal(tmp_path, text)
    assert expected in message
    assert "pattern" not in message
    assert "Value error" not in message


def test_two_channels_with_one_name_are_refused(tmp_path: Path) -> None:
    assert "'oa' is used more than once" in refusal(tmp_path, WECHAT + WECHAT)


def test_toml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    message = refusal(tmp_path, "[server]\nport = 8080\nhost = \n")
    assert "villagebot.toml is not valid TOML" in message
    assert "line 3" in message


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(tmp_path / "nowhere.toml")
    assert "does not exist" in str(refused.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[admin]\ntoken = "change-me"\n',
            "[admin] token in {file}: is the example's placeholder",
        ),
        (
            '[admin]\ntoken = "short-but-random-x9"\n',
            "[admin] token in {file}: must be at least 24",
        ),
        ('[sim]\ntoken = "hunter2"\n', "[sim] token in {file}: must be at least 24"),
        ("[server]\nport = 9464\n", "[server] in {file}: metrics_port must differ from port"),
        (
            '[sim]\nallow_real_pushes = "maybe"\n',
            "[sim] allow_real_pushes in {file}: must be true",
        ),
    ],
    ids=["placeholder", "short-admin", "short-sim", "one-port", "flag"],
)
def test_weak_tokens_and_clashing_ports_are_refused(
    tmp_path: Path, text: str, expected: str
) -> None:
    message = refusal(tmp_path, text)
    assert expected.format(file=tmp_path / "villagebot.toml") in message
    assert len(message.splitlines()) == 1
    if "token" in text:
        assert MAKE_A_TOKEN in message  # how to make a good one
        assert text.split('"')[1] not in message  # the secret is not echoed


def test_a_weak_token_from_the_environment_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VILLAGEBOT_ADMIN__TOKEN", "abc")
    message = refusal(tmp_path, "")
    assert message.startswith("config key [admin] token from VILLAGEBOT_ADMIN__TOKEN: ")


def test_strong_tokens_and_a_separate_metrics_port_load(tmp_path: Path) -> None:
    token = "x" * 24
    text = f'[server]\nmetrics_port = 0\n[admin]\ntoken = "{token}"\n[sim]\ntoken = "{token}"\n'
    settings = load_settings(write(tmp_path, text))
    assert (settings.admin.token, settings.sim.token, settings.server.metrics_port) == (
        token,
        token,
        0,
    )


def test_the_sim_section_is_named_as_written_not_taken_for_a_channel(tmp_path: Path) -> None:
    assert refusal(tmp_path, '[sim]\ntokn = "x"\n') == (
        f"config key [sim] tokn in {tmp_path / 'villagebot.toml'}: is not a known key "
        "(known here: token, allow_real_pushes)"
    )
