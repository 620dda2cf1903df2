"""The bench scripts' PNG plots (matplotlib, Agg: no display needed). Small on purpose: the ones
docs/benchmarks.md shows are committed under docs/img/."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

COLOURS = {"Punctual": "#1f6feb", "APScheduler": "#d1242f"}
#: Colours for other series (a --compare checkout), one per name, so all of a series' rounds match.
OTHERS = ("#8250df", "#bf8700", "#1a7f37", "#57606a")


def colour(name: str) -> str:
    if name not in COLOURS:
        COLOURS[name] = OTHERS[(len(COLOURS) - 2) % len(OTHERS)]
    return COLOURS[name]
SIZE = (7.0, 3.8)
DPI = 90


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def lateness_cdf(path: Path, series: dict[str, list[float]], title: str) -> Path:
    """Empirical CDF of lateness (ms) per scheduler; `series` maps a name to lateness in seconds."""
    fig, ax = plt.subplots(figsize=SIZE)
    for name, values in series.items():
        xs = sorted(v * 1000 for v in values)
        if not xs:
            continue
        ys = [(i + 1) / len(xs) for i in range(len(xs))]
        p99 = xs[min(len(xs) - 1, int(round(0.99 * (len(xs) - 1))))]
        ax.step(xs, ys, where="post", color=colour(name), label=f"{name} (p99 {p99:,.1f} ms, n={len(xs):,})")
    ax.axhline(0.99, color="grey", lw=0.6, ls=":")
    ax.set_xlabel("lateness: arrival at the webhook − planned instant (ms)")
    ax.set_ylabel("share of posts")
    ax.set_ylim(0, 1.01)
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def burst_timeline(path: Path, series: dict[str, list[list[float]]], n: int, latency_s: float,
                   limits: dict[str, int], title: str) -> Path:
    """Posts arrived at the webhook against seconds after the due instant, one line per round,
    with the physical limit of each scheduler: C calls in flight of L seconds each deliver at
    most C/L posts a second, so N posts take at least N·L/C."""
    fig, ax = plt.subplots(figsize=SIZE)
    for name, rounds in series.items():
        for i, offsets in enumerate(rounds):
            xs = sorted(offsets)
            ax.step(xs, range(1, len(xs) + 1), where="post", color=colour(name), lw=1.2, alpha=0.8,
                    label=name if i == 0 else None)
    for name, concurrency in limits.items():
        end = n * latency_s / concurrency
        ax.plot([0, end], [0, n], color=colour(name), ls="--", lw=0.9,
                label=f"{name}'s limit N·L/C = {n:,}·{latency_s * 1000:g} ms/{concurrency} = {end:.2f} s")
    ax.set_xlabel("seconds after the due instant")
    ax.set_ylabel("posts arrived at the webhook")
    ax.set_xlim(left=0)
    ax.set_ylim(0, n * 1.03)
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def soak_resources(path: Path, samples: list[dict], title: str) -> Path:
    """The soak's server over time: RSS, open file descriptors, and connections (database
    connections and sockets)."""
    minutes = [s["t"] / 60 for s in samples]
    fig, axes = plt.subplots(3, 1, figsize=(7.0, 5.6), sharex=True)
    axes[0].plot(minutes, [s["rss_mb"] for s in samples], color="#1f6feb")
    axes[0].set_ylabel("RSS (MB)")
    axes[1].plot(minutes, [s["fds"] for s in samples], color="#8250df")
    axes[1].set_ylabel("open fds")
    axes[2].plot(minutes, [s["db_connections"] for s in samples], color="#1a7f37", label="database connections")
    axes[2].plot(minutes, [s["sockets"] for s in samples], color="#bf8700", label="sockets (all)")
    axes[2].set_ylabel("connections")
    axes[2].legend(loc="upper left", fontsize=8)
    axes[2].set_xlabel("minutes")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0)
    axes[0].set_title(title, fontsize=10)
    return _save(fig, path)


def lateness_histogram(path: Path, series: dict[str, list[float]], title: str, targets: dict[str, float]) -> Path:
    """The QStash path: lateness (ms) of warm and cold deliveries, with each target as a line."""
    fig, axes = plt.subplots(1, len(series), figsize=SIZE, squeeze=False)
    for ax, (name, values) in zip(axes[0], series.items(), strict=True):
        xs = [v * 1000 for v in values]
        if xs:
            ax.hist(xs, bins=30, color="#1f6feb", alpha=0.8)
        if name in targets:
            ax.axvline(targets[name] * 1000, color="#d1242f", ls="--", lw=1,
                       label=f"p99 target {targets[name] * 1000:,.0f} ms")
            ax.legend(fontsize=8)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("lateness after not_before (ms)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("deliveries")
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)
