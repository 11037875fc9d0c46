"""The settings dataclasses: one frozen class per TOML section, defaults included."""

from __future__ import annotations

from dataclasses import dataclass, field

from feedsvc import __version__
from feedsvc.models import slugify


@dataclass(frozen=True)
class ServiceSettings:
    base_url: str = "http://127.0.0.1:8080"
    host: str = "127.0.0.1"
    port: int = 8080
    title: str = "Berita Kaltara"
    language: str = "id"
    timezone: str = "Asia/Makassar"
    shutdown_timeout: float = 30.0  # seconds an orderly stop may take before exiting anyway
    header_timeout: float = 10.0  # seconds a client may take to send its headers; idle keep-alive


@dataclass(frozen=True)
class RedisSettings:
    url: str = ""
    data_dir: str = "./data"
    timeout: float = 2.0  # seconds any one Redis command may take; the web answers 503 past it


@dataclass(frozen=True)
class StoreSettings:
    retention: int = 1000
    max_categories: int = 200


@dataclass(frozen=True)
class LoggingSettings:
    format: str = "text"
    level: str = "info"
    access_log: bool = False


@dataclass(frozen=True)
class FeedsSettings:
    default_limit: int = 20
    max_limit: int = 100
    websub_hub: str = ""


@dataclass(frozen=True)
class ApiSettings:
    tokens: tuple[str, ...] = ()


@dataclass(frozen=True)
class PollSettings:
    interval: float = 300
    timeout: float = 20
    max_bytes: int = 5_000_000
    user_agent: str = "feedsvc/VERSION (+base_url)"
    parse_processes: int = 2
    max_entries: int = 200
    parse_memory_mb: int = 256
    lease: float = 300  # seconds a worker's claim on a source holds (at least 8 x timeout)


@dataclass(frozen=True)
class SourceSettings:
    name: str
    url: str
    kind: str = "feed"
    category: str = ""
    interval: float | None = None  # None: poll.interval
    link_selector: str = ""
    full_content: bool = False  # kind "feed": each new entry's page gives the content


@dataclass(frozen=True)
class TelegramSettings:
    token: str = field(default="", repr=False)
    api_base_url: str = ""
    mode: str = "polling"
    webhook_url: str = ""
    webhook_secret: str = field(default="", repr=False)
    push_categories: tuple[str, ...] = ("KALTARA",)
    channels: tuple[int | str, ...] = ()
    admins: tuple[int, ...] = ()
    max_push_age_hours: float = 24
    max_rate: float = 28
    photos: bool = True  # a post with an image is pushed as a photo with a caption
    digest_hour: int = 7  # WITA hour of the daily digest (/ringkasan)
    alert_after_hours: float = 6  # a source failing this long is told to the admins

    @property
    def push_slugs(self) -> tuple[str, ...]:
        """push_categories as slugs: the default of /langganan, what channels get."""
        return tuple(slugify(name) for name in self.push_categories)


@dataclass(frozen=True)
class Settings:
    service: ServiceSettings = ServiceSettings()
    redis: RedisSettings = RedisSettings()
    store: StoreSettings = StoreSettings()
    logging: LoggingSettings = LoggingSettings()
    feeds: FeedsSettings = FeedsSettings()
    api: ApiSettings = ApiSettings()
    poll: PollSettings = PollSettings()
    sources: tuple[SourceSettings, ...] = ()
    telegram: TelegramSettings = TelegramSettings()
    path: str = ""  # the file these came from, "" for defaults
    # Keys an environment variable set, with that variable: {"redis.url": "REDIS_URL"}.
    from_env: tuple[tuple[str, str], ...] = ()

    def origin(self, key: str) -> str:
        """Where a key's value came from, for messages: "REDIS_URL", "redis.url in FILE"."""
        var = dict(self.from_env).get(key)
        if var:
            return var
        return f"{key} in {self.path}" if self.path else f"{key} (built-in default)"

    @property
    def user_agent(self) -> str:
        return self.poll.user_agent.replace("VERSION", __version__).replace(
            "base_url", self.service.base_url
        )

    def source_interval(self, source: SourceSettings) -> float:
        return self.poll.interval if source.interval is None else source.interval
