"""How LogiFlow decides that a minute of one series (a service, or a service's endpoint) is
anomalous: online baselines with explicit noise models, in plain Python, one series at a time.

Why these statistics and not a library model (``river``, Random Cut Forest): each verdict must
be explainable in one sentence ("5xx rate 23% where 0.4% was expected") and cheap enough to run
on every series every minute inside Spark's streaming state, where a series' whole memory is a
few dozen numbers. The four checks:

- **Traffic drop or surge.** Holt's linear smoothing (level + trend) follows the daily curve
  minute by minute without the lag a plain average has on the morning ramp. The noise is the
  larger of Poisson's (a count's own variance) and the residuals' variance learned per hour of
  the day, so quiet night hours and busy noon hours each have their own scale.
- **4xx and 5xx error-rate spikes.** The baseline rate is the ratio of two slow averages (errors
  and requests); a minute is judged by its binomial z-score, so 1 error out of 2 requests is
  noise, and it must also clear a minimum error count and a minimum absolute rise.
- **Latency regression.** The minute's geometric mean latency (the mean of log latencies, which
  the partials sum exactly) against a slow average and variance of past minutes', with a minimum
  relative rise. An arithmetic mean would be ruled by the odd 30-second upstream timeout, which
  is not a regression; the log scale shrinks one such outlier to a few percent. The tail the
  same way: the minute's p95 and p99 (from its merged latency histogram,
  ``anomaly.latency_histogram``) against their own slow averages on the log scale, each once the
  minute has enough samples for that quantile to mean something (200 for p95, 1,000 for p99:
  about ten requests beyond it), with the spread floored at a histogram bucket (a quantile moves
  in bucket steps).
- **New error signature.** An endpoint that returned no 5xx in its whole (warmed-up) history
  starts failing.

Every check needs a z-score above ``z_threshold``, or above ``confirm_share`` of it (3 sigma)
in two windows in a row, and a rise/fall that matters in absolute terms; nothing alarms before
``warmup_minutes`` of history; an endpoint's detection needs two windows in a row. A minute
that is only a candidate does not teach its metric's baseline. A metric judged anomalous does
not
teach its baseline (an incident must not become the new normal), for at most
``max_frozen_minutes``, after which a lasting change is accepted. The score maps z onto 0-100:
50 at the threshold, 75 at twice it, and so on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from logiflow.anomaly.latency_histogram import quantile
from logiflow.contract import anomalies as a
from logiflow.contract.aggregates import LATENCY_BUCKETS_PER_DOUBLING

HOURS = 24


@dataclass(frozen=True)
class DetectorSettings:
    """The knobs (``anomaly.*`` in the config); the defaults are the benchmark's."""

    z_threshold: float = 4.0
    # Two windows in a row each at least this share of z_threshold alarm too (see judge_minute).
    confirm_share: float = 0.75
    warmup_minutes: int = 60
    min_requests: float = 20.0  # expected requests per minute before traffic/rates are judged
    min_errors: int = 5  # errors in the minute before a rate spike can alarm
    min_new_errors: int = 3  # 5xx in the minute before an endpoint's first failures alarm
    min_rate_rise: float = 0.05  # absolute rise of an error rate (5 percentage points)
    min_traffic_change: float = 0.5  # relative change of traffic (half, or one and a half)
    min_latency_rise: float = 0.5  # relative rise of mean latency
    min_latency_samples: int = 10
    # A minute's tail means something once about ten requests lie beyond the quantile; with
    # fewer, one slow request moves it (measured: at 35 and 110 samples a day of ordinary
    # traffic gave five false tail alarms on one service).
    min_p95_samples: int = 200
    min_p99_samples: int = 1000
    level_alpha: float = 0.15
    trend_beta: float = 0.02
    noise_alpha: float = 0.05
    rate_alpha: float = 0.02
    latency_alpha: float = 0.05
    max_frozen_minutes: int = 30


@dataclass(frozen=True)
class MinuteCounts:
    """What one series did in one minute (summed partial aggregates)."""

    minute: int  # epoch seconds of the minute's start
    requests: float
    status_4xx: float
    status_5xx: float
    latency_count: float = 0.0
    latency_sum_seconds: float = 0.0
    latency_log_sum: float = 0.0  # sum of ln(latency in seconds)
    latency_buckets: Mapping[int, float] = field(default_factory=dict)  # latency_histogram's


@dataclass(frozen=True)
class Detection:
    metric: str
    direction: str
    actual: float
    expected: float
    score: float

    @property
    def severity(self) -> str:
        return a.CRITICAL if self.score >= 85 else a.MAJOR if self.score >= 65 else a.MINOR

    @property
    def key(self) -> str:
        return f"{self.metric}:{self.direction}"

    @property
    def strong(self) -> bool:
        """At or above z_threshold on its own (the score is 50 there)."""
        return self.score >= 50.0


