"""Small charts rendered on the server as inline SVG: no script, no CDN, readable in screenshots."""
from markupsafe import Markup, escape

PALETTE = ("#2b7bb9", "#28a745", "#dc3545", "#ffc107", "#6c757d", "#17a2b8", "#6f42c1")


def _fmt(value):
    return f"{value:,.0f}" if isinstance(value, (int, float)) else str(value)


def bars(items, width=560, bar_height=22, label_width=180, chart_id="chart", colour=PALETTE[0]):
    """Horizontal bars: items are (label, value); the value is written at the end of each bar."""
    items = list(items)
    top = max([v for _, v in items] + [1])
    height = len(items) * (bar_height + 8) + 8
    span = width - label_width - 70
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" id="{escape(chart_id)}" role="img" '
             f'viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px">']
    for i, (label, value) in enumerate(items):
        y = 8 + i * (bar_height + 8)
        w = 0 if not value else max(2, span * value / top)
        parts.append(f'<text x="{label_width - 6}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" '
                     f'font-size="13" fill="#333">{escape(label)}</text>')
        parts.append(f'<rect class="bar" x="{label_width}" y="{y}" width="{w:.1f}" height="{bar_height}" '
                     f'fill="{colour}" rx="2"><title>{escape(label)}: {_fmt(value)}</title></rect>')
        parts.append(f'<text x="{label_width + w + 6:.1f}" y="{y + bar_height * 0.7:.1f}" font-size="12" '
                     f'fill="#333">{_fmt(value)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def series(points, width=640, height=220, chart_id="series", kind="line", colour=PALETTE[1], y_label="", top=None):
    """A line (or columns) over evenly spaced points: (x label, value). Labels shown at a few ticks.
    A value of None is a gap (a day without texts has no delivery rate, which is not 0%).
    `top`: the value at the top of the axis (100 for percentages); the largest value by default."""
    points = list(points)
    left, right, top_pad, bottom = 48, 12, 12, 36
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    top = top or max([v for _, v in points if v is not None] + [1])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" id="{escape(chart_id)}" role="img" '
             f'viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px">',
             f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{left + plot_w}" y2="{top_pad + plot_h}" stroke="#999"/>',
             f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{top_pad + plot_h}" stroke="#999"/>',
             f'<text x="{left - 6}" y="{top_pad + 10}" text-anchor="end" font-size="11" fill="#555">{_fmt(top)}</text>',
             f'<text x="{left - 6}" y="{top_pad + plot_h}" text-anchor="end" font-size="11" fill="#555">0</text>']
    if y_label:
        parts.append(f'<text x="{left + 4}" y="{top_pad + 10}" font-size="11" fill="#555">{escape(y_label)}</text>')
    n = len(points)
    if n:
        step = plot_w / max(n, 1)

        def x_of(i):
            return left + step * (i + 0.5)

        def y_of(v):
            return top_pad + plot_h - plot_h * (v / top)

        if kind == "columns":
            for i, (label, value) in enumerate(points):
                if value is None:
                    continue
                h = plot_h * value / top
                parts.append(f'<rect class="bar" x="{x_of(i) - step * 0.35:.1f}" y="{top_pad + plot_h - h:.1f}" '
                             f'width="{step * 0.7:.1f}" height="{h:.1f}" fill="{colour}">'
                             f'<title>{escape(label)}: {_fmt(value)}</title></rect>')
        else:
            runs = [[]]  # the line breaks at each gap
            for i, (_, v) in enumerate(points):
                if v is None:
                    runs.append([])
                else:
                    runs[-1].append(f"{x_of(i):.1f},{y_of(v):.1f}")
            for run in filter(None, runs):
                parts.append(f'<polyline class="line" points="{" ".join(run)}" fill="none" stroke="{colour}" '
                             f'stroke-width="2"/>')
            for i, (label, value) in enumerate(points):
                if value is None:
                    continue
                parts.append(f'<circle cx="{x_of(i):.1f}" cy="{y_of(value):.1f}" r="2.5" fill="{colour}">'
                             f'<title>{escape(label)}: {_fmt(value)}</title></circle>')
        ticks = sorted({0, n // 2, n - 1})
        for i in ticks:
            parts.append(f'<text x="{x_of(i):.1f}" y="{height - 12}" text-anchor="middle" font-size="11" '
                         f'fill="#555">{escape(points[i][0])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
