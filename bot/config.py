"""Settings: one TOML file, every key overridable by VILLAGEBOT_<SECTION>__<KEY>. Reading
them for a command, and saying what is wrong in an operator's words: bot/cli/settings.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "VILLAGEBOT_"
CHANNEL_NAME = r"^[a-z0-9][a-z0-9_-]{0,31}$"
PUBLIC_URL = r"^(https?://[^\s/]+(/[^\s]*)?)?$"
KEY_PREFIX = r"^[A-Za-z0-9_:-]+$"
_HHMM = r"([01]\d|2[0-3]):[0-5]\d"
QUIET_HOURS = rf"^({_HHMM}-{_HHMM})?$"
# What each pattern asks for, in the words of a refusal
EXPECTED = {
    CHANNEL_NAME: "lower-case letters, digits, - and _, at most 32, e.g. oa or ding-1",
    PUBLIC_URL: "empty, or an address such as https://bot.example.cn",
    KEY_PREFIX: "letters, digits, _, : and -",
    QUIET_HOURS: 'empty, or two times such as "22:00-07:00"',
}
ChannelName = Annotated[str, Field(pattern=CHANNEL_NAME)]

# A bearer token guards an HTTP API only when it cannot be guessed: these are refused.
MIN_TOKEN_LENGTH = 24
EXAMPLE_TOKEN = "REPLACE-WITH-A-RANDOM-TOKEN"  # examples/villagebot.toml's placeholder
PLACEHOLDER_TOKENS = frozenset({EXAMPLE_TOKEN.lower(), "change-me", "changeme"})
MAKE_A_TOKEN = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def check_token(token: str) -> str:
    """A bearer token strong enough to guard an API (empty: that API is off), or ValueError
    in the operator's words. The settings use it; so may any API that takes a token."""
    if not token:
        return token
    if token.strip().lower() in PLACEHOLDER_TOKENS:
        raise ValueError(
            f"is the example's placeholder, not a secret: make one with {MAKE_A_TOKEN}"
        )
    if len(token) < MIN_TOKEN_LENGTH:
        raise ValueError(
            f"must be at least {MIN_TOKEN_LENGTH} random characters: make one with {MAKE_A_TOKEN}"
        )
    return token