@dataclass
class SeriesBaseline:
    """One series' memory: everything the checks learned, as plain numbers (stored as JSON in
    Spark's state, a few hundred bytes)."""

    minutes: int = 0
    level: float | None = None
    trend: float = 0.0
    noise: list[float] = field(default_factory=lambda: [0.0] * HOURS)
    noise_seen: list[int] = field(default_factory=lambda: [0] * HOURS)
    errors_4xx: float = 0.0
    errors_5xx: float = 0.0
    rate_requests: float = 0.0
    latency_mean: float | None = None  # of the minutes' mean log latency (ln seconds)
    latency_var: float = 0.0
    # Per tail metric (p95, p99): [mean, variance] of the minutes' ln quantile (seconds).
    tails: dict[str, list[float]] = field(default_factory=dict)
    failed_before: bool = False
    frozen: dict[str, int] = field(default_factory=dict)
    # "metric:direction" of the last minute's candidates (z >= the confirming threshold).
    suspected: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SeriesBaseline:
        return cls(**data)


def freeman_tukey(count: float, expected: float) -> float:
    """How far a count lies above a Poisson (or rare-event binomial) expectation, in standard
    deviations of the Freeman-Tukey transform: unlike (x - m) / sqrt(m), its tail stays honest
    for small counts, where a plain z-score calls 7 errors out of 30 a four-sigma event."""
    return math.sqrt(count) + math.sqrt(count + 1) - math.sqrt(4 * expected + 1)


def score(z: float, threshold: float) -> float:
    """0-100: 50 at the threshold, 75 at twice it, approaching 100."""
    return round(100.0 * (1.0 - 0.5 ** (max(z, 0.0) / threshold)), 1)


def judge_minute(
    baseline: SeriesBaseline, counts: MinuteCounts, settings: DetectorSettings, endpoint: bool
) -> list[Detection]:
    """The minute's detections; then the baseline learns from the minute (except anomalous
    metrics, for a while). ``endpoint``: the series is one endpoint, whose thin traffic has
    one-minute blips: its detections count from their second window in a row (except a first
    failure, which is news at once)."""
    warm = baseline.minutes >= settings.warmup_minutes
    candidates: list[Detection] = []
    if warm:
        candidates += _traffic(baseline, counts, settings)
        candidates += _error_rates(baseline, counts, settings)
        candidates += _latency(baseline, counts, settings)
        if endpoint:
            candidates += _new_errors(baseline, counts, settings)
    # A candidate alarms on its own at z_threshold, or when the same metric and direction was
    # a candidate the minute before too: two windows in a row at 3 sigma are rarer by chance
    # than one at 4, and an incident that starts gently (30 requests a minute, a drop on an
    # hour whose noise past incidents widened) is caught in its second window.
    confirmed = {d.key for d in candidates if not d.strong and d.key in baseline.suspected}
    found = [d for d in candidates if d.strong or d.key in confirmed]
    baseline.suspected = [d.key for d in candidates]
    in_a_row = dict(baseline.frozen)  # before this minute: windows each metric was anomalous
    learn(baseline, counts, settings, {d.metric for d in found}, {d.metric for d in candidates})
    if not endpoint:
        return found
    return [
        d
        for d in found
        if d.metric == a.METRIC_NEW_ERRORS or in_a_row.get(d.metric) or d.key in confirmed
    ]


def _confirming(s: DetectorSettings) -> float:
    return s.confirm_share * s.z_threshold


