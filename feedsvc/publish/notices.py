"""What the index page says about the sources: which are failing and when they are tried
again, and what an empty page is waiting for. Pure: the caller passes the clock in.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime

from feedsvc.dates import format_wita_short, to_wita
from feedsvc.models import SourceStatus

MAX_NAMED = 5  # more failing sources than this are counted, not named


@dataclass(frozen=True, slots=True)
class SourceHealth:
    total: int
    failing: tuple[SourceStatus, ...] = ()

    @property
    def all_failing(self) -> bool:
        return self.total > 0 and len(self.failing) == self.total


def failing_notice(health: SourceHealth | None, now: datetime) -> str:
    """A short notice naming the failing sources and their next try; "" when none fail."""
    if health is None or not health.failing:
        return ""
    named = [_one(status, now) for status in health.failing[:MAX_NAMED]]
    rest = len(health.failing) - len(named)
    if rest:
        named.append(f"dan {rest} sumber lain")
    if health.all_failing:
        lead = "Semua sumber berita sedang gagal dibaca"
    else:
        lead = f"{len(health.failing)} dari {health.total} sumber berita sedang gagal dibaca"
    return (
        f'<p class="notice" role="status">{lead}: {"; ".join(named)}. '
        "Berita dari sumber itu menyusul setelah berhasil dibaca lagi.</p>"
    )


def empty_text(health: SourceHealth | None) -> str:
    """What an index page with no posts says it is waiting for."""
    if health is not None and health.total == 0:
        return (
            "Belum ada berita: belum ada sumber berita. Tambahkan sumber di berkas "
            "konfigurasi atau dengan <code>feedsvc sources add</code>."
        )
    if health is not None and health.all_failing:
        return "Belum ada berita: semua sumber berita gagal dibaca (lihat di atas)."
    return (
        "Belum ada berita. Halaman ini terisi sendiri begitu sumber berita pertama selesai dibaca."
    )


def next_try(next_poll: float | None, now: datetime) -> str:
    """When a source is tried again, in WITA: "pukul 10:35 WITA" today, else with the date."""
    if next_poll is None or next_poll <= now.timestamp():
        return "segera"
    when = datetime.fromtimestamp(next_poll, UTC)
    if to_wita(when).date() == to_wita(now).date():
        return f"pukul {to_wita(when):%H:%M} WITA"
    return format_wita_short(when)


def _one(status: SourceStatus, now: datetime) -> str:
    name = html.escape(status.name)
    return f"<b>{name}</b> (dicoba lagi {next_try(status.next_poll, now)})"
