"""The console's server-side charts, parsed as the XML they are: a title, axes with tick labels, a
polyline and a point per value, bars ranked with their values, escaped text, and "no data" said."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from bff.console.charts import bar_chart, line_chart, number, ticks

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    root = ET.fromstring(markup)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    return root


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_a_line_chart_has_its_title_axes_series_and_a_point_per_value():
    root = parse(line_chart(title="浏览量（按小时）", labels=["00时", "01时", "02时"], unit="次",
                            series=[("微信小程序", [3, 12_000, 40]), ("App", [0, 5, 9])]))
    assert root.find(f"{SVG}title").text == "浏览量（按小时）"
    assert root.get("data-series") == "2" and root.get("data-points") == "6"
    assert len(root.findall(f".//{SVG}polyline")) == 2 and len(root.findall(f".//{SVG}circle")) == 6
    assert {"00时", "01时", "02时", "微信小程序", "App", "次", "1万", "1.5万"} <= set(texts(root))  # ticks read as 万
    [y_axis] = [g for g in root.iter(f"{SVG}g") if g.get("class") == "y-axis"]
    assert [t.text for t in y_axis.iter(f"{SVG}text")][:2] == ["0", "5,000"]
    tips = [c.find(f"{SVG}title").text for c in root.iter(f"{SVG}circle")]
    assert "微信小程序 01时：1.2万次" in tips and "App 02时：9次" in tips
    # the highest point touches the top of the plot, zero sits on the x axis
    [wechat, app] = root.findall(f".//{SVG}polyline")
    ys = [float(p.split(",")[1]) for p in wechat.get("points").split()]
    assert min(ys) == pytest.approx(36 + (280 - 36 - 64) * (1 - 12_000 / 15_000), abs=0.1)
    assert float(app.get("points").split()[0].split(",")[1]) == pytest.approx(280 - 64)


def test_many_labels_are_thinned_on_the_axis_but_every_point_is_drawn():
    labels = [f"{n:02d}-01" for n in range(30)]
    root = parse(line_chart(title="t", labels=labels, series=[("s", list(range(30)))]))
    [x_axis] = [g for g in root.iter(f"{SVG}g") if g.get("class") == "x-axis"]
    shown = [t.text for t in x_axis.iter(f"{SVG}text")]
    assert len(shown) <= 12 and shown[-1] == "29-01" and shown[-2] == "26-01"  # counted back from the latest
    assert len(root.findall(f".//{SVG}circle")) == 30


def test_a_bar_chart_ranks_its_bars_and_sums_the_rest():
    items = [(f"部门{n}", n) for n in range(1, 16)]
    root = parse(bar_chart(title="数据交换调用（按部门）", items=items, unit="次", limit=5))
    bars = [g for g in root.iter(f"{SVG}g") if g.get("class") == "bar"]
    assert [b.get("data-name") for b in bars] == ["部门15", "部门14", "部门13", "部门12", "其他"]
    assert root.get("data-bars") == "5"
    widths = [float(b.find(f"{SVG}rect").get("width")) for b in bars]
    assert widths[-1] == max(widths)  # 其他 = 1 + ... + 11 = 66
    assert "66次" in texts(root) and "15次" in texts(root)


def test_long_names_are_shortened_but_kept_whole_in_the_tooltip():
    root = parse(bar_chart(title="t", items=[("浙江省杭州市西湖区市场监督管理局", 3)]))
    assert "浙江省杭州市西湖…" in texts(root)
    assert root.find(f".//{SVG}rect/{SVG}title").text == "浙江省杭州市西湖区市场监督管理局：3"


def test_text_from_data_is_escaped():
    markup = bar_chart(title="<b>", items=[('<script>alert("x")</script>', 2)])
    assert "<script>" not in markup
    root = parse(markup)
    assert root.find(f"{SVG}title").text == "<b>"
    assert parse(line_chart(title="t", labels=["<i>"], series=[("&", [1])])) is not None


@pytest.mark.parametrize("chart", [
    lambda: line_chart(title="空", labels=[], series=[]),
    lambda: line_chart(title="空", labels=["a"], series=[]),
    lambda: bar_chart(title="空", items=[]),
    lambda: bar_chart(title="空", items=[("a", 0)]),
])
def test_no_data_is_said_not_drawn(chart):
    root = parse(chart())
    assert "暂无数据" in texts(root) and not root.findall(f".//{SVG}rect/{SVG}title")


def test_ticks_and_numbers_read_naturally():
    assert ticks(7) == [0, 2, 4, 6, 8] and ticks(0) == [0.0, 1.0] and ticks(3) == [0, 1, 2, 3]
    assert ticks(0.7) == [0, 0.2, 0.4, 0.6, 0.8]
    assert ticks(1, whole=True) == [0, 1] and ticks(3, count=4, whole=True) == [0, 1, 2, 3]
    assert ticks(2.5, whole=True) == [0, 1, 2, 3]
    assert [number(v) for v in (0, 999, 1234, 12_345, 120_000_000, 2.25, 3.0)] == \
        ["0", "999", "1,234", "1.2万", "1.2亿", "2.2", "3"]
