"""Charts as server-side SVG: no external asset, readable on a phone, printable."""

from __future__ import annotations

from html import escape

# A narrow canvas with large type: on a phone the chart is drawn ~360 px wide,
# so 15 units of text stay readable.
WIDTH, HEIGHT = 480, 360
LEFT, RIGHT, TOP, BOTTOM = 50, 46, 40, 110
PALETTE = ("#00796b", "#ef6c00", "#3949ab", "#c62828", "#6d4c41", "#00838f", "#7cb342", "#8e24aa")


def _frame(title: str, body: list[str]) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="14">'
        f"<title>{escape(title)}</title>"
        + _label(8, 22, title, anchor="start", size=16, weight="bold")
        + "".join(body)
        + "</svg>"
    )


def _label(
    x: float,
    y: float,
    text: str,
    anchor: str = "middle",
    size: int = 14,
    weight: str = "",
    rotate: int = 0,
) -> str:
    extra = f' font-weight="{weight}"' if weight else ""
    if rotate:
        extra += f' transform="rotate({rotate} {x:.1f} {y:.1f})"'
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}"{extra}>{escape(text)}</text>'


def pareto(rows: list[dict], title: str = "投诉类别排列图") -> str:
    """Bars of counts (most frequent first) with the cumulative percentage as a line."""
    if not rows:
        return _frame(title, [_label(WIDTH / 2, HEIGHT / 2, "本期没有数据")])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = max(r["count"] for r in rows)
    step = plot_w / len(rows)
    body = [
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#888"/>'
    ]
    points = []
    for i, r in enumerate(rows):
        h = r["count"] / top * plot_h
        x = LEFT + i * step + step * 0.15
        body.append(f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" fill="{PALETTE[0]}">'
                    f'<title>{escape(r["category"])}：{r["count"]} 件</title></rect>')  # fmt: skip
        body.append(_label(x + step * 0.35, TOP + plot_h - h - 4, str(r["count"])))
        body.append(
            _label(
                x + step * 0.35 + 4,
                TOP + plot_h + 14,
                r["category"],
                anchor="end",
                size=13,
                rotate=-35,
            )
        )
        points.append((LEFT + (i + 0.5) * step, TOP + plot_h - r["cumulative"] / 100 * plot_h))
    body.append('<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
        PALETTE[1], " ".join(f"{x:.1f},{y:.1f}" for x, y in points)))  # fmt: skip
    for (x, y), r in zip(points, rows, strict=True):
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{PALETTE[1]}"/>')
        body.append(_label(x, y - 7, f"{r['cumulative']:g}%", size=11))
    eighty = TOP + plot_h * 0.2
    body.append(
        f'<line x1="{LEFT}" y1="{eighty:.1f}" x2="{LEFT + plot_w}" y2="{eighty:.1f}" stroke="{PALETTE[1]}" stroke-dasharray="4 3"/>'
    )
    body.append(_label(LEFT + plot_w + 4, eighty + 4, "80%", anchor="start", size=12))
    body.append(_label(WIDTH - 8, 22, "柱：件数 折线：累计%", anchor="end", size=12))
    return _frame(title, body)


