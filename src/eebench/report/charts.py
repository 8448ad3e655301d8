"""Charts of one task (altair): the speed-up/metric chart, and one picture per check — exit-layer histograms,
reliability diagrams before/after temperature scaling, per-exit error with the monotonicity verdict, the survey's
sample categories, and PCEE's achieved accuracy against δ.

Every chart reads as a PNG: policies are told apart by colour *and* marker (and dash), up to twenty by colour alone;
labels are placed where they collide with no other label or marker (policies whose fitted points coincide share one
label, "a = b"); legends sit below the panels and carry no interaction hint. The HTML page keeps the interaction —
clicking a policy in the legend highlights it — and says so in the page's text. Each run's figures are averaged over
seeds; the spread over seeds is a band."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import atomic_path, read_json
from .aggregate import HINDSIGHT, parse_cell, parse_run
from .leaderboard import LIMIT, curve_function, limit_is_bound, metric_label, model_name

# Okabe & Ito (2008) without black: distinct under the common colour-vision deficiencies; for the few models or seeds
# of a check picture.
PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442"]
# Policies: Tableau 20 with its grey pair (the reference marks are grey) replaced by an indigo pair, the ten strong
# colours first. A light colour shares its hue with the strong one ten places earlier, so it gets another marker
# (seven markers: policy i and i + 10 differ by three) and a dashed line; marker and dash also carry a policy for a
# colour-blind reader. The oracle's black cross is not among the markers.
POLICY_COLOURS = [
    "#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD", "#8C564B", "#E377C2", "#BCBD22", "#17BECF", "#393B79",
    "#AEC7E8", "#FFBB78", "#98DF8A", "#FF9896", "#C5B0D5", "#C49C94", "#F7B6D2", "#DBDB8D", "#9EDAE5", "#9C9EDE",
]
SHAPES = ["circle", "square", "triangle-up", "diamond", "triangle-down", "triangle-right", "triangle-left"]
DASHES = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3]]
STRONG_COLOURS = 10  # policies drawn with solid lines before the light colours' dashed ones
REFERENCES = ("final", "static-k", "oracle")  # drawn as reference marks, not curves
PANEL_WIDTH, PANEL_HEIGHT = 360, 280
CURVE_GRID = 30  # speed-ups at which the seeds' sweeps are interpolated and averaged
LEGEND_COLUMNS_PER_PANEL = 3  # legend entries per row below each column of panels (~130 px each)
HIGHLIGHT_HINT = ("Click a policy in the legend to highlight it (shift-click adds more, a click on the background "
                  "resets); hover over a mark for its numbers.")


@functools.cache
def load_altair():
    """altair with its 5,000-row limit lifted: the report's pages inline their data, and a large grid (many backbones
    × strategies × exits or policies) passes that limit in its training or speed-up chart; the aggregate must not
    fail on a grid's size (the frames are already thinned or interpolated to a fixed number of points per line)."""
    import altair as alt

    alt.data_transformers.disable_max_rows()
    return alt


