"""Generated Indonesian regional news for the benchmarks.

Sentences are put together from parts, so the text reads like local news and
compresses about as well as real articles do (a few fixed sentences would gzip
far better than any real feed).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from feedsvc.models import Article, stable_id

WITA = ZoneInfo("Asia/Makassar")

SUBJECTS = [
    "Pemprov Kaltara", "Pemkab Bulungan", "Pemkot Tarakan", "Pemkab Nunukan",
    "Pemkab Malinau", "Dinas PUPR", "Dinas Kesehatan", "Dinas Pendidikan", "BPBD",
    "DPRD Kaltara", "Bappeda dan Litbang", "Dinas Ketahanan Pangan", "pihak kecamatan",
    "para kepala desa", "tim gabungan", "Dinas Perhubungan", "koperasi nelayan",
    "kelompok tani", "Universitas Borneo Tarakan", "gubernur", "wakil bupati",
    "sekretaris daerah", "camat", "warga",
]  # fmt: skip
VERBS = [
    "menyiapkan", "mengalokasikan", "meninjau", "mempercepat", "mengevaluasi",
    "menyalurkan", "membahas", "memperkuat", "mendata", "menargetkan", "merampungkan",
    "mengusulkan", "memantau", "menyosialisasikan", "membangun", "memperbaiki",
    "mendampingi", "mengawasi", "mengajukan", "meresmikan", "menata", "melanjutkan",
]  # fmt: skip
THINGS = [
    "bantuan bibit padi", "perbaikan jalan", "pembangunan dermaga", "layanan kesehatan",
    "jaringan air bersih", "beasiswa", "pelatihan kerja", "sertifikat tanah",
    "pasokan beras", "penerbangan perintis", "jaringan listrik", "ruang kelas baru",
    "rumah layak huni", "izin usaha", "data kemiskinan", "penanganan stunting",
    "pasar rakyat", "kapal penumpang", "sarana puskesmas", "tanggul sungai",
    "bibit rumput laut", "alat tangkap", "akses internet", "program vaksinasi",
]  # fmt: skip
FOR_WHOM = [
    "bagi nelayan", "untuk petani", "bagi warga pesisir", "untuk pelajar",
    "bagi pelaku UMKM", "untuk desa terpencil", "bagi keluarga prasejahtera",
    "untuk kawasan perbatasan", "bagi tenaga honorer", "untuk ibu hamil",
    "bagi penyandang disabilitas", "untuk pedagang pasar", "bagi guru",
    "untuk sekolah dasar", "bagi petani sawit", "", "", "",
]  # fmt: skip
HOW_MUCH = [
    "senilai Rp {n} miliar", "senilai Rp {n} juta", "sepanjang {n} kilometer",
    "untuk {n} desa", "bagi {n} keluarga", "dengan target {n} persen", "", "", "", "",
]  # fmt: skip
WHEN = [
    "pada {day} ({d}/{m})", "sejak awal tahun", "hingga akhir {month}", "tahun depan",
    "pekan lalu", "bulan ini", "menjelang Natal dan Tahun Baru", "", "", "",
]  # fmt: skip
LINKS = [
    "", "", "", "", "Selain itu, ", "Menurutnya, ", "Di sisi lain, ", "Sementara itu, ",
    "Karena itu, ", "Adapun ", "Sebelumnya, ", "Ke depan, ", "Ia menyebut ", "Tahun ini ",
]  # fmt: skip
PLACES = [
    "Tanjung Selor", "Tarakan", "Nunukan", "Malinau", "Tideng Pale", "Sebatik", "Krayan",
    "Long Bia", "Sekatak", "Tanjung Palas", "Lumbis", "Sesayap", "Mentarang", "Peso",
    "Bunyu", "Sembakung", "Salimbatu", "Juata", "Long Ampung",
]  # fmt: skip
REGIONS = ["Bulungan", "Tarakan", "Nunukan", "Malinau", "Tana Tidung"]
DAYS = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]
MONTHS = ["Januari", "Maret", "Mei", "Juli", "September", "November", "Desember"]
AUTHORS = ["Wira", "Redaksi", "Nur Aisyah", "Hendra Saputra", "Yulianti"]
QUOTES = [
    "Kami ingin memastikan setiap rupiah yang dianggarkan berdampak langsung bagi masyarakat",
    "Sinergi antardaerah adalah kunci agar pembangunan di Kaltara merata dan berkeadilan",
    "Kami tidak ingin ada desa di perbatasan yang tertinggal dari daerah lain",
]


def _fill_in(rng: random.Random, template: str) -> str:
    return template.format(
        n=rng.randint(2, 950),
        day=rng.choice(DAYS),
        d=rng.randint(1, 28),
        m=rng.randint(1, 12),
        month=rng.choice(MONTHS),
    )


def _sentence(rng: random.Random, opening: bool = False) -> str:
    words = [
        ("" if opening else rng.choice(LINKS)) + rng.choice(SUBJECTS),
        rng.choice(VERBS),
        rng.choice(THINGS),
        rng.choice(FOR_WHOM),
        _fill_in(rng, rng.choice(HOW_MUCH)),
        f"di {rng.choice(PLACES)}" if rng.random() < 0.6 else "",
        _fill_in(rng, rng.choice(WHEN)),
    ]
    text = " ".join(w for w in words if w)
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random, size: int) -> str:
    text = _sentence(rng, opening=True)
    while len(text) < size:
        text = f"{text} {_sentence(rng)}".strip()
    return text


def sample_articles(n: int, category: str, seed: int = 4) -> list[Article]:
    """`n` articles of about 3 KB HTML content, one hour apart, the newest last."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 27, 9, 0, tzinfo=WITA) - timedelta(hours=n)
    out = []
    for i in range(n):
        place = rng.choice(PLACES)
        title = (
            f"{rng.choice(SUBJECTS[:12])} {rng.choice(VERBS).capitalize()} "
            f"{rng.choice(THINGS).title()} di {place}"
        )
        lead = f"{place.upper()} – {_paragraph(rng, 200)}"
        quote = f"“{rng.choice(QUOTES)},” kata {rng.choice(SUBJECTS[-4:])} itu."
        paragraphs = [lead, *(_paragraph(rng, 340) for _ in range(7)), quote, "(adv)"]
        content = "".join(f"<p>{p}</p>" for p in paragraphs)
        link = f"https://berita-kaltara.example/2026/11/{category}-{i:03d}-{rng.randrange(10**6)}/"
        out.append(
            Article(
                id=stable_id(link),
                title=title,
                link=link,
                categories=(category.upper(), rng.choice(REGIONS)),
                published=start + timedelta(hours=i, minutes=rng.randrange(60)),
                author=rng.choice(AUTHORS),
                summary=lead[:200].rsplit(" ", 1)[0] + "…",
                content=content,
                source="bench",
            )
        )
    return out
