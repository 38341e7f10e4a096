#!/usr/bin/python3
"""Figures of a snnbench run: plots.py DIR [--out OUTDIR] [--x AXIS]

Reads DIR/summary.json (written by `snnbench reduce DIR`) and DIR/results.h5, and writes PNGs
into OUTDIR (default DIR/plots):

  accuracy_vs_<AXIS>.png   test accuracy (final epoch), mean ± 95% CI over seeds, vs AXIS
                           (default timesteps if it is a grid axis, else the first numeric
                           axis), one line per combination of the other non-seed axes
  accuracy_vs_energy.png   the same accuracy vs energy per test sample (pJ, SynOps · E_AC/E_MAC),
                           CI bars on both axes, Pareto front (less energy, more accuracy) marked
  layer_spike_rates.png    spike rate of every neuron layer, mean ± 95% CI, one bar per group
  learning_curves.png      train loss and validation accuracy per epoch: mean over seeds with
                           the min–max range of the seeds shaded

Every statistic across seeds comes from summary.json, so the figures show exactly the numbers
of the reduce tables; only the per-epoch curves, which reduce does not summarise, are read from
results.h5. A "group" is what reduce groups by: one combination of the grid axes except the seed.

Bad input (DIR, results.h5, summary.json, --x) exits 2 with one line on stderr and writes
nothing; every figure is rendered in memory before the first file is written.

Uses only Debian's python3-h5py, python3-matplotlib and python3-numpy (hence /usr/bin/python3).
"""
import argparse
import io
import json
import os
import re
import sys
import textwrap

import h5py
import matplotlib

matplotlib.use("Agg")  # files only, never a display
import matplotlib.ticker  # noqa: E402
import matplotlib.transforms  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402  (must follow matplotlib.use)
import numpy as np  # noqa: E402

ACC = "test_acc_final"
ENERGY = "energy_pj_per_sample"


class BadInput(Exception):
    """A problem with what the user gave us: one line on stderr, exit 2, as snnbench does."""


# ------------------------------------------------------------------------------ loading


def load_summary(path):
    if not os.path.isfile(path):
        raise BadInput(f"{path}: no such file (run `snnbench reduce` on the run directory first)")
    try:
        with open(path, encoding="utf-8") as f:
            summary = json.load(f)
    except (OSError, ValueError) as e:
        raise BadInput(f"{path}: not a readable JSON file ({e})") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("groups"), list):
        raise BadInput(f"{path}: not a snnbench summary (no \"groups\" list)")
    if not summary["groups"]:
        raise BadInput(f"{path}: no groups: the run has no finished cells")
    return summary


def axes_key(axes, names):
    """Canonical key of the reduce axes `names` in `axes`, to match cells with groups."""
    return json.dumps({a: axes[a] for a in names if a in axes}, sort_keys=True)


def attr_text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def load_cells(path, summary):
    """Per group key: the curves and layer order of its finished cells in results.h5."""
    if not os.path.isfile(path):
        raise BadInput(f"{path}: no such file (run `snnbench reduce` on the run directory first)")
    names = summary.get("axes", [])
    cells = {}
    try:
        with h5py.File(path, "r") as f:
            if "cells" not in f:
                raise BadInput(f"{path}: no /cells group: not a snnbench results file")
            for cid, cell in f["cells"].items():
                axes = json.loads(attr_text(cell.attrs["axes"]))
                history = {k: np.asarray(d[()], dtype=float)
                           for k, d in cell.get("history", {}).items()}
                # Network order of the layers; the summary only knows them by name.
                layers = [attr_text(n) for n in cell["layers"]["name"]] if "layers" in cell else []
                cells.setdefault(axes_key(axes, names), []).append(
                    {"id": cid, "model": attr_text(cell.attrs.get("model", "")),
                     "history": history, "layers": layers})
    except OSError as e:
        raise BadInput(f"{path}: cannot read as HDF5 ({e})") from None
    except (KeyError, ValueError) as e:
        raise BadInput(f"{path}: not a snnbench results file ({e})") from None
    return cells