def lines(categories: list[str], series: dict[str, list[float | None]], title: str, target: float | None = None,
          low: float | None = None, high: float | None = None, unit: str = "") -> str:  # fmt: skip
    """One line per series over ``categories`` (months); gaps where a value is missing."""
    values = [v for vals in series.values() for v in vals if v is not None]
    if not values:
        return _frame(title, [_label(WIDTH / 2, HEIGHT / 2, "本期没有数据")])
    bounds = [*values, *([target] if target is not None else [])]
    # Axes start and end at round values, so that a 1-point wobble is not drawn as a cliff.
    low = max(0.0, (min(bounds) - 5) // 10 * 10) if low is None else low
    high = max(bounds) if high is None else high
    if high == low:
        high, low = high + 1, low - 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(categories) - 1)

    def y(v: float) -> float:
        return TOP + plot_h - (v - low) / (high - low) * plot_h

    body = [
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#888"/>'
    ]
    for tick in (low, (low + high) / 2, high):
        body.append(_label(LEFT - 6, y(tick) + 4, f"{tick:g}{unit}", anchor="end", size=12))
        body.append(
            f'<line x1="{LEFT}" y1="{y(tick):.1f}" x2="{LEFT + plot_w}" y2="{y(tick):.1f}" stroke="#e0e0e0"/>'
        )
    for i, c in enumerate(categories):
        body.append(
            _label(LEFT + i * step + 4, TOP + plot_h + 14, c, anchor="end", size=12, rotate=-35)
        )
    if target is not None:
        body.append(
            f'<line x1="{LEFT}" y1="{y(target):.1f}" x2="{LEFT + plot_w}" y2="{y(target):.1f}" stroke="{PALETTE[3]}" stroke-dasharray="5 4"/>'
        )
        body.append(
            _label(WIDTH - 4, y(target) - 5, f"目标 {target:g}{unit}", anchor="end", size=12)
        )
    for n, (name, vals) in enumerate(series.items()):
        colour = PALETTE[n % len(PALETTE)]
        segment: list[str] = []
        for i, v in enumerate(vals + [None]):
            if v is None:
                if len(segment) > 1:
                    body.append(
                        f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(segment)}"/>'
                    )
                segment = []
                continue
            segment.append(f"{LEFT + i * step:.1f},{y(v):.1f}")
            body.append(
                f'<circle cx="{LEFT + i * step:.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"><title>{escape(name)} {escape(categories[i])}\uff1a{v:g}{unit}</title></circle>'
            )
        if len(series) > 1:
            legend_x = 8 + (n % 2) * (WIDTH / 2)
            legend_y = HEIGHT - 30 + (n // 2) * 18
            body.append(
                f'<rect x="{legend_x:.1f}" y="{legend_y - 10:.1f}" width="12" height="12" fill="{colour}"/>'
            )
            body.append(_label(legend_x + 16, legend_y, name, anchor="start", size=13))
    return _frame(title, body)


def bars(labels: list[str], values: list[float | None], title: str, unit: str = "",
         high: float | None = None, target: float | None = None) -> str:  # fmt: skip
    """One bar per label (管理处); a missing value is written as 无数据 instead of a bar."""
    known = [v for v in values if v is not None]
    if not known:
        return _frame(title, [_label(WIDTH / 2, HEIGHT / 2, "本期没有数据")])
    high = max([*known, *([target] if target is not None else [])]) if high is None else high
    high = high or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / len(labels)
    body = [
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#888"/>'
    ]
    for tick in (0, high / 2, high):
        y = TOP + plot_h - tick / high * plot_h
        body.append(_label(LEFT - 6, y + 4, f"{tick:g}{unit}", anchor="end", size=12))
        body.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#e0e0e0"/>'
        )
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        x = LEFT + i * step + step * 0.2
        centre = x + step * 0.3
        if v is None:
            body.append(_label(centre, TOP + plot_h - 6, "无数据", size=12))
        else:
            h = v / high * plot_h
            body.append(f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{step * 0.6:.1f}" height="{h:.1f}" '
                        f'fill="{PALETTE[0]}"><title>{escape(label)}\uff1a{v:g}{unit}</title></rect>')  # fmt: skip
            body.append(_label(centre, TOP + plot_h - h - 5, f"{v:g}{unit}", size=13))
        body.append(_label(centre + 4, TOP + plot_h + 14, label, anchor="end", size=13, rotate=-35))
    if target is not None:
        y = TOP + plot_h - target / high * plot_h
        body.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="{PALETTE[3]}" '
                    'stroke-dasharray="5 4"/>')  # fmt: skip
        body.append(_label(WIDTH - 4, y - 5, f"目标 {target:g}{unit}", anchor="end", size=12))
    return _frame(title, body)
