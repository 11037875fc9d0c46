"""Settings: loaded once from TOML and the environment, validated, then frozen.

Precedence for the file: `--config PATH`, else `$FEEDSVC_CONFIG`, else `./config.toml`,
else built-in defaults. Environment overrides win over the file: `REDIS_URL`,
`TELEGRAM_BOT_TOKEN`, `PORT`, `FEEDSVC_BASE_URL`, `FEEDSVC_API_TOKENS` (comma-separated).

Every mistake raises `ConfigError` with one line naming the file and the key.
"""

from feedsvc.config.errors import (
    LOG_FORMATS,
    LOG_LEVELS,
    MIN_PARSE_MEMORY_MB,
    REDIS_SCHEMES,
    SOURCE_KINDS,
    SOURCE_NAME,
    TELEGRAM_MODES,
    ConfigError,
)
from feedsvc.config.loading import find_config_file, load_settings
from feedsvc.config.settings import (
    ApiSettings,
    FeedsSettings,
    LoggingSettings,
    PollSettings,
    RedisSettings,
    ServiceSettings,
    Settings,
    SourceSettings,
    StoreSettings,
    TelegramSettings,
)
from feedsvc.config.sourcecheck import check_category, check_source_fields

__all__ = [
    "LOG_FORMATS",
    "LOG_LEVELS",
    "MIN_PARSE_MEMORY_MB",
    "REDIS_SCHEMES",
    "SOURCE_KINDS",
    "SOURCE_NAME",
    "TELEGRAM_MODES",
    "ApiSettings",
    "ConfigError",
    "FeedsSettings",
    "LoggingSettings",
    "PollSettings",
    "RedisSettings",
    "ServiceSettings",
    "Settings",
    "SourceSettings",
    "StoreSettings",
    "TelegramSettings",
    "check_category",
    "check_source_fields",
    "find_config_file",
    "load_settings",
]
