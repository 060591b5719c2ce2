"""Chinese labels live in wx_member/labels.py only: a dictionary from codes to Chinese words
anywhere else (or a template spelling one out inline) is a second place that can disagree."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from wx_member import labels

ROOT = Path(__file__).resolve().parent.parent
CHINESE = re.compile(r"[\u4e00-\u9fff]")
# '消费' if h.reason == 'payment' else ...: a label table written into a template.
INLINE_LABEL = re.compile(r"'[^']*[\u4e00-\u9fff][^']*' if [\w.\[\]'\"]+ == ")


def _chinese(node: ast.AST | None) -> bool:
    if isinstance(node, ast.Tuple) and node.elts:  # (label, unit)
        node = node.elts[0]
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(
        CHINESE.search(node.value))


def label_dicts(path: Path) -> list[int]:
    """Lines of dict literals whose every value (at least two) is a Chinese label."""
    return [node.lineno for node in ast.walk(ast.parse(path.read_text("utf-8")))
            if isinstance(node, ast.Dict) and len(node.values) >= 2
            and all(_chinese(v) for v in node.values)]


def test_no_module_but_labels_defines_a_chinese_label_dictionary():
    found = [f"{path.relative_to(ROOT)}:{line}"
             for folder in ("wx_member", "handlers") for path in sorted((ROOT / folder).rglob("*.py"))
             if path.name != "labels.py" and "sandbox" not in path.parts
             for line in label_dicts(path)]
    assert found == []


def test_the_scan_finds_a_label_dictionary(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('STATUS = {"available": "可用", "used": "已使用"}\n'
                      'UNITS = {"a": ("积分", "分"), "b": ("储值", "元")}\n'
                      'SAMPLE = {"tier": "普通会员", "points": 10}\n', "utf-8")
    assert label_dicts(sample) == [1, 2]
    assert len(label_dicts(ROOT / "wx_member" / "labels.py")) >= 15


def test_no_template_spells_out_a_label_table():
    found = [f"{path.relative_to(ROOT)}:{n}"
             for path in sorted((ROOT / "wx_member").rglob("*.html"))
             for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
             if INLINE_LABEL.search(line)]
    assert found == []


def test_one_wording_for_coupon_status():
    # The mini-program has always shown 可使用; the console's 可用 was the odd one out.
    assert labels.COUPON_STATUS["available"] == "可使用"
    assert labels.tier_name("gold") == "金卡会员" and labels.tier_name("vip") == "vip"
