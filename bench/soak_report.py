"""What the soak (bench/soak.py) concludes from its samples, and its figure — pure functions.

A sample is taken every ``--sample`` seconds: the hub requests completed in that window (rate,
p50, p99, errors) and the RSS of every process of the hub's tree. The verdict:

- **errors**: none — no unexpected status, no transport error, no failed mock call, no callback the
  hub refused, every submission stored and delivered to the department exactly once;
- **memory flat**: for each process, the median RSS of the last three samples is at most 10 % above
  the median of the first three after the warm-up (medians: one sample taken mid-GC does not decide);
- **p99 steady**: the p99 of all requests of the last third of the measured (post-warm-up) time is
  at most 1.5 x the p99 of its first third — a leak of time (a growing queue, a table scanned
  without an index) shows as a rising p99 long before it shows as errors.
"""
from __future__ import annotations

import statistics

from bench.servers import percentile
from bff.console.charts import line_chart

MEMORY_GROWTH_MAX = 0.10
P99_RATIO_MAX = 1.5


def window(events: list, since: float, until: float) -> dict:
    """Rate and latency of the requests completed in [since, until)."""
    inside = [e for e in events if since <= e.done_at < until]
    latencies = sorted(e.latency_ms for e in inside)
    return {"completed": len(inside), "rate": len(inside) / (until - since), "errors": sum(not e.ok for e in inside),
            "p50_ms": percentile(latencies, 0.50) if latencies else 0.0,
            "p99_ms": percentile(latencies, 0.99) if latencies else 0.0}


def memory_growth(samples: list[dict], warmup_s: float) -> dict[str, dict]:
    """Per process: RSS (MB) after the warm-up and at the end, and the growth between them."""
    measured = [s for s in samples if s["t"] >= warmup_s]
    out = {}
    for name in sorted({n for s in measured for n in s["rss_mb"]}):
        values = [s["rss_mb"][name] for s in measured if name in s["rss_mb"]]
        if len(values) < 2:
            continue
        first, last = statistics.median(values[:3]), statistics.median(values[-3:])
        out[name] = {"after_warmup_mb": round(first, 1), "end_mb": round(last, 1),
                     "growth": round((last - first) / first, 4), "peak_mb": round(max(values), 1)}
    return out


def p99_thirds(events: list, start: float, warmup_s: float, end: float) -> dict:
    """p99 of the first and the last third of the measured time."""
    begin = start + warmup_s
    third = (end - begin) / 3
    first = sorted(e.latency_ms for e in events if begin <= e.done_at < begin + third)
    last = sorted(e.latency_ms for e in events if end - third <= e.done_at <= end)
    p_first, p_last = percentile(first, 0.99) if first else 0.0, percentile(last, 0.99) if last else 0.0
    return {"first_third_p99_ms": round(p_first, 1), "last_third_p99_ms": round(p_last, 1),
            "ratio": round(p_last / p_first, 3) if p_first else None}


def verdict(*, errors: int, checks: dict, memory: dict, p99: dict) -> dict:
    failed_checks = [name for name, ok in checks.items() if not ok]
    grown = {name: m["growth"] for name, m in memory.items() if m["growth"] > MEMORY_GROWTH_MAX}
    steady = p99["ratio"] is not None and p99["ratio"] <= P99_RATIO_MAX
    return {"errors_zero": errors == 0 and not failed_checks, "failed_checks": failed_checks,
            "memory_flat": bool(memory) and not grown, "memory_grown": grown, "p99_steady": steady,
            "passed": errors == 0 and not failed_checks and bool(memory) and not grown and steady}


def figure(samples: list[dict], title: str) -> str:
    """Three panels over time — completed requests/s, p50/p99, RSS per process — as one SVG."""
    labels = [f"{s['t'] / 60:.1f}" for s in samples]
    names = sorted({n for s in samples for n in s["rss_mb"]})
    panels = [
        line_chart(title="完成请求 completed requests/s", labels=labels, unit="req/s", width=760, height=240,
                   series=[("req/s", [round(s["rate"], 1) for s in samples])]),
        line_chart(title="延迟 latency per window (ms)", labels=labels, unit="ms", width=760, height=240,
                   series=[("p50", [round(s["p50_ms"], 1) for s in samples]),
                           ("p99", [round(s["p99_ms"], 1) for s in samples])]),
        line_chart(title="内存 RSS per process (MB)", labels=labels, unit="MB", width=760, height=260,
                   series=[(n, [round(s["rss_mb"].get(n, 0.0), 1) for s in samples]) for n in names]),
    ]
    heights, y, parts = (240, 240, 260), 40, []
    for panel, height in zip(panels, heights):
        parts.append(f'<svg x="0" y="{y}" width="760" height="{height}">{panel.split(">", 1)[1]}')
        y += height
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 760 {y + 20}" width="760" height="{y + 20}" '
            f'font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="#fff"/>'
            f'<text x="380" y="24" text-anchor="middle" font-size="15" font-weight="600">{title}</text>'
            + "".join(parts) + f'<text x="380" y="{y + 12}" text-anchor="middle" fill="#6b7280">minutes</text></svg>')