Token = Annotated[str, AfterValidator(check_token)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    # Where people's phones reach this server (https://bot.example.cn): links to photos in
    # the cadres' messages start with it. Empty: links are paths only.
    public_url: str = Field("", pattern=PUBLIC_URL)
    # Prometheus scrapes /metrics on this port of 127.0.0.1 only (0: no such port); on the
    # main port /metrics needs the admin token
    metrics_port: int = Field(9464, ge=0, le=65535)

    @model_validator(mode="after")
    def _two_ports(self) -> ServerSettings:
        if self.metrics_port == self.port:
            raise ValueError("metrics_port must differ from port (or be 0: none)")
        return self


class DatabaseSettings(Section):
    url: str = "sqlite+aiosqlite:///./villagebot.db"

    @field_validator("url")
    @classmethod
    def _known_driver(cls, url: str) -> str:
        if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return url


class RedisSettings(Section):
    url: str = ""
    prefix: str = Field("vb", pattern=KEY_PREFIX)

    @field_validator("url")
    @classmethod
    def _redis_scheme(cls, url: str) -> str:
        if url and not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be empty or start with redis://, rediss:// or unix://")
        return url


class AdminSettings(Section):
    # The bearer token of /metrics on the main port (and of the admin API); empty: both off
    token: Token = ""


class SimSettings(Section):
    """Who may use the simulator: whoever reaches /sim/api posts as any person."""

    # Every /sim/api request must carry it (Authorization: Bearer); required unless
    # [server] host is loopback
    token: Token = ""
    # An instance with a sim channel and real channels is refused unless this is true: a
    # notice posted in the simulator would go out through the real robots
    allow_real_pushes: bool = False


class MediaSettings(Section):
    dir: Path = Path("./media")
    max_bytes: int = Field(10 * 1024 * 1024, gt=0, le=10 * 1024 * 1024)  # the platforms' cap


class CacheSettings(Section):
    """Files the bot rebuilds when they are missing (jieba's prepared dictionary): they
    only make the start faster, and may be deleted."""

    dir: Path | None = None  # None: `cache` beside media.dir (./cache by default)


class OutboxSettings(Section):
    """The worker that sends every push: how much at once, how often to retry."""

    enabled: bool = True  # run a worker in this instance (any number may run)
    batch: int = Field(200, ge=1, le=5000)  # rows claimed per pass
    concurrency: int = Field(32, ge=1, le=512)  # sends in flight at once
    lease_seconds: float = Field(120, ge=5)  # a claim a crashed worker leaves runs out then
    poll_seconds: float = Field(1.0, gt=0, le=60)
    send_timeout_seconds: float = Field(10, gt=0, le=60)
    max_attempts: int = Field(8, ge=1)  # then the row is a dead letter
    backoff_seconds: float = Field(5, gt=0)  # first retry; doubles each time, with jitter
    backoff_cap_seconds: float = Field(3600, gt=0)
    merge_after: int = Field(60, ge=2)  # a throttled target's backlog past this is merged


class SchedulerSettings(Section):
    """The sweeps: where they run, when, and the rules they apply."""

    enabled: bool = True  # run the scheduler in this instance (with Redis, one leads at a time)
    # The leader's lock expires after lock_seconds unless renewed every renew_seconds; a
    # standby tries as often, so it takes over within lock_seconds + renew_seconds.
    lock_seconds: float = Field(20, ge=1, le=120)
    renew_seconds: float = Field(5, gt=0, le=60)
    # a sweep's schedule (crontab, in bot.timezone) by name, over its default; "" stops it
    jobs: dict[str, str] = Field(default_factory=dict)
    # 随手拍: a deadline missed is a reminder; each grace period more, a tier up
    report_grace_hours: int = Field(24, ge=1)
    # 通知/督办: a unit that missed the deadline is reminded; this much later, its parent unit
    notice_grace_hours: int = Field(24, ge=1)
    # non-urgent pushes to villagers and elders wait until the end of these (local time)
    quiet_hours: str = Field("22:00-07:00", pattern=QUIET_HOURS)  # "": none

    @field_validator("jobs")
    @classmethod
    def _crontabs(cls, jobs: dict[str, str]) -> dict[str, str]:
        for name, crontab in jobs.items():
            if crontab and len(crontab.split()) != 5:
                raise ValueError(f"{name}: {crontab!r} is not a crontab (five fields)")
        return jobs

    @model_validator(mode="after")
    def _renew_within_lock(self) -> SchedulerSettings:
        if self.renew_seconds >= self.lock_seconds:
            raise ValueError("renew_seconds must be shorter than lock_seconds")
        return self


class BotSettings(Section):
    """Behaviour of the message flow."""

    locale: Literal["zh_CN", "en"] = "zh_CN"
    timezone: str = "Asia/Shanghai"
    dedup_ttl_seconds: int = Field(2 * 24 * 3600, ge=60)
    state_ttl_seconds: int = Field(600, ge=10)
    rate_limit_per_minute: int = Field(20, ge=1)
    reply_deadline_seconds: float = Field(4.0, gt=0, le=4.8)
    # A reply that missed the deadline is given to the platform's retries; if none took it
    # within this many seconds after the deadline (WeChat retries for about 15 s after the
    # message), it is pushed through the outbox instead.
    late_reply_after_seconds: float = Field(12.0, gt=0, le=3600)
    bind_max_failures: int = Field(3, ge=1)
    bind_lock_seconds: int = Field(3600, ge=1)
    # How long a sender's person/roles and a group's org unit are cached; a registry import
    # reaches running instances within this time (a binding takes effect at once).
    directory_ttl_seconds: int = Field(60, ge=0)
    # 随手拍: a report like an open one (same village and category, within this many
    # hours and, when both have a location, this many metres) is linked to it, not added
    report_duplicate_hours: int = Field(48, ge=0)
    report_duplicate_metres: int = Field(200, ge=0)
    # a resolved report the villager never answers is closed after this many days
    report_auto_close_days: int = Field(7, ge=1)
    # 关爱空巢老人: an elder's message with one of these words raises an SOS at once; an
    # alert nobody visits for elder_ack_hours goes a step up (caretakers -> the village
    # secretary -> the township group)
    elder_sos_words: list[str] = Field(default_factory=lambda: ["救命", "求助", "摔倒"])
    elder_ack_hours: float = Field(2, gt=0, le=48)

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {name!r}") from exc
        return name


class WeChatChannelSettings(Section):
    type: Literal["wechat"]
    name: ChannelName
    token: str = Field(min_length=3, max_length=32)
    encoding_aes_key: str = ""
    app_id: str = Field(min_length=1)
    app_secret: str = ""
    api_base: str = "https://api.weixin.qq.com"
    # A template message for pushes outside the 48-hour customer-service window (a verified
    # service account's approved template, with one text field that carries the message).
    template_id: str = ""
    template_field: str = "content"

    @field_validator("encoding_aes_key")
    @classmethod
    def _aes_key_length(cls, key: str) -> str:
        if key and len(key) != 43:
            raise ValueError("must be empty (plaintext mode) or exactly 43 characters")
        return key


class DingTalkChannelSettings(Section):
    """A DingTalk enterprise-internal app robot; group pushes go through each group chat's
    custom robot (its access token and signing secret are stored with the group chat)."""

    type: Literal["dingtalk"]
    name: ChannelName
    # http: DingTalk POSTs to /callback/<name>; stream: the bot opens DingTalk's outbound
    # WebSocket (no public URL needed, for a server behind NAT)
    mode: Literal["http", "stream"] = "http"
    app_key: str = Field(min_length=1)
    app_secret: str = Field(min_length=1)
    robot_code: str = ""  # empty: the app key (an internal app's robot code)
    api_base: str = "https://api.dingtalk.com"
    oapi_base: str = "https://oapi.dingtalk.com"  # the custom robots' send API
    # How far a callback's timestamp may be from our clock. DingTalk's sign covers the
    # timestamp only, so a captured request replays with any body while it is in the window.
    replay_window_seconds: int = Field(3600, ge=60, le=3600)
    # The encrypted callback (the token and aes_key DingTalk shows for the app's callback):
    # when both are set, only encrypted callbacks are taken.
    token: str = Field("", max_length=128)
    aes_key: str = ""

    @field_validator("aes_key")
    @classmethod
    def _dingtalk_aes_key(cls, key: str) -> str:
        if key and not (len(key) == 43 and key.isascii() and key.isalnum()):
            raise ValueError("must be empty or 43 letters and digits, as DingTalk shows it")
        return key

    @model_validator(mode="after")
    def _token_with_aes_key(self) -> DingTalkChannelSettings:
        if bool(self.token) != bool(self.aes_key):
            raise ValueError("token and aes_key go together: set both, or neither")
        return self


def _aes_key(key: str) -> str:
    if len(key) != 43:
        raise ValueError("must be exactly 43 characters (WeCom always encrypts)")
    return key


class WeComChannelSettings(Section):
    """A WeCom self-built app: 1:1 chats with staff (its callback), and group pushes through
    each group chat's group robot (its webhook key is stored with the group chat)."""

    type: Literal["wecom"]
    name: ChannelName
    corp_id: str = Field(min_length=1)
    agent_id: int = 0
    secret: str = ""
    token: str = Field(min_length=3, max_length=32)
    encoding_aes_key: Annotated[str, AfterValidator(_aes_key)]
    api_base: str = "https://qyapi.weixin.qq.com"


class WeComBotChannelSettings(Section):
    """A WeCom smart robot: @mentions in group chats, as encrypted JSON."""

    type: Literal["wecom_bot"]
    name: ChannelName
    token: str = Field(min_length=3, max_length=32)
    encoding_aes_key: Annotated[str, AfterValidator(_aes_key)]
    api_base: str = "https://qyapi.weixin.qq.com"


class SimChannelSettings(Section):
    type: Literal["sim"]
    name: ChannelName = "sim"


ChannelSettings = Annotated[
    WeChatChannelSettings
    | DingTalkChannelSettings
    | WeComChannelSettings
    | WeComBotChannelSettings
    | SimChannelSettings,
    Field(discriminator="type"),
]


_DEFAULT_CHANNELS: tuple[ChannelSettings, ...] = (SimChannelSettings(type="sim"),)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    admin: AdminSettings = AdminSettings()
    sim: SimSettings = SimSettings()
    media: MediaSettings = MediaSettings()
    cache: CacheSettings = CacheSettings()
    outbox: OutboxSettings = OutboxSettings()
    bot: BotSettings = BotSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    channels: list[ChannelSettings] = Field(default_factory=lambda: list(_DEFAULT_CHANNELS))

    @model_validator(mode="after")
    def _unique_channel_names(self) -> Settings:
        names = [c.name for c in self.channels]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"channel name {name!r} is used more than once")
        return self

    @property
    def cache_dir(self) -> Path:
        return self.cache.dir or self.media.dir.parent / "cache"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments, then the environment, then the TOML file.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


class ConfigError(Exception):
    """A configuration problem, worded for the operator."""