def policy_style(index: int) -> tuple[str, str, list[int]]:
    """The colour, marker and dash of the policy at `index` in the legend's order: no two of the first 140 policies
    share colour and marker, none of the first 40 colour and dash."""
    colour = POLICY_COLOURS[index % len(POLICY_COLOURS)]
    return colour, SHAPES[index % len(SHAPES)], DASHES[(index // STRONG_COLOURS) % len(DASHES)]


def policy_encodings(policies: list[str], legend_columns: int = LEGEND_COLUMNS_PER_PANEL) -> dict:
    """Colour, shape and dash scales that give every policy its own combination, in the order given, with one
    legend below the panels in `legend_columns` columns (a legend beside them would widen the chart past a
    1280-px window)."""
    alt = load_altair()
    colours, shapes, dashes = zip(*map(policy_style, range(len(policies)))) if policies else ((), (), ())
    legend = alt.Legend(title="policy", orient="bottom", columns=legend_columns, symbolStrokeWidth=2, labelLimit=220)
    return {
        "color": alt.Color("policy:N", scale=alt.Scale(domain=policies, range=list(colours)), legend=legend),
        "shape": alt.Shape("policy:N", scale=alt.Scale(domain=policies, range=list(shapes)), legend=legend),
        "strokeDash": alt.StrokeDash("policy:N", scale=alt.Scale(domain=policies, range=list(dashes)), legend=legend),
    }


# ---- label placement -------------------------------------------------------------------------------------------

# Advance widths (em) of Helvetica, whose metrics Arial and Liberation Sans share (the renderers' sans-serif), so a
# label's box is known before it is drawn. Characters not listed count as 0.6 em.
_ADVANCES = {0.222: "ijl", 0.278: " !,./:;I[]ft", 0.333: "()-`r", 0.5: "Jckvxyzs", 0.556: "0123456789abdeghnopqu_$#?L",
             0.584: "+<=>~", 0.611: "FTZ", 0.667: "ABEKPSVXY&", 0.722: "CDHNRUw", 0.778: "GOQ", 0.833: "mM",
             0.889: "%", 0.944: "W"}
ADVANCE = {ch: width for width, chars in _ADVANCES.items() for ch in chars}
BOLD_WIDER = 1.1  # Helvetica-Bold's advances against the regular's, roughly
LINE_HEIGHT = 1.2  # a label's box height per font size
SUBTITLE_SIZE = 10  # the list of labels with no room, under a panel's title


def text_width(text: str, size: float, bold: bool = False) -> float:
    return sum(ADVANCE.get(ch, 0.6) for ch in text) * size * (BOLD_WIDER if bold else 1.0)


def wrap_text(text: str, width: float, size: float) -> list[str]:
    """`text` broken at spaces into lines no wider than `width` pixels (a longer word keeps a line of its own)."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and text_width(f"{lines[-1]} {word}", size) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines


@dataclass(frozen=True)
class Box:
    """A rectangle in a panel's pixels (y grows downwards, as drawn)."""

    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: Box, gap: float = 1.0) -> bool:
        return (self.left < other.right + gap and other.left < self.right + gap
                and self.top < other.bottom + gap and other.top < self.bottom + gap)

    def inside(self, bounds: Box) -> bool:
        return (bounds.left <= self.left and self.right <= bounds.right
                and bounds.top <= self.top and self.bottom <= bounds.bottom)


def marker_box(x: float, y: float, radius: float) -> Box:
    return Box(x - radius, y - radius, x + radius, y + radius)


def boxes_around(x: float, y: float, clearance: float, width: float, height: float,
                 steps: tuple[float, ...] = (3, 12, 24)) -> list[Box]:
    """Boxes of a `width` × `height` label around the point (x, y), `clearance` plus each step away, nearest first:
    right, left, then above and below (centred, starting at the point, ending at it), then the diagonals."""
    boxes = []
    for step in steps:
        d = clearance + step
        beside = [(x + d, y - height / 2), (x - d - width, y - height / 2)]
        over_under = [(left, top) for top in (y - d - height, y + d) for left in (x - width / 2, x - 4, x + 4 - width)]
        diagonal = [(x + d * 0.7, y - d * 0.7 - height), (x + d * 0.7, y + d * 0.7),
                    (x - d * 0.7 - width, y - d * 0.7 - height), (x - d * 0.7 - width, y + d * 0.7)]
        boxes += [Box(left, top, left + width, top + height) for left, top in beside + over_under + diagonal]
    return boxes


def place_labels(candidates: list[list[Box]], obstacles: list[Box], bounds: Box) -> list[Box | None]:
    """Greedily, in the order given: each label at its first candidate box that lies inside `bounds` and overlaps
    no obstacle and no label placed before it; None where no candidate does."""
    taken = list(obstacles)
    placed = []
    for boxes in candidates:
        box = next((b for b in boxes if b.inside(bounds) and not any(b.overlaps(t) for t in taken)), None)
        if box is not None:
            taken.append(box)
        placed.append(box)
    return placed


@dataclass(frozen=True)
class Screen:
    """A panel's data-to-pixel mapping (linear scales, no nicing: the domains are exact)."""

    x_domain: tuple[float, float]
    y_domain: tuple[float, float]
    width: float = PANEL_WIDTH
    height: float = PANEL_HEIGHT

    def pixel(self, x: float, y: float) -> tuple[float, float]:
        (x0, x1), (y0, y1) = self.x_domain, self.y_domain
        return (x - x0) / (x1 - x0) * self.width, (y1 - y) / (y1 - y0) * self.height

    def data(self, left: float, top: float) -> tuple[float, float]:
        (x0, x1), (y0, y1) = self.x_domain, self.y_domain
        return x0 + left / self.width * (x1 - x0), y1 - top / self.height * (y1 - y0)

    def shows(self, x: float, y: float) -> bool:
        px, py = self.pixel(x, y)
        return 0 <= px <= self.width and 0 <= py <= self.height


def coinciding_points(points: pd.DataFrame) -> pd.DataFrame:
    """One row per group of fitted points of a panel that coincide — equal speed-up and metric up to float rounding,
    e.g. policies whose decisions are identical on the task — with the text "a = b = c" naming them in order."""
    groups: list[dict] = []
    rows = points[["panel", "policy", "layer_speedup", "metric"]].itertuples(index=False)
    for panel, policy, speedup, metric in rows:
        for group in groups:
            if (group["panel"] == panel and np.isclose(group["layer_speedup"], speedup, rtol=1e-9, atol=1e-12)
                    and np.isclose(group["metric"], metric, rtol=1e-9, atol=1e-12)):
                group["text"] += f" = {policy}"
                break
        else:
            groups.append({"panel": panel, "layer_speedup": speedup, "metric": metric, "text": policy})
    return pd.DataFrame(groups, columns=["panel", "layer_speedup", "metric", "text"])


# Text styles of the speed-up chart: font size, bold, colour.
LABEL_STYLES = {"policy": (10, False, "black"), "rule": (10, False, "#555"), "oracle": (10, True, "black"),
                "static": (9, False, "#777")}
MARKER_RADIUS = {"policy": 6.5, "static": 4.5, "oracle": 7.5}  # half the drawn markers' widths, in pixels


def label_size(style: str, text: str) -> tuple[float, float]:
    size, bold, _ = LABEL_STYLES[style]
    return text_width(text, size, bold), size * LINE_HEIGHT


def panel_labels(screen: Screen, groups: pd.DataFrame, rules: list[tuple[str, float]], oracle: list[tuple],
                 static: list[tuple]) -> tuple[list[dict], list[dict], list[str]]:
    """The texts of one speed-up panel at places where they overlap no other text and no marker — the rules'
    labels along their rule, each fitted point's (group's) beside it, the oracle's beside its cross, the fixed
    exits' k beside their squares, in that order of precedence — as rows (style, text, x and y of the top-left
    corner in data units); a leader line (from, to) from each marker to its label where the label is not next to
    it; and the labels no place was found for, with what they label. `rules` are (text, level), `oracle` and
    `static` (text, speed-up, metric)."""
    markers = ([(x, y, MARKER_RADIUS["policy"]) for x, y in groups[["layer_speedup", "metric"]].itertuples(index=False)]
               + [(x, y, MARKER_RADIUS["static"]) for _, x, y in static]
               + [(x, y, MARKER_RADIUS["oracle"]) for _, x, y in oracle])
    obstacles = [marker_box(*screen.pixel(x, y), r) for x, y, r in markers if screen.shows(x, y)]
    labels = []  # (style, text, what it labels, candidate boxes, the marker's centre and radius or None)
    for text, level in rules:
        width, height = label_size("rule", text)
        _, py = screen.pixel(0, level)
        boxes = [Box(left, top, left + width, top + height)
                 for left in (screen.width - 2 - width, 2) for top in (py - height - 1, py + 1)]
        labels.append(("rule", text, text, boxes, None))
    points = [("policy", *row) for row in groups[["text", "layer_speedup", "metric"]].itertuples(index=False)]
    points += [("oracle", *row) for row in oracle] + [("static", *row) for row in static]
    for style, text, x, y in points:
        if screen.shows(x, y):
            steps = (2, 8) if style == "static" else (3, 12, 24)
            marker = (*screen.pixel(x, y), MARKER_RADIUS[style])
            boxes = boxes_around(*marker, *label_size(style, text), steps)
            labels.append((style, text, text if style == "oracle" else f"{text} at {x:.2f}×, {y:.3f}", boxes, marker))
    placed = place_labels([label[3] for label in labels], obstacles, Box(0, 0, screen.width, screen.height))
    rows, leaders = [], []
    for (style, text, _, _, marker), box in zip(labels, placed):
        if box is None:
            continue
        rows.append({"style": style, "text": text, **dict(zip(("layer_speedup", "metric"),
                                                               screen.data(box.left, box.top)))})
        leader = leader_line(*marker, box) if marker else None
        if leader:
            start, end = (screen.data(*point) for point in leader)
            leaders.append({"layer_speedup": start[0], "metric": start[1], "to_speedup": end[0], "to_metric": end[1]})
    return rows, leaders, [where for (_, _, where, _, _), box in zip(labels, placed) if box is None]


def leader_line(x: float, y: float, radius: float, box: Box, beside: float = 5) -> tuple | None:
    """From the edge of the marker at (x, y) to the nearest point of its label's box, where the label lies more
    than `beside` pixels from the marker (so that it is clear which marker it names); else None."""
    nearest = (min(max(x, box.left), box.right), min(max(y, box.top), box.bottom))
    dx, dy = nearest[0] - x, nearest[1] - y
    distance = float(np.hypot(dx, dy))
    if distance <= radius + beside:
        return None
    return (x + dx / distance * radius, y + dy / distance * radius), nearest


# ---- speed-up vs metric ---------------------------------------------------------------------------------------


def mean_curves(curves: pd.DataFrame) -> pd.DataFrame:
    """Per panel (model) and swept policy: the seeds' sweeps interpolated on a common speed-up grid (where all seeds
    reach), their mean and their min–max."""
    rows = []
    for (panel, policy), frame in curves.groupby(["panel", "policy"], sort=False):
        functions = [curve_function(points) for _, points in frame.groupby("seed")]
        low, high = max(f[0][0] for f in functions), min(f[0][-1] for f in functions)
        if not high > low:
            continue
        grid = np.linspace(low, high, CURVE_GRID)
        values = np.array([np.interp(grid, xs, ys) for xs, ys in functions])
        rows.extend(
            {"panel": panel, "policy": policy, "layer_speedup": x, "metric": m, "metric_min": lo, "metric_max": hi,
             "n_seeds": len(functions)}
            for x, m, lo, hi in zip(grid, values.mean(axis=0), values.min(axis=0), values.max(axis=0))
        )
    return pd.DataFrame(rows, columns=["panel", "policy", "layer_speedup", "metric", "metric_min", "metric_max",
                                       "n_seeds"])


def focus_domains(means: pd.DataFrame, fitted: pd.DataFrame, finals: pd.Series, oracle: pd.DataFrame,
                  tolerance: float) -> tuple[list[float], list[float]]:
    """Axis ranges where the methods operate: from a few tolerances below the final exit (or the lowest fitted
    point) to the best curve, and the speed-ups the curves reach inside that metric range (the oracle's mark is
    pinned inside, labelled with its figures)."""
    bottom = min([*(finals - 2 * tolerance), *fitted["metric"]])
    top = max([*means["metric"], *finals])
    span = (top - bottom) or 0.01
    inside = means[means["metric"] >= bottom]
    right = max([1.05, *inside["layer_speedup"], *fitted["layer_speedup"]])
    # headroom above the curves for the oracle's mark
    return [0.95, right * 1.05], [bottom - 0.05 * span, top + 0.2 * span]


def speedup_chart(curves: pd.DataFrame, results: pd.DataFrame, metric_name: str, tolerance: float,
                  policy_order: list[str]):
    """One panel per backbone / strategy: one curve per policy (mean over seeds, band = seed range), the fitted
    points labelled (coinciding ones with one label), the final exit and its tolerance as horizontal rules, static-k's
    exits and the oracle as marks. A label with no free place is listed under the panel's title."""
    alt = load_altair()
    curves = curves.assign(panel=model_name(curves))
    results = results[~results["policy"].str.endswith(HINDSIGHT)].assign(panel=model_name(results))
    methods = [p for p in policy_order if p not in REFERENCES and p in set(results["policy"])]
    means = mean_curves(curves[curves["policy"].isin(methods)])
    fitted = results.groupby(["panel", "policy"], sort=False)[["metric", "layer_speedup"]].mean().reset_index()
    finals = fitted[fitted["policy"] == "final"].set_index("panel")["metric"]
    # the limit within the tolerance where the oracle computed it, else its earliest correct exit
    limit = LIMIT if (fitted["policy"] == LIMIT).any() else "oracle"
    oracle = fitted[fitted["policy"] == limit]
    static = (curves[curves["policy"] == "static-k"].groupby(["panel", "knob_value"])[["metric", "layer_speedup"]]
              .mean().reset_index())
    static["label"] = "k=" + static["knob_value"].astype(int).astype(str)
    # in the legend's order, so a label of coinciding points names them in that order
    fitted = fitted[fitted["policy"].isin(methods)].sort_values("policy", key=lambda p: p.map(methods.index),
                                                                kind="stable")
    x_domain, y_domain = focus_domains(means, fitted, finals, oracle, tolerance)
    screen = Screen(tuple(x_domain), tuple(y_domain))
    # for a metric that is no sum over samples (CIDEr-D over tokens) the least depth is a reference, not a bound
    shown = limit if limit != LIMIT or limit_is_bound(metric_name) else f"{limit} (no bound)"
    oracle = oracle.assign(
        label=[f"{shown}: {s:.2f}×, {m:.3f}" for s, m in zip(oracle["layer_speedup"], oracle["metric"])],
        metric=oracle["metric"].clip(upper=y_domain[1] - 0.05 * (y_domain[1] - y_domain[0])),
        layer_speedup=oracle["layer_speedup"].clip(upper=x_domain[1] - 0.04 * (x_domain[1] - x_domain[0])),
    )
    groups = coinciding_points(fitted)
    x = alt.X("layer_speedup:Q", title="layer speed-up (×)", scale=alt.Scale(domain=x_domain, nice=False))
    y = alt.Y("metric:Q", title=f"test {metric_label(metric_name)}", scale=alt.Scale(domain=y_domain, nice=False))
    panels = list(dict.fromkeys(results["panel"]))
    enc = policy_encodings(methods, LEGEND_COLUMNS_PER_PANEL * min(2, len(panels)))
    pick = alt.selection_point(fields=["policy"], bind="legend", name="highlight")
    opacity = alt.when(pick).then(alt.value(1.0)).otherwise(alt.value(0.12))
    tooltip = ["policy:N", alt.Tooltip("layer_speedup:Q", format=".2f"), alt.Tooltip("metric:Q", format=".4f")]

    def panel_chart(panel: str):
        mine = alt.datum.panel == panel
        rules = ([("final exit", finals[panel]), (f"final − {tolerance:g} (tolerance)", finals[panel] - tolerance)]
                 if panel in finals.index else [])
        texts, leaders, unplaced = panel_labels(
            screen, groups[groups["panel"] == panel], rules,
            [tuple(row) for row in oracle.loc[oracle["panel"] == panel, ["label", "layer_speedup", "metric"]].values],
            [tuple(row) for row in static.loc[static["panel"] == panel, ["label", "layer_speedup", "metric"]].values])
        band = (alt.Chart(means).transform_filter(mine).mark_area(clip=True)
                .encode(x=x, y=alt.Y("metric_min:Q", scale=alt.Scale(domain=y_domain)), y2="metric_max:Q",
                        color=enc["color"],
                        # faint until a policy is picked: overlapping bands of many policies hide the lines
                        opacity=alt.when(pick, empty=False).then(alt.value(0.25)).otherwise(alt.value(0.06))))
        lines = (alt.Chart(means).transform_filter(mine).mark_line(clip=True, strokeWidth=2)
                 .encode(x=x, y=y, color=enc["color"], strokeDash=enc["strokeDash"], opacity=opacity,
                         order="layer_speedup:Q", tooltip=tooltip + ["n_seeds:Q"]))
        # drawn last policy first: of coinciding markers, the one on top is the first named in their label
        points = (alt.Chart(fitted.iloc[::-1]).transform_filter(mine)
                  .mark_point(filled=True, size=110, stroke="black", strokeWidth=0.8, clip=True)
                  .encode(x=x, y=y, color=enc["color"], shape=enc["shape"], opacity=opacity, tooltip=tooltip))
        references = _reference_marks(panel, finals, oracle, static, tolerance, x, y)
        text_layers = [_text_layer(pd.DataFrame(texts, columns=["style", "text", "layer_speedup", "metric"]),
                                   style, x, y) for style in LABEL_STYLES]
        leader_lines = (alt.Chart(pd.DataFrame(leaders, columns=["layer_speedup", "metric", "to_speedup", "to_metric"]))
                        .mark_rule(color="#444", strokeWidth=0.8).encode(x=x, y=y, x2="to_speedup:Q", y2="to_metric:Q"))
        title = (alt.TitleParams(panel, subtitle=wrap_text(f"no room to label: {'; '.join(unplaced)}", PANEL_WIDTH,
                                                           SUBTITLE_SIZE), subtitleFontSize=SUBTITLE_SIZE,
                                 subtitleColor="#555") if unplaced else panel)
        # lines first: the first layer sets the legend's symbols (a legend switched off in any layer, e.g. the
        # band's, switches off the merged legend)
        return (alt.layer(lines, band, points, *references, leader_lines, *text_layers)
                .properties(width=PANEL_WIDTH, height=PANEL_HEIGHT, title=title))

    charts = [panel_chart(panel) for panel in panels]
    charts[0] = charts[0].add_params(pick)
    return (alt.concat(*charts, columns=2).resolve_scale(color="shared", shape="shared", strokeDash="shared")
            .properties(description=HIGHLIGHT_HINT))


def _text_layer(texts: pd.DataFrame, style: str, x, y):
    """The placed labels of one style, each drawn from its box's top-left corner."""
    alt = load_altair()
    size, bold, colour = LABEL_STYLES[style]
    return (alt.Chart(texts[texts["style"] == style])
            .mark_text(align="left", baseline="top", fontSize=size, fontWeight="bold" if bold else "normal",
                       color=colour)
            .encode(x=x, y=y, text="text:N"))


def _reference_marks(panel, finals, oracle, static, tolerance, x, y) -> list:
    """The final exit's and its tolerance's rules, the fixed exits' squares and the oracle's cross (their texts are
    placed with the policies' labels)."""
    alt = load_altair()
    marks = []
    if panel in finals.index:
        level = finals[panel]
        rules = pd.DataFrame({"metric": [level, level - tolerance]})
        marks.append(alt.Chart(rules).mark_rule(color="#555", strokeDash=[5, 4]).encode(y=y))
    mine = static[static["panel"] == panel]
    if len(mine):
        marks.append(alt.Chart(mine).mark_point(shape="square", size=50, color="#777", filled=False, clip=True)
                     .encode(x=x, y=y, tooltip=["label:N", "metric:Q", "layer_speedup:Q"]))
    limit = oracle[oracle["panel"] == panel]
    if len(limit):
        marks.append(alt.Chart(limit).mark_point(shape="cross", size=160, color="black", filled=True, clip=True)
                     .encode(x=x, y=y, tooltip=["policy:N", "metric:Q", "layer_speedup:Q"]))
    return marks


# ---- exit layers ----------------------------------------------------------------------------------------------


def exit_histograms(test_paths: list[Path]) -> pd.DataFrame:
    """Share of test samples (a caption task: generated tokens) exiting at each exit, per model and policy (seeds
    pooled), from test.json's exit_histogram."""
    rows = []
    for path in test_paths:
        cell = parse_cell(path)
        counts = read_json(path).get("exit_histogram")
        if counts:
            rows += [{"panel": f"{cell['backbone']} / {cell['strategy']}", "policy": cell["policy"],
                      "exit": i + 1, "count": c} for i, c in enumerate(counts)]
    frame = pd.DataFrame(rows, columns=["panel", "policy", "exit", "count"])
    frame = frame.groupby(["panel", "policy", "exit"], sort=False)["count"].sum().reset_index()
    frame["share"] = frame["count"] / frame.groupby(["panel", "policy"])["count"].transform("sum")
    return frame


def exit_histogram_chart(histograms: pd.DataFrame, policy_order: list[str], unit: str = "samples"):
    """One small panel per policy: the share of test `unit` (samples, or a caption task's tokens) at each exit."""
    alt = load_altair()
    policies = [p for p in policy_order if p in set(histograms["policy"])]
    several = histograms["panel"].nunique() > 1
    bars = alt.Chart(histograms).mark_bar().encode(
        x=alt.X("exit:O", title="exit layer", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("share:Q", title=f"share of test {unit}", axis=alt.Axis(format="%")),
        color=alt.Color("panel:N", title="model", scale=alt.Scale(range=PALETTE)),
        tooltip=["panel:N", "policy:N", "exit:O", "count:Q", alt.Tooltip("share:Q", format=".1%")],
        **({"xOffset": "panel:N"} if several else {}),
    )
    return bars.properties(width=150, height=100).facet(
        facet=alt.Facet("policy:N", sort=policies, title=None), columns=4
    )


# ---- checks -----------------------------------------------------------------------------------------------------


def read_checks(check_paths: list[Path]) -> list[tuple[dict, dict]]:
    return [(parse_run(path), read_json(path)) for path in check_paths]


def _panel(run: dict) -> str:
    return f"{run['backbone']} / {run['strategy']}"


def notice_chart(text: str):
    """A chart that only says why there is nothing to draw (e.g. calibration of a regression task)."""
    alt = load_altair()
    return (alt.Chart(pd.DataFrame({"text": [text]})).mark_text(fontSize=14, color="#555")
            .encode(text="text:N").properties(width=420, height=60))


def reliability_frame(checks: list[tuple[dict, dict]]) -> pd.DataFrame:
    """Reliability bins per model, exit and scaling (before / after temperature scaling), pooled over seeds
    (count-weighted), with each exit's mean ECE, the panel's label naming the pooled seeds, and the unit counted
    (samples, or a caption task's tokens)."""
    rows = []
    for run, report in checks:
        unit = "tokens" if report.get("unit") == "token" else "samples"
        for scaling, key in (("before", "calibration"), ("after temperature scaling", "calibration_scaled")):
            test = report.get(key, {}).get("test")
            if not test:
                continue
            for exit_index, (diagram, ece) in enumerate(zip(test["reliability"], test["ece"]), 1):
                for count, confidence, accuracy in zip(diagram["count"], diagram["confidence"], diagram["accuracy"]):
                    if count:
                        rows.append({"panel": _panel(run), "seed": run["seed"], "exit": exit_index, "scaling": scaling,
                                     "count": count, "confidence": confidence, "accuracy": accuracy, "ece": ece,
                                     "unit": unit})
    columns = ["panel", "seed", "exit", "scaling", "count", "confidence", "accuracy", "ece", "unit"]
    frame = pd.DataFrame(rows, columns=columns)
    if frame.empty:
        return frame
    frame["bin"] = (frame["confidence"] * 10).clip(upper=9.999).astype(int)
    keys = ["panel", "exit", "scaling", "bin"]
    weighted = frame.assign(confidence=frame["confidence"] * frame["count"],
                            accuracy=frame["accuracy"] * frame["count"])
    pooled = weighted.groupby(keys)[["count", "confidence", "accuracy"]].sum().reset_index()
    pooled[["confidence", "accuracy"]] = pooled[["confidence", "accuracy"]].div(pooled["count"], axis=0)
    per_seed = frame.groupby(["panel", "exit", "scaling", "seed"])["ece"].first()
    ece = per_seed.groupby(["panel", "exit", "scaling"]).mean()
    seeds = frame.groupby("panel")["seed"].unique().map(sorted)
    label = seeds.map(lambda s: f"seed {s[0]}" if len(s) == 1 else f"seeds {', '.join(map(str, s))} pooled")
    return pooled.join(ece, on=["panel", "exit", "scaling"]).assign(
        label=lambda f: f["panel"] + " · " + f["panel"].map(label), unit=frame["unit"].iloc[0])


def reliability_chart(frame: pd.DataFrame):
    """One panel per model (its label names the seeds) and exit: accuracy against confidence per bin, each bin's
    marker as large as the test samples (tokens) it holds, before and after temperature scaling, with both ECEs."""
    alt = load_altair()
    if frame.empty:
        return notice_chart("no calibration in checks.json (regression outputs have no confidence)")
    scalings = ["before", "after temperature scaling"]
    colour = alt.Color("scaling:N", title="test, per exit", legend=alt.Legend(orient="bottom"),
                       scale=alt.Scale(domain=scalings, range=["#D55E00", "#0072B2"]))
    unit = alt.Scale(domain=[0, 1])
    diagonal = (alt.Chart().transform_aggregate(n="count()").mark_rule(color="#999", strokeDash=[4, 4])
                .encode(x=alt.datum(0), y=alt.datum(0), x2=alt.datum(1), y2=alt.datum(1)))
    position = {"x": alt.X("confidence:Q", title="mean confidence in bin", scale=unit),
                "y": alt.Y("accuracy:Q", title="accuracy in bin", scale=unit)}
    tooltip = ["label:N", "scaling:N", "exit:O", "count:Q", alt.Tooltip("confidence:Q", format=".3f"),
               alt.Tooltip("accuracy:Q", format=".3f")]
    curve = alt.Chart().mark_line().encode(**position, color=colour, order="confidence:Q")
    counts = alt.Chart().mark_circle(opacity=0.8).encode(
        **position, color=colour, tooltip=tooltip,
        size=alt.Size("count:Q", title=f"test {frame['unit'].iloc[0]} in bin", legend=alt.Legend(orient="bottom"),
                      scale=alt.Scale(type="sqrt", range=[4, 160])))
    ece = (alt.Chart().transform_aggregate(ece="mean(ece)", groupby=["scaling"])
           # bottom right, below the diagonal at high confidence: where no bin lies unless an exit is wildly off
           .transform_calculate(label="'ECE ' + format(datum.ece, '.3f')",
                                y="datum.scaling == 'before' ? 0.14 : 0.04")
           .mark_text(align="right", fontSize=10).encode(x=alt.datum(0.97), y=alt.Y("y:Q", scale=unit),
                                                         text="label:N", color=colour))
    return (alt.layer(diagonal, curve, counts, ece, data=frame).properties(width=140, height=140)
            # the row's label on two lines, model over seeds, to fit beside a panel's height
            .facet(row=alt.Row("label:N", title=None, header=alt.Header(labelExpr="split(datum.value, ' · ')")),
                   column=alt.Column("exit:O", title="exit")))


def error_frame(checks: list[tuple[dict, dict]]) -> pd.DataFrame:
    """Error (or MAE) of every exit on val and test per run, and each model's monotonicity verdict on test."""
    rows, verdicts = [], {}
    for run, report in checks:
        for split in ("val", "test"):
            errors = report["errors"][split]
            name = "error_rate" if "error_rate" in errors else "mean_absolute_error"
            rows += [{"panel": _panel(run), "seed": f"seed{run['seed']}", "split": split, "exit": i + 1, "error": e,
                      "measure": _measure(name, report)} for i, e in enumerate(errors[name])]
        test = report["errors"]["test"]
        verdicts.setdefault(_panel(run), []).append(f"seed{run['seed']}: {monotonicity_verdict(test)}")
    frame = pd.DataFrame(rows)
    frame["title"] = frame["panel"].map(lambda p: f"{p} — test error {'; '.join(verdicts[p])}")
    return frame


def _measure(name: str, report: dict) -> str:
    """The error's axis title: a caption run's (checks.json `unit` "token") is the share of generated tokens where
    the exit's token differs from the full model's."""
    if report.get("unit") == "token":
        return "token error (≠ full model's token)"
    return name.replace("_", " ")


def monotonicity_verdict(errors: dict) -> str:
    """'monotone', or the significant rises with their sizes (in points); rises too small to count are counted."""
    rises = errors.get("rises", [])
    flagged = [r for r in rises if r.get("significant", True)]
    text = ("monotone" if errors["monotone_decreasing"] else
            "rises at " + ", ".join(f"exit {r['exit']} (+{100 * r['size']:.1f} pts)" for r in flagged)
            if flagged else f"rises at exits {errors.get('rises_at_exits')}")
    unflagged = len(rises) - len(flagged)
    return text + (f", {unflagged} rise{'s' * (unflagged > 1)} not significant" if unflagged else "")


def error_chart(frame: pd.DataFrame):
    alt = load_altair()
    base = alt.Chart().encode(
        x=alt.X("exit:O", title="exit", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("error:Q", title=frame["measure"].iloc[0], scale=alt.Scale(zero=False)),
        color=alt.Color("split:N", scale=alt.Scale(domain=["val", "test"], range=["#56B4E9", "#D55E00"])),
        detail="seed:N",
        tooltip=["panel:N", "seed:N", "split:N", "exit:O", alt.Tooltip("error:Q", format=".4f")],
    )
    # lines and points as separate layers: a line overlaid with points gets a legend of invisible dash symbols
    lines = base.mark_line().encode(strokeDash=alt.StrokeDash("seed:N", legend=alt.Legend(symbolStrokeColor="#333")))
    return (
        alt.layer(lines, base.mark_point(filled=True, size=30), data=frame)
        .properties(width=PANEL_WIDTH, height=200)
        .facet(facet=alt.Facet("title:N", title=None, header=alt.Header(labelLimit=600)), columns=2)
    )


CATEGORIES = ["confident", "confused", "fake_confident"]


def category_frame(checks: list[tuple[dict, dict]]) -> pd.DataFrame:
    rows = []
    for run, report in checks:
        categories = report.get("categories")
        if not categories:
            continue
        label = f"{_panel(run)} · seed{run['seed']} (overthinking {categories['overthinking_share']:.1%})"
        rows += [{"run": label, "category": name.replace("_", "-"), "order": CATEGORIES.index(name),
                  "share": categories["shares"][name], "threshold": categories.get("confidence_threshold"),
                  "unit": "tokens" if report.get("unit") == "token" else "samples"}
                 for name in CATEGORIES]
    return pd.DataFrame(rows)


def category_chart(frame: pd.DataFrame):
    alt = load_altair()
    if frame.empty:
        return notice_chart("no sample categories in checks.json (regression outputs have no confidence)")
    threshold = frame["threshold"].iloc[0]
    unit = frame["unit"].iloc[0] if "unit" in frame else "samples"
    return (
        alt.Chart(frame).mark_bar()
        .encode(y=alt.Y("run:N", title=None, axis=alt.Axis(labelLimit=400)),
                x=alt.X("share:Q",
                        title=f"share of test {unit} (confident = max prob ≥ {threshold:g} at an early exit)",
                        axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
                color=alt.Color("category:N", sort=[c.replace("_", "-") for c in CATEGORIES],
                                scale=alt.Scale(range=["#009E73", "#999999", "#D55E00"])),
                order="order:Q",
                tooltip=["run:N", "category:N", alt.Tooltip("share:Q", format=".1%")])
        .properties(width=460)
    )


def pcee_frame(checks: list[tuple[dict, dict]]) -> pd.DataFrame:
    rows = []
    for run, report in checks:
        final_error = report["errors"]["test"].get("error_rate", [None])[-1]
        for target in report.get("pcee_targets", []):
            status = target.get("status") or ("holds" if target["holds"] else "fails")
            rows.append({"panel": _panel(run), "seed": f"seed{run['seed']}", "delta": target["delta"],
                         "accuracy": target["test_accuracy"], "holds": status,
                         "final_accuracy": None if final_error is None else 1 - final_error})
    return pd.DataFrame(rows)


def pcee_domains(frame: pd.DataFrame) -> tuple[list[float], list[float]]:
    """The δ axis over the targets; the accuracy axis over the achieved accuracies, the final exits' and the largest
    target (so the diagonal accuracy = δ shows where targets are hard), with 10 % headroom."""
    low_delta, high_delta = float(frame["delta"].min()), float(frame["delta"].max())
    values = [*frame["accuracy"], *frame["final_accuracy"].dropna(), high_delta]
    low, high = min(values), max(values)
    pad = max(0.1 * (high - low), 0.005)
    return [low_delta - 0.02, high_delta + 0.02], [low - pad, high + pad]


def final_label_sides(frame: pd.DataFrame) -> pd.Series:
    """Per panel, the end of the final exit's rule ("left" or "right") to label it at: the end where the seeds'
    mean accuracy lies farther from the rule, so the label sits clear of the points."""
    ends = frame.groupby(["panel", "delta"])["accuracy"].mean().groupby("panel").agg(["first", "last"])
    final = frame.groupby("panel")["final_accuracy"].mean()
    return ((ends["first"] - final).abs() >= (ends["last"] - final).abs()).map({True: "left", False: "right"})


def pcee_chart(frame: pd.DataFrame):
    """One panel per model: each seed's achieved test accuracy against the target δ (marker: the target holds,
    fails or is unattainable), the diagonal accuracy = δ and the final exit's accuracy as labelled rules."""
    alt = load_altair()
    if frame.empty:
        return notice_chart("no PCEE targets in checks.json (regression outputs have no confidence; a caption "
                            "task's δ would be on tokens, not on its metric)")
    x_domain, y_domain = pcee_domains(frame)
    frame = frame.assign(final_side=frame["panel"].map(final_label_sides(frame)))
    x_scale, y_scale = alt.Scale(domain=x_domain, nice=False), alt.Scale(domain=y_domain, nice=False)
    x = alt.X("delta:Q", title="accuracy target δ", scale=x_scale)
    y = alt.Y("accuracy:Q", title="achieved test accuracy", scale=y_scale)
    width, height = 260, 200
    layers = []
    # the diagonal's visible stretch, labelled at its upper end on the side that has room
    start, end = max(x_domain[0], y_domain[0]), min(x_domain[1], y_domain[1])
    if end > start:
        one_row = alt.Chart().transform_aggregate(n="count()")
        layers.append(one_row.mark_rule(color="#999", strokeDash=[4, 4]).encode(
            x=alt.datum(start, scale=x_scale), y=alt.datum(start, scale=y_scale), x2=alt.datum(end),
            y2=alt.datum(end)))
        # steep, as accuracies span less than targets: the text goes where the line is not — right of its end
        # below the top edge, or left of its end at the right edge
        exits_at_top = y_domain[1] < x_domain[1]
        layers.append(one_row.mark_text(align="left" if exits_at_top else "right",
                                        baseline="top" if exits_at_top else "middle",
                                        dx=6 if exits_at_top else -6, fontSize=10, color="#777").encode(
            x=alt.datum(end), y=alt.datum(end), text=alt.datum("accuracy = δ")))
    final = alt.Chart().transform_aggregate(final="mean(final_accuracy)", groupby=["final_side"]).transform_calculate(
        label="'final exit ' + format(datum.final, '.3f')")
    final_y = alt.Y("final:Q", scale=y_scale)
    layers.append(final.mark_rule(strokeDash=[2, 3], color="#555").encode(y=final_y))
    layers += [final.transform_filter(alt.datum.final_side == side)
               .mark_text(align=side, baseline="bottom", dy=-2, fontSize=10, color="#555")
               .encode(x=alt.value(2 if side == "left" else width - 2), y=final_y, text="label:N")
               for side in ("left", "right")]
    seed = alt.Color("seed:N", scale=alt.Scale(range=PALETTE), legend=alt.Legend(orient="bottom"))
    layers.append(alt.Chart().mark_line().encode(x=x, y=y, color=seed))
    layers.append(alt.Chart().mark_point(size=60, filled=True).encode(
        x=x, y=y, color=seed,
        shape=alt.Shape("holds:N", title="accuracy ≥ δ", legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=["holds", "fails", "unattainable"],
                                        range=["circle", "cross", "triangle-up"])),
        tooltip=["panel:N", "seed:N", "delta:Q", alt.Tooltip("accuracy:Q", format=".4f"), "holds:N"]))
    return (alt.layer(*layers, data=frame).properties(width=width, height=height)
            .facet(facet=alt.Facet("panel:N", title=None), columns=3))


CHECK_CHARTS = {  # layout.PLOTS name of the chart page (its picture: name + "_image") -> (data from checks.json, chart)
    "reliability": (reliability_frame, reliability_chart),
    "errors": (error_frame, error_chart),
    "categories": (category_frame, category_chart),
    "pcee": (pcee_frame, pcee_chart),
}


def write_check_charts(check_paths: list[Path], out: dict[str, Path]) -> None:
    """Every check picture, page and PNG, at the paths `out` gives by layout.PLOTS name."""
    checks = read_checks(check_paths)
    for name, (frame, chart) in CHECK_CHARTS.items():
        save_chart(chart(frame(checks)), out[name], out[f"{name}_image"])


def save_chart(chart, page: Path, image: Path) -> None:
    """The chart as a self-contained HTML page (the Vega scripts inlined, so it renders offline; drawn as SVG, so
    marks and legend entries are elements a browser test can find) whose text above the chart is the chart's
    description (how to interact with it), and as a PNG (vl-convert), which shows no interaction hint."""
    html = chart.to_html(inline=True, embed_options={"renderer": "svg"})
    description = chart.to_dict(validate=False).get("description")
    if description:
        # the page's own <body> is the last one: the inlined scripts before it hold the text "<body>" too
        at = html.rindex("<body>") + len("<body>")
        html = f'{html[:at]}\n<p style="font: 14px sans-serif; color: #444">{escape(description)}</p>{html[at:]}'
    with atomic_path(page) as tmp:
        Path(tmp).write_text(html, encoding="utf-8")
    with atomic_path(image) as tmp:
        chart.save(str(tmp), format="png", scale_factor=1.5)
