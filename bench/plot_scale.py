"""Plot bench/results/scale-{before,after}.json: idle Redis commands/s and worker CPU
against replicas x partitions. `python -m bench.plot_scale`"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for label, style in (("before", "o--"), ("after", "s-")):
        path = RESULTS / f"scale-{label}.json"
        if not path.exists():
            continue
        rows = json.loads(path.read_text())["results"]
        names = [f"{x['replicas']}x{x['partitions']}" for x in rows]
        ax1.plot(names, [x["idle"]["commands_per_s"] for x in rows], style, label=label)
        ax2.plot(names, [x["idle"]["cpu_per_replica"] * 100 for x in rows], style, label=label)
    ax1.set_yscale("log")
    ax1.set_title("idle Redis commands/s")
    ax2.set_title("idle worker CPU per replica (%)")
    for ax in (ax1, ax2):
        ax.set_xlabel("replicas x partitions")
        ax.legend()
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(RESULTS / "scale.png", dpi=110)


if __name__ == "__main__":
    main()
