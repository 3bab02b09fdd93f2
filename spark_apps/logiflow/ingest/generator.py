"""Synthetic web traffic for demos, tests and benchmarks: nginx access lines and JSON API logs.

Pure Python, no Kafka: ``logiflow generate`` (and the benchmark, and tests) call it and decide
themselves how fast to send. Everything comes from one ``random.Random(seed)``, so the same seed
and the same calls give the same lines, and every line comes with the facts it was made from
(``GeneratedLine``), which tests use as ground truth.

What it imitates:
- endpoints drawn Zipf-like (a few hot pages, a long tail), with numeric ids, UUIDs and long hex
  ids in paths, query strings, static assets and health checks;
- status mix: mostly 2xx/3xx, some 4xx, few 5xx; ``ErrorBurst`` windows raise the 5xx share and
  latency of one service (or all) for a while;
- a client population with Zipf-like activity, each client keeping its own user agent (desktop,
  mobile and tablet browsers, crawlers, scripted clients), about 10% IPv6 clients;
- log-normal latencies per endpoint with a heavy tail (JSON logs carry latency, access logs in
  the standard ``combined`` format do not);
- a daily shape: ``daily_factor`` swings the request rate around its mean over 24 hours, and
  ``stream`` spaces events accordingly (Poisson arrivals).
Use ``line_at(now)`` for live traffic paced by the caller, or ``stream(start, rate)`` for a
simulated clock.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

UTC = dt.UTC

Format = Literal["combined", "json", "malformed"]


@dataclass(frozen=True)
class ErrorBurst:
    """A period during which a service (or every service, or one endpoint template of a
    service) fails often and slowly. ``error_share=0`` with a ``latency_factor`` is a pure
    latency regression."""

    start: dt.datetime
    duration: dt.timedelta
    service: str | None = None
    error_share: float = 0.5  # share of requests answered with a 5xx
    latency_factor: float = 4.0
    endpoint: str | None = None  # an endpoint template, e.g. "/api/orders/{id}"

    def covers(self, when: dt.datetime, service: str, endpoint: str | None = None) -> bool:
        return (
            (self.start <= when < self.start + self.duration)
            and (self.service is None or self.service == service)
            and (self.endpoint is None or self.endpoint == endpoint)
        )


@dataclass(frozen=True)
class TrafficDrop:
    """A period during which only ``kept_share`` of a service's requests arrive (an outage
    upstream, a broken client release): the generator thins its stream."""

    start: dt.datetime
    duration: dt.timedelta
    service: str
    kept_share: float = 0.2

    def covers(self, when: dt.datetime, service: str) -> bool:
        return self.start <= when < self.start + self.duration and self.service == service


@dataclass(frozen=True)
class TrafficProfile:
    json_share: float = 0.35  # the rest are nginx combined access lines
    ipv6_share: float = 0.1
    bot_share: float = 0.08
    malformed_share: float = 0.0  # garbage lines, for dead-letter tests
    daily_amplitude: float = 0.6  # the rate swings +-60% around its mean over a day
    peak_hour_utc: float = 15.0
    clients: int = 3000
    bursts: tuple[ErrorBurst, ...] = ()
    drops: tuple[TrafficDrop, ...] = ()


@dataclass(frozen=True)
class GeneratedLine:
    """One line and the facts it encodes (what a correct parser must find)."""

    line: str
    format: Format
    timestamp: dt.datetime  # UTC; whole seconds for access lines, milliseconds for JSON
    service: str  # combined lines do not carry it: send it as the Kafka key
    host: str
    method: str | None = None
    path: str | None = None
    query: str | None = None
    endpoint: str | None = None  # the template the default endpoint rules should give
    status: int | None = None
    body_bytes: int | None = None  # None where the line says "-"
    duration_ns: int | None = None
    client_ip: str | None = None
    user_agent: str | None = None
    device_type: str | None = None  # desktop | mobile | tablet | bot
    trace_id: str | None = None
    referrer: str | None = None


@dataclass(frozen=True)
class _Endpoint:
    template: str  # with {id} / {uuid} / {hex} placeholders
    weight: float
    methods: tuple[tuple[str, float], ...] = (("GET", 1.0),)
    median_ms: float = 25.0
    size: float = 2_000.0
    static: bool = False
    query: tuple[str, ...] = ()


def _zipf(endpoints: list[_Endpoint]) -> list[_Endpoint]:
    return [
        _Endpoint(
            e.template, 1.0 / (rank + 1) ** 1.1, e.methods, e.median_ms, e.size, e.static, e.query
        )
        for rank, e in enumerate(endpoints)
    ]


_WRITE = (("GET", 0.55), ("POST", 0.3), ("PUT", 0.1), ("DELETE", 0.05))

# Ordered by popularity: the Zipf weight comes from the rank.
_SERVICES: dict[str, tuple[str, list[_Endpoint]]] = {
    "storefront": (
        "combined",
        _zipf(
            [
                _Endpoint("/", 0, median_ms=30, size=28_000),
                _Endpoint("/products/{id}", 0, median_ms=45, size=35_000),
                _Endpoint("/static/js/app.js", 0, static=True, median_ms=2, size=180_000),
                _Endpoint(
                    "/search",
                    0,
                    median_ms=80,
                    size=22_000,
                    query=("q=shoes", "q=red+dress", "q=laptop&page=2"),
                ),
                _Endpoint("/static/css/main.css", 0, static=True, median_ms=2, size=40_000),
                _Endpoint("/images/products/{id}.jpg", 0, static=True, median_ms=3, size=90_000),
                _Endpoint("/cart", 0, (("GET", 0.7), ("POST", 0.3)), median_ms=35, size=9_000),
                _Endpoint("/healthz", 0, median_ms=1, size=2),
                _Endpoint("/products/{id}/reviews", 0, median_ms=60, size=15_000),
                _Endpoint(
                    "/checkout", 0, (("GET", 0.5), ("POST", 0.5)), median_ms=120, size=12_000
                ),
                _Endpoint("/login", 0, (("GET", 0.5), ("POST", 0.5)), median_ms=50, size=6_000),
                _Endpoint("/account/orders/{id}", 0, median_ms=70, size=11_000),
                _Endpoint("/favicon.ico", 0, static=True, median_ms=1, size=1_150),
                _Endpoint("/robots.txt", 0, static=True, median_ms=1, size=120),
            ]
        ),
    ),
    "orders-api": (
        "json",
        _zipf(
            [
                _Endpoint("/v1/orders/{uuid}", 0, _WRITE, median_ms=18, size=1_400),
                _Endpoint(
                    "/v1/orders",
                    0,
                    (("GET", 0.6), ("POST", 0.4)),
                    median_ms=35,
                    size=4_000,
                    query=("limit=20", "status=open&limit=50"),
                ),
                _Endpoint("/v1/users/{id}/orders", 0, median_ms=40, size=6_000),
                _Endpoint(
                    "/v1/payments/{hex}", 0, (("GET", 0.5), ("POST", 0.5)), median_ms=150, size=800
                ),
                _Endpoint("/healthz", 0, median_ms=1, size=2),
                _Endpoint("/v1/orders/{uuid}/items/{id}", 0, _WRITE, median_ms=22, size=600),
            ]
        ),
    ),
    "catalog-api": (
        "json",
        _zipf(
            [
                _Endpoint("/v1/products/{id}", 0, median_ms=8, size=2_500),
                _Endpoint(
                    "/v1/search", 0, median_ms=60, size=12_000, query=("q=shoes", "q=tv&sort=price")
                ),
                _Endpoint("/v1/categories", 0, median_ms=5, size=3_000),
                _Endpoint("/v1/products/{id}/stock", 0, median_ms=12, size=200),
                _Endpoint("/healthz", 0, median_ms=1, size=2),
            ]
        ),
    ),
}
_SERVICE_WEIGHTS = {"storefront": 0.6, "orders-api": 0.25, "catalog-api": 0.15}
SERVICES = tuple(_SERVICE_WEIGHTS)
_HOSTS = {
    "storefront": (("web-1", "+0000"), ("web-2", "+0100"), ("web-3", "-0500")),
    "orders-api": (("orders-7f9c", "+0000"), ("orders-5d2a", "+0000")),
    "catalog-api": (("catalog-0", "+0000"),),
}

_STATUS_2XX = ((200, 0.97), (204, 0.02), (206, 0.01))
_STATUS_4XX = ((404, 0.55), (400, 0.15), (401, 0.12), (403, 0.08), (429, 0.1))
_STATUS_5XX = ((500, 0.45), (502, 0.25), (503, 0.2), (504, 0.1))

# (template, device type, weight); {v} becomes a browser major version.
_BROWSERS = (
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/{v}.0.0.0 Safari/537.36",
        "desktop",
        30,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/{v}.0.0.0 Safari/537.36",
        "desktop",
        10,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
        "desktop",
        6,
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/{v}.0.0.0 Safari/537.36",
        "desktop",
        3,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.{m} Safari/605.1.15",
        "desktop",
        5,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.0.0",
        "desktop",
        5,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{m} like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.{m} Mobile/15E148 Safari/604.1",
        "mobile",
        18,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/{v}.0.0.0 Mobile Safari/537.36",
        "mobile",
        6,
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/{v}.0.0.0 Mobile Safari/537.36",
        "mobile",
        8,
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_{m} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.{m} Mobile/15E148 Safari/604.1",
        "tablet",
        4,
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/{v}.0.0.0 Safari/537.36",
        "tablet",
        2,
    ),
)
_BOTS = (
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 30),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", 12),
    ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", 8),
    ("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", 5),
    ("curl/8.{m}.0", 10),
    ("python-requests/2.{v}.0", 10),
    ("Go-http-client/1.1", 6),
    ("Wget/1.21.4", 3),
)
_PROBE_UA = "kube-probe/1.31"
_REFERRERS = (
    "-",
    "-",
    "-",
    "https://www.google.com/",
    "https://shop.example.com/",
    "https://shop.example.com/search?q=shoes",
    "https://t.co/x1y2z3",
)
# Public IPv4 /8s (no private, loopback, multicast or documentation space).
_IPV4_FIRST_OCTETS = (
    3,
    5,
    8,
    12,
    18,
    23,
    31,
    37,
    45,
    51,
    62,
    66,
    77,
    81,
    86,
    91,
    98,
    104,
    109,
    123,
    141,
    151,
    176,
    185,
    188,
    193,
    200,
    203,
    212,
    217,
)
_IPV6_PREFIXES = ("2a00:1450", "2001:4860", "2a03:2880", "2600:1f18", "2a02:26f0", "2406:da18")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MALFORMED = (
    "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS handshake on the plain port
    "GET / HTTP/1.1",
    '{"timestamp": "2026-01-01T00:00:00Z", "status": 200',  # truncated JSON
    "this is not a log line",
    "<html><body><h1>502 Bad Gateway</h1></body></html>",
)


@dataclass
class _Client:
    ip: str
    user_agent: str
    device_type: str


@dataclass
class TrafficGenerator:
    """Deterministic traffic: same seed and same calls, same lines."""

    seed: int = 0
    profile: TrafficProfile = field(default_factory=TrafficProfile)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._bursts: list[ErrorBurst] = list(self.profile.bursts)
        self._clients = [self._new_client() for _ in range(self.profile.clients)]
        # Zipf-like activity: a few clients make most of the requests.
        self._client_cum = list(
            itertools.accumulate(1.0 / (i + 1) ** 0.9 for i in range(len(self._clients)))
        )
        self._endpoint_cum = {
            name: list(itertools.accumulate(e.weight for e in endpoints))
            for name, (_, endpoints) in _SERVICES.items()
        }
        self._probe_ip = "10.244.0.1"

    # --- public API -----------------------------------------------------------------------

    def inject_error_burst(self, burst: ErrorBurst) -> None:
        """Make a service (or all) fail from ``burst.start`` for ``burst.duration``."""
        self._bursts.append(burst)

    def daily_factor(self, when: dt.datetime) -> float:
        """Request rate at ``when`` relative to the daily mean (1.0 on average over 24 h)."""
        hour = when.astimezone(UTC)
        hours = hour.hour + hour.minute / 60 + hour.second / 3600
        phase = 2 * math.pi * (hours - self.profile.peak_hour_utc) / 24
        return 1.0 + self.profile.daily_amplitude * math.cos(phase)

    def line_at(self, when: dt.datetime) -> GeneratedLine:
        """One event happening at ``when`` (timezone-aware; naive means UTC)."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        rng = self._rng
        if self.profile.malformed_share and rng.random() < self.profile.malformed_share:
            return GeneratedLine(
                rng.choice(_MALFORMED), "malformed", when.astimezone(UTC), "storefront", "web-1"
            )
        service = self._pick(tuple(_SERVICE_WEIGHTS.items()))
        fmt, endpoints = _SERVICES[service]
        endpoint = rng.choices(endpoints, cum_weights=self._endpoint_cum[service])[0]
        host, offset = rng.choice(_HOSTS[service])
        if endpoint.template == "/healthz":
            client = _Client(self._probe_ip, _PROBE_UA, "bot")
        else:
            client = rng.choices(self._clients, cum_weights=self._client_cum)[0]
        method = self._pick(endpoint.methods)
        path, expected = self._fill(endpoint.template)
        query = rng.choice(endpoint.query) if endpoint.query and rng.random() < 0.7 else None
        burst = next((b for b in self._bursts if b.covers(when, service, endpoint.template)), None)
        status = self._status(endpoint, method, burst)
        duration_ns = self._duration_ns(endpoint, status, burst)
        body = self._body_bytes(endpoint, status, method)
        if fmt == "combined":
            return self._combined(
                when, offset, service, host, client, method, path, query, expected, status, body
            )
        return self._json(
            when, service, host, client, method, path, query, expected, status, body, duration_ns
        )

    def stream(
        self,
        start: dt.datetime,
        rate_per_second: float,
        count: int | None = None,
        duration: dt.timedelta | None = None,
    ) -> Iterator[GeneratedLine]:
        """Events on a simulated clock from ``start``: Poisson arrivals at the daily-shaped rate.

        Stops after ``count`` events or ``duration`` of simulated time (at least one must be
        given). Timestamps are not real time: pace them yourself if you replay them live.
        """
        if count is None and duration is None:
            raise ValueError("give count or duration, or the stream never ends")
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        end = start + duration if duration is not None else None
        now = start
        produced = 0
        while count is None or produced < count:
            rate = max(rate_per_second * self.daily_factor(now), 1e-9)
            now = now + dt.timedelta(seconds=self._rng.expovariate(rate))
            if end is not None and now >= end:
                return
            line = self.line_at(now)
            if self.dropped(line):
                continue
            yield line
            produced += 1

    def dropped(self, line: GeneratedLine) -> bool:
        """Thinned away by a traffic drop (draws from the generator only inside one, so a
        profile without drops makes the same lines as before)."""
        for drop in self.profile.drops:
            if drop.covers(line.timestamp, line.service):
                return self._rng.random() >= drop.kept_share
        return False

    # --- pieces ------------------------------------------------------------------------------

    def _pick(self, weighted: Sequence[tuple[Any, float]]) -> Any:
        values = [value for value, _ in weighted]
        return self._rng.choices(values, weights=[w for _, w in weighted])[0]

    def _new_client(self) -> _Client:
        rng = self._rng
        if rng.random() < self.profile.ipv6_share:
            groups = [f"{rng.randrange(1, 0xFFFF):x}" for _ in range(rng.choice((2, 3, 4)))]
            ip = f"{rng.choice(_IPV6_PREFIXES)}:{groups[0]}::{':'.join(groups[1:])}"
        else:
            ip = (
                f"{rng.choice(_IPV4_FIRST_OCTETS)}.{rng.randrange(256)}."
                f"{rng.randrange(256)}.{rng.randrange(1, 255)}"
            )
        if rng.random() < self.profile.bot_share:
            template, _ = rng.choices(_BOTS, weights=[w for _, w in _BOTS])[0]
            device_type = "bot"
        else:
            template, device_type, _ = rng.choices(_BROWSERS, weights=[w for *_, w in _BROWSERS])[0]
        user_agent = template.format(v=rng.randrange(118, 132), m=rng.randrange(0, 7))
        return _Client(ip, user_agent, device_type)

    def _fill(self, template: str) -> tuple[str, str]:
        rng = self._rng
        path = template
        while "{id}" in path:
            path = path.replace("{id}", str(rng.randrange(1, 10 ** rng.randrange(2, 8))), 1)
        while "{uuid}" in path:
            path = path.replace("{uuid}", str(uuid.UUID(int=rng.getrandbits(128), version=4)), 1)
        while "{hex}" in path:
            path = path.replace("{hex}", f"{rng.getrandbits(96):024x}", 1)
        expected = template.replace("{uuid}", "{id}").replace("{hex}", "{id}")
        if template.endswith("{id}.jpg"):
            expected = template.replace("{id}.jpg", path.rsplit("/", 1)[1])  # "123.jpg" is a name
        return path, expected

    def _status(self, endpoint: _Endpoint, method: str, burst: ErrorBurst | None) -> int:
        rng = self._rng
        if burst is not None and rng.random() < burst.error_share:
            return self._pick(_STATUS_5XX)
        roll = rng.random()
        if roll < 0.004:
            return self._pick(_STATUS_5XX)
        if roll < 0.06:
            return self._pick(_STATUS_4XX)
        if roll < 0.11:
            if endpoint.static:
                return 304
            redirects_to_login = ("/login", "/checkout", "/account/orders/{id}")
            return 302 if endpoint.template in redirects_to_login else 301
        if method == "POST":
            return 201
        if method == "DELETE":
            return 204
        return self._pick(_STATUS_2XX)

    def _duration_ns(self, endpoint: _Endpoint, status: int, burst: ErrorBurst | None) -> int:
        rng = self._rng
        median = endpoint.median_ms * (burst.latency_factor if burst is not None else 1.0)
        ms = rng.lognormvariate(math.log(median), 0.7)
        if status == 504:
            ms = 30_000 + rng.random() * 30_000  # the upstream timeout
        elif status >= 500:
            ms *= 3
        return max(int(ms * 1_000_000), 1_000)

    def _body_bytes(self, endpoint: _Endpoint, status: int, method: str) -> int | None:
        if status == 304:
            return None  # written "-"
        if status in (204, 301, 302) or method == "HEAD":
            return 0
        if status >= 400:
            return int(self._rng.uniform(150, 600))
        return max(1, int(self._rng.lognormvariate(math.log(endpoint.size), 0.4)))

    def _combined(
        self,
        when: dt.datetime,
        offset: str,
        service: str,
        host: str,
        client: _Client,
        method: str,
        path: str,
        query: str | None,
        expected: str,
        status: int,
        body: int | None,
    ) -> GeneratedLine:
        when = when.replace(microsecond=0)
        sign = 1 if offset[0] == "+" else -1
        zone = dt.timezone(sign * dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[3:])))
        local = when.astimezone(zone)
        stamp = f"{local.day:02d}/{_MONTHS[local.month - 1]}/{local.year}:{local:%H:%M:%S} {offset}"
        target = f"{path}?{query}" if query else path
        referrer = self._rng.choice(_REFERRERS)
        size = "-" if body is None else str(body)
        line = (
            f'{client.ip} - - [{stamp}] "{method} {target} HTTP/1.1" {status} {size} '
            f'"{referrer}" "{client.user_agent}"'
        )
        return GeneratedLine(
            line,
            "combined",
            when.astimezone(UTC),
            service,
            host,
            method,
            path,
            query,
            expected,
            status,
            body,
            None,
            client.ip,
            client.user_agent,
            client.device_type,
            None,
            None if referrer == "-" else referrer,
        )

    def _json(
        self,
        when: dt.datetime,
        service: str,
        host: str,
        client: _Client,
        method: str,
        path: str,
        query: str | None,
        expected: str,
        status: int,
        body: int | None,
        duration_ns: int,
    ) -> GeneratedLine:
        rng = self._rng
        when = when.replace(microsecond=when.microsecond // 1000 * 1000)
        trace_id = f"{rng.getrandbits(128):032x}"
        level = "error" if status >= 500 else "warn" if status >= 400 else "info"
        latency_ms = round(duration_ns / 1_000_000, 3)
        record = {
            "timestamp": when.astimezone(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": level,
            "service": service,
            "host": host,
            "method": method,
            "path": f"{path}?{query}" if query else path,
            "status": status,
            "bytes": body if body is not None else 0,
            "latency_ms": latency_ms,
            "client_ip": client.ip,
            "user_agent": client.user_agent,
            "trace_id": trace_id,
            "user_id": f"u{rng.randrange(1, 50_000)}",
            "region": rng.choice(("eu-west-1", "us-east-1", "ap-southeast-2")),
        }
        # The duration the parser can see is what the line says, in whole microseconds.
        exact_ns = round(latency_ms * 1_000_000)
        return GeneratedLine(
            json.dumps(record, separators=(",", ":")),
            "json",
            when.astimezone(UTC),
            service,
            host,
            method,
            path,
            query,
            expected,
            status,
            body if body is not None else 0,
            exact_ns,
            client.ip,
            client.user_agent,
            client.device_type,
            trace_id,
            None,
        )


def generate_lines(
    seed: int = 0,
    count: int = 1000,
    start: dt.datetime | None = None,
    rate_per_second: float = 200.0,
    profile: TrafficProfile | None = None,
) -> Iterator[GeneratedLine]:
    """``count`` events from ``start`` (default 2026-01-01 UTC) on a simulated clock."""
    generator = TrafficGenerator(seed, profile or TrafficProfile())
    begin = start or dt.datetime(2026, 1, 1, tzinfo=UTC)
    return generator.stream(begin, rate_per_second, count=count)