def stat(group, metric, field):
    """A summary statistic as a float; reduce writes null where it is undefined (CI at n = 1)."""
    value = group["metrics"].get(metric, {}).get(field)
    return float("nan") if value is None else float(value)


# ------------------------------------------------------------------------------ labels


def fmt_value(v):
    return v if isinstance(v, str) else json.dumps(v)


def label(axes, names):
    return ", ".join(f"{a}={fmt_value(axes[a])}" for a in names if a in axes) or "all cells"


def n_text(ns, expected=None):
    """"n=3", "n=2–3" over several points, "n=2/3" when seeds are missing."""
    lo, hi = min(ns), max(ns)
    text = f"n={lo}" if lo == hi else f"n={lo}–{hi}"
    if expected is not None and hi < expected:
        text += f"/{expected}"
    return text


def interval_note(summary, bars="error bars"):
    # Quote reduce's own description of its interval, so the figure cannot drift from the table.
    interval = summary.get("interval", "95% confidence interval of the mean").split(";")[0]
    return f"{bars}: {interval}, over seeds (none at n = 1); n = seeds per point"


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def palette(n):
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20" if n <= 20 else "viridis")
    return [cmap(i % 20) if n <= 20 else cmap(i / max(n - 1, 1)) for i in range(n)]


def ci_err(pairs):
    """Means and asymmetric error bars from the CI bounds of (group, metric) pairs; a bar of
    length 0 where reduce has no CI (n = 1)."""
    means = np.array([stat(g, m, "mean") for g, m in pairs])
    lo = means - np.array([stat(g, m, "ci95_lo") for g, m in pairs])
    hi = np.array([stat(g, m, "ci95_hi") for g, m in pairs]) - means
    return means, np.vstack([np.nan_to_num(lo), np.nan_to_num(hi)])