def _traffic(b: SeriesBaseline, c: MinuteCounts, s: DetectorSettings) -> list[Detection]:
    expected = max((b.level or 0.0) + b.trend, 0.0)
    if expected < s.min_requests and c.requests < s.min_requests:
        return []
    hour = (c.minute // 3600) % HOURS
    spread = math.sqrt(max(b.noise[hour] if b.noise_seen[hour] else 0.0, expected, 1.0))
    z = (c.requests - expected) / spread
    change = abs(c.requests - expected) / max(expected, 1.0)
    if abs(z) < _confirming(s) or change < s.min_traffic_change:
        return []
    direction = a.UP if z > 0 else a.DOWN
    return [
        Detection(a.METRIC_REQUESTS, direction, c.requests, expected, score(abs(z), s.z_threshold))
    ]


def _error_rates(b: SeriesBaseline, c: MinuteCounts, s: DetectorSettings) -> list[Detection]:
    if c.requests < s.min_requests or b.rate_requests <= 0:
        return []
    found = []
    for metric, errors, past in (
        (a.METRIC_RATE_4XX, c.status_4xx, b.errors_4xx),
        (a.METRIC_RATE_5XX, c.status_5xx, b.errors_5xx),
    ):
        # A floor on the baseline rate: a spotless past must not make one error a spike.
        rate = min(max(past / b.rate_requests, 0.001), 0.999)
        actual = errors / c.requests
        z = freeman_tukey(errors, c.requests * rate)
        if z >= _confirming(s) and errors >= s.min_errors and actual - rate >= s.min_rate_rise:
            found.append(Detection(metric, a.UP, actual, rate, score(z, s.z_threshold)))
    return found


def _latency(b: SeriesBaseline, c: MinuteCounts, s: DetectorSettings) -> list[Detection]:
    found: list[Detection] = []
    if c.latency_count >= s.min_latency_samples and b.latency_mean is not None:
        # Floored so a perfectly steady past is not infinitely sure (0.05 ~ 5% on the ratio).
        actual = c.latency_log_sum / c.latency_count
        found += _log_rise(a.METRIC_LATENCY, actual, b.latency_mean, b.latency_var, 0.05, s)
    for metric, actual in _tail_quantiles(c, s).items():
        if metric in b.tails:
            mean, var = b.tails[metric]
            found += _log_rise(metric, actual, mean, var, _BUCKET_LN, s)
    return found


def _log_rise(
    metric: str, actual: float, mean: float, var: float, floor: float, s: DetectorSettings
) -> list[Detection]:
    """A latency statistic's rise on the log scale (so reported in seconds, and a rise is a
    ratio): z against the baseline's spread (at least ``floor``) and a minimum relative rise."""
    z = (actual - mean) / math.sqrt(max(var, floor**2))
    if z < _confirming(s) or math.exp(actual - mean) - 1.0 < s.min_latency_rise:
        return []
    return [Detection(metric, a.UP, math.exp(actual), math.exp(mean), score(z, s.z_threshold))]


# One histogram bucket on the ln scale: a quantile moves in steps of this.
_BUCKET_LN = math.log(2) / LATENCY_BUCKETS_PER_DOUBLING


def _tail_quantiles(c: MinuteCounts, s: DetectorSettings) -> dict[str, float]:
    """ln of the minute's p95 and p99 (seconds), each when the minute has enough samples."""
    samples = sum(c.latency_buckets.values())
    tails = {}
    for metric, q, needed in (
        (a.METRIC_LATENCY_P95, 0.95, s.min_p95_samples),
        (a.METRIC_LATENCY_P99, 0.99, s.min_p99_samples),
    ):
        value = quantile(c.latency_buckets, q) if samples >= needed else None
        if value is not None:
            tails[metric] = math.log(value)
    return tails


def _new_errors(b: SeriesBaseline, c: MinuteCounts, s: DetectorSettings) -> list[Detection]:
    if b.failed_before or c.status_5xx < s.min_new_errors:
        return []
    return [Detection(a.METRIC_NEW_ERRORS, a.UP, c.status_5xx, 0.0, 100.0)]


def learn(
    b: SeriesBaseline,
    c: MinuteCounts,
    s: DetectorSettings,
    anomalous: set[str],
    held: frozenset[str] | set[str] = frozenset(),
) -> None:
    """Fold the minute into the baseline; metrics judged anomalous are skipped while frozen,
    and candidates (``held``) for this minute: a suspicion must not widen the noise it is
    judged against the next minute."""
    b.minutes += 1
    b.frozen = {m: b.frozen.get(m, 0) + 1 for m in anomalous}
    frozen = {m for m, streak in b.frozen.items() if streak <= s.max_frozen_minutes}
    frozen |= held - anomalous
    if a.METRIC_REQUESTS not in frozen:
        _learn_traffic(b, c, s)
    if not frozen & {a.METRIC_RATE_4XX, a.METRIC_RATE_5XX}:
        b.errors_4xx += s.rate_alpha * (c.status_4xx - b.errors_4xx)
        b.errors_5xx += s.rate_alpha * (c.status_5xx - b.errors_5xx)
        b.rate_requests += s.rate_alpha * (c.requests - b.rate_requests)
    if a.METRIC_LATENCY not in frozen and c.latency_count >= s.min_latency_samples:
        mean = c.latency_log_sum / c.latency_count
        if b.latency_mean is None:
            b.latency_mean = mean
        else:
            b.latency_mean, b.latency_var = _ewma(b.latency_mean, b.latency_var, mean, s)
    for metric, actual in _tail_quantiles(c, s).items():
        if metric not in frozen:
            if metric in b.tails:
                mean, var = b.tails[metric]
                b.tails[metric] = list(_ewma(mean, var, actual, s))
            else:
                b.tails[metric] = [actual, 0.0]
    if a.METRIC_NEW_ERRORS not in frozen and c.status_5xx > 0:
        b.failed_before = True


def _ewma(mean: float, var: float, value: float, s: DetectorSettings) -> tuple[float, float]:
    """One step of a latency statistic's exponentially weighted mean and variance."""
    delta = value - mean
    alpha = s.latency_alpha
    return mean + alpha * delta, (1 - alpha) * (var + alpha * delta**2)


def _learn_traffic(b: SeriesBaseline, c: MinuteCounts, s: DetectorSettings) -> None:
    if b.level is None:
        b.level = c.requests
        return
    forecast = b.level + b.trend
    hour = (c.minute // 3600) % HOURS
    residual = c.requests - forecast
    seen = b.noise_seen[hour]
    # The first minutes of an hour bucket average plainly; later ones smooth exponentially.
    weight = max(s.noise_alpha, 1.0 / (seen + 1))
    b.noise[hour] += weight * (residual**2 - b.noise[hour])
    b.noise_seen[hour] = seen + 1
    level = forecast + s.level_alpha * residual
    b.trend += s.trend_beta * (level - b.level - b.trend)
    b.level = level
