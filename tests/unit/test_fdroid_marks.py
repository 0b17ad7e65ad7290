"""The marks `fdroid gate` leaves in F-Droid metadata (gate/integrations/fdroid.py, step 4), on hand-written
decisions: one filing-number line in a description, and an app judged by its worst APK."""

from __future__ import annotations

from gate.integrations.fdroid import ApkDecision, app_verdicts, with_filing_line


def test_the_filing_line_is_added_once_and_replaced_when_the_number_changes():
    assert with_filing_line("", "京ICP备2024000001号-1A") == "APP备案号：京ICP备2024000001号-1A\n"
    text = "A game.\n\nPlays offline.\n"
    once = with_filing_line(text, "京ICP备2024000001号-1A")
    assert once == "A game.\n\nPlays offline.\n\nAPP备案号：京ICP备2024000001号-1A\n"
    assert with_filing_line(once, "京ICP备2024000001号-1A") == once
    assert with_filing_line(once, "沪ICP备2023000002号-2A") == (
        "A game.\n\nPlays offline.\n\nAPP备案号：沪ICP备2023000002号-2A\n")


def _apk(path, package, verdict):
    return ApkDecision(path, {"verdict": verdict, "reasons": [], "package": {"package": package}})


def test_an_app_is_judged_by_its_worst_apk_and_an_apk_without_a_package_name_names_no_app():
    decisions = [_apk("repo/a_1.apk", "cn.a", "allow"), _apk("archive/a_0.apk", "cn.a", "block"),
                 _apk("repo/b_1.apk", "cn.b", "review"), _apk("repo/b_2.apk", "cn.b", "allow"),
                 _apk("repo/broken.apk", None, "block"), _apk("repo/evil.apk", "../../config", "block"),
                 _apk("repo/evil2.apk", "cn.x/../../y", "block")]
    worst = app_verdicts(decisions)
    assert {a: d.path for a, d in worst.items()} == {"cn.a": "archive/a_0.apk", "cn.b": "repo/b_1.apk"}