def render(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


# ------------------------------------------------------------------------------ figures


def choose_x(summary, path, requested):
    axes = summary.get("axes", [])
    if requested is not None:
        if requested not in axes:
            why = ", seeds are averaged over" if requested == "seed" else ""
            raise BadInput(f"--x {requested}: not a grid axis in {path} (axes: "
                           f"{', '.join(axes) or 'none'}{why})")
        return requested
    if "timesteps" in axes:
        return "timesteps"
    for a in axes:
        if all(is_number(g["axes"].get(a)) for g in summary["groups"]):
            return a
    return axes[0] if axes else None  # categorical, or a single point when only seeds vary


def plot_accuracy_vs_x(summary, x):
    groups = [g for g in summary["groups"] if ACC in g["metrics"]]
    if not groups:
        return None
    others = [a for a in summary.get("axes", []) if a != x]
    values = [g["axes"].get(x, "all cells") if x else "all cells" for g in groups]
    numeric = all(is_number(v) for v in values)
    # Categorical axes keep reduce's order of first appearance.
    categories = list(dict.fromkeys(fmt_value(v) for v in values))
    pos = (lambda v: v) if numeric else (lambda v: categories.index(fmt_value(v)))

    lines = {}
    for g, v in zip(groups, values):
        lines.setdefault(axes_key(g["axes"], others), []).append((pos(v), g))
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for i, ((key, members), color) in enumerate(zip(lines.items(), palette(len(lines)))):
        members.sort(key=lambda m: m[0])
        xs = [m[0] for m in members]
        gs = [m[1] for m in members]
        means, err = ci_err([(g, ACC) for g in gs])
        n = n_text([g["metrics"][ACC]["n"] for g in gs], max(g["expected"] for g in gs))
        name = label(json.loads(key), others) if others else "test accuracy"
        # Shift each line a few points sideways so error bars at the same x stay apart; in
        # points, not data units, so it works on log axes too.
        dodge = matplotlib.transforms.ScaledTranslation((i - (len(lines) - 1) / 2) * 4 / 72, 0,
                                                        fig.dpi_scale_trans)
        ax.errorbar(xs, means, yerr=err, marker="o", capsize=4, color=color,
                    ls="-" if numeric else "none",  # categories have no order to draw a line along
                    transform=ax.transData + dodge, label=f"{name} ({n})")
    if numeric:
        xs = sorted(set(values))
        # Timestep grids are usually doublings: a log axis spaces them evenly.
        if xs[0] > 0 and xs[-1] / xs[0] >= 8:
            ax.set_xscale("log", base=2)
        ax.set_xticks(xs, [fmt_value(v) for v in xs])
        ax.minorticks_off()
    else:
        ax.set_xticks(range(len(categories)), categories)
    ax.set_xlabel(x or "")
    ax.set_ylabel("test accuracy % (final epoch)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.suptitle(f"Test accuracy vs {x}" if x else "Test accuracy")
    ax.set_title(textwrap.fill(interval_note(summary), 90), fontsize=8)
    return render(fig)


def pareto(points):
    """Indices of the points no other point beats on both less energy and more accuracy."""
    front, best = [], -np.inf
    for i in sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1])):
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def plot_accuracy_vs_energy(summary):
    groups = [g for g in summary["groups"] if ACC in g["metrics"] and ENERGY in g["metrics"]]
    if not groups:
        return None
    axes = summary.get("axes", [])
    acc, acc_err = ci_err([(g, ACC) for g in groups])
    energy, energy_err = ci_err([(g, ENERGY) for g in groups])
    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    ax.errorbar(energy, acc, xerr=energy_err, yerr=acc_err, fmt="o", capsize=3, color="tab:blue",
                ecolor="tab:gray", label="group mean ± CI")
    front = pareto(list(zip(energy, acc)))
    ax.plot(energy[front], acc[front], drawstyle="steps-post", color="tab:red", lw=1.2, zorder=3)
    ax.scatter(energy[front], acc[front], s=140, facecolors="none", edgecolors="tab:red", lw=1.5,
               zorder=4, label="Pareto front (of the means)")
    for g, e, a in zip(groups, energy, acc):
        ax.annotate(f"{label(g['axes'], axes)} ({n_text([g['metrics'][ACC]['n']], g['expected'])})",
                    (e, a), textcoords="offset points", xytext=(6, 6), fontsize=7)
    if energy.min() > 0 and energy.max() / energy.min() >= 20:
        ax.set_xscale("log")
    else:
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter(useMathText=True))
    ax.set_xlabel("energy per test sample (pJ) = SynOps AC · E_AC + SynOps MAC · E_MAC")
    ax.set_ylabel("test accuracy % (final epoch)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("Accuracy vs energy")
    ax.set_title(textwrap.fill(interval_note(summary, "error bars on both axes"), 90), fontsize=8)
    return render(fig)


def plot_layer_rates(summary, cells):
    # One panel per distinct layer list (one per model, in practice): bars of different
    # networks side by side would compare unrelated layers.
    panels = {}
    for g in summary["groups"]:
        members = cells.get(axes_key(g["axes"], summary.get("axes", [])), [])
        if not members:
            continue
        layers = tuple(n for n in members[0]["layers"] if f"layer/{n}/spike_rate" in g["metrics"])
        if layers:
            panels.setdefault(layers, []).append((g, members[0]["model"]))
    if not panels:
        return None
    axes = summary.get("axes", [])
    width = max(6.0, max(len(l) * (len(m) + 1) * 0.35 for l, m in panels.items()) + 2.5)
    fig, axs = plt.subplots(len(panels), 1, figsize=(width, 1 + 3.8 * len(panels)), squeeze=False,
                            layout="constrained")
    for ax, (layers, members) in zip(axs[:, 0], panels.items()):
        step = 0.8 / len(members)
        for k, ((g, _), color) in enumerate(zip(members, palette(len(members)))):
            metrics = [f"layer/{n}/spike_rate" for n in layers]
            means, err = ci_err([(g, m) for m in metrics])
            n = n_text([g["metrics"][m]["n"] for m in metrics], g["expected"])
            ax.bar(np.arange(len(layers)) - 0.4 + (k + 0.5) * step, means, step, yerr=err,
                   capsize=3, color=color, label=f"{label(g['axes'], axes)} ({n})")
        ax.set_xticks(range(len(layers)), layers)
        ax.set_ylim(bottom=0)  # a CI can reach below 0; a rate cannot
        ax.set_ylabel("spike rate (spikes / neuron / step)")
        ax.set_title("model: " + ", ".join(sorted({m for _, m in members})), fontsize=9)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.suptitle("Per-layer spike rate on the test set (final epoch)\n"
                 + textwrap.fill(interval_note(summary), 100), fontsize=10)
    return render(fig)


def seed_curves(members, name):
    """Per-epoch curves of one group's seeds, NaN-padded to the longest run."""
    curves = [m["history"][name] for m in members if name in m["history"]]
    if not curves:
        return None
    out = np.full((len(curves), max(len(c) for c in curves)), np.nan)
    for i, c in enumerate(curves):
        out[i, : len(c)] = c
    return out


def plot_learning_curves(summary, cells):
    axes = summary.get("axes", [])
    groups = [(g, cells[k]) for g in summary["groups"]
              if (k := axes_key(g["axes"], axes)) in cells]
    panels = [("train_loss", "train loss"), ("val_acc", "validation accuracy %")]
    fig, axs = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
    drawn = False
    for (g, members), color in zip(groups, palette(len(groups))):
        for ax, (name, ylabel) in zip(axs, panels):
            c = seed_curves(members, name)
            if c is None:
                continue
            epochs = np.arange(1, c.shape[1] + 1)
            ax.plot(epochs, np.nanmean(c, axis=0), marker=".", color=color,
                    label=f"{label(g['axes'], axes)} ({n_text([len(c)], g['expected'])})")
            # The range needs no distributional assumption, which matters with 2–5 seeds.
            ax.fill_between(epochs, np.nanmin(c, axis=0), np.nanmax(c, axis=0), color=color,
                            alpha=0.2, lw=0)
            ax.set_ylabel(ylabel)
            drawn = True
    if not drawn:
        plt.close(fig)
        return None
    for ax in axs:
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    # Both panels share the groups and colours: one legend, beside them.
    axs[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1))
    fig.suptitle("Learning curves: line = mean over seeds, band = min–max over seeds; "
                 "n = seeds per group")
    return render(fig)


