"""The configuration file and its environment overrides: stable keys, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, SimChannelSettings, WeChatChannelSettings, load_settings

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


def test_the_example_file_loads() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.database.url.startswith("postgresql+asyncpg://")
    assert [c.type for c in settings.channels] == ["wechat", "sim"]


def test_defaults_are_the_embedded_stack(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""))
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 8080)
    assert settings.database.url == "sqlite+aiosqlite:///./villagebot.db"
    assert settings.redis.url == ""
    assert settings.admin.token == ""
    assert settings.media.dir == Path("./media")
    assert settings.channels == [SimChannelSettings(type="sim")]
    assert load_settings(None).model_dump() == settings.model_dump()  # no file: the same


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
    assert "server.port" in str(refused.value)
    assert "VILLAGEBOT_SERVER__PORT" in str(refused.value)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[server]\nport = "abc"\n', "server.port"),
        ("[server]\nport = 70000\n", "server.port"),
        ('[database]\nurl = "mysql://x/y"\n', "database.url"),
        ('[redis]\nurl = "http://cache"\n', "redis.url"),
        ("[bot]\nreply_deadline_seconds = 6\n", "bot.reply_deadline_seconds"),
        ('[bot]\ntimezone = "Mars/Olympus"\n', "bot.timezone"),
        ("[serverr]\nport = 1\n", "serverr"),
        ('[[channels]]\ntype = "telegram"\nname = "t"\n', "channels.0"),
        (WECHAT.replace('token = "tok123"\n', ""), "channels.0.token"),
        (WECHAT + 'encoding_aes_key = "short"\n', "channels.0.encoding_aes_key"),
        (WECHAT.replace('name = "oa"', 'name = "o a/x"'), "channels.0.name"),
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
    assert f"config key {key}" in refusal(tmp_path, text)


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