# ------------------------------------------------------------------------------ main


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, like every other bad input
        raise BadInput(message)


def main(argv):
    p = Parser(prog="plots.py", description="Draw the figures of a reduced snnbench run.")
    p.add_argument("dir", metavar="DIR", help="run directory with results.h5 and summary.json")
    p.add_argument("--out", metavar="OUTDIR", help="where the PNGs go (default DIR/plots)")
    p.add_argument("--x", metavar="AXIS", help="grid axis on the x of the accuracy plot")
    args = p.parse_args(argv)

    if not os.path.isdir(args.dir):
        raise BadInput(f"{args.dir}: no such directory")
    out = args.out or os.path.join(args.dir, "plots")
    if os.path.exists(out) and not os.path.isdir(out):
        raise BadInput(f"--out {out}: exists and is not a directory")
    summary_path = os.path.join(args.dir, "summary.json")
    summary = load_summary(summary_path)
    x = choose_x(summary, summary_path, args.x)
    cells = load_cells(os.path.join(args.dir, "results.h5"), summary)

    # An axis is a dotted config path ("train.lr"): keep it readable in the file name.
    accuracy_png = f"accuracy_vs_{re.sub(r'[^A-Za-z0-9._-]', '_', x)}.png" if x else "accuracy.png"
    figures = {
        accuracy_png: plot_accuracy_vs_x(summary, x),
        "accuracy_vs_energy.png": plot_accuracy_vs_energy(summary),
        "layer_spike_rates.png": plot_layer_rates(summary, cells),
        "learning_curves.png": plot_learning_curves(summary, cells),
    }
    os.makedirs(out, exist_ok=True)
    for name, png in figures.items():
        if png is None:  # e.g. an ANN-only run has no spike rates
            print(f"plots.py: {name}: nothing to draw in this run, skipped", file=sys.stderr)
            continue
        path = os.path.join(out, name)
        with open(path + ".tmp", "wb") as f:  # a reader never sees half a PNG
            f.write(png)
        os.replace(path + ".tmp", path)
        print(path)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except BadInput as e:
        print(f"plots.py: {e}", file=sys.stderr)
        sys.exit(2)
