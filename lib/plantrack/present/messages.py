"""Chinese and English words for everything a reader sees. Translations are data, not code."""
from __future__ import annotations

LANGS = ("zh", "en")

LABELS = {
    # status words
    "achieved": ("已完成", "Achieved"),
    "not_achieved": ("未完成", "Not achieved"),
    "no_data": ("暂无数据", "No data"),
    "not_comparable": ("无法比较", "Cannot compare"),
    "target_achieved": ("目标已实现", "Target achieved"),
    "on_track": ("进度正常", "On track"),
    "needs_acceleration": ("需要加快", "Needs acceleration"),
    "limited_progress": ("进展有限", "Limited progress"),
    "deterioration": ("出现倒退", "Deterioration"),
    "insufficient_data": ("数据不足", "Insufficient data"),
    # finding kinds and severities
    "rate_mismatch": ("完成率不一致", "Completion rate disagrees"),
    "target_mismatch": ("目标值不一致", "Target differs between sources"),
    "wording_change": ("指标口径变化", "Wording or definition changes"),
    "currency_mismatch": ("币种不一致", "Currency differs"),
    "unit_mismatch": ("单位不一致", "Unit differs"),
    "implausible_jump": ("数值跳变", "Implausible jump"),
    "implausible_magnitude": ("量级可疑", "Implausible magnitude"),
    "error": ("错误", "Error"),
    "warning": ("警示", "Warning"),
    "info": ("提示", "Note"),
    # table columns and headings
    "indicator": ("指标", "Indicator"),
    "sector": ("领域", "Sector"),
    "target_year": ("目标年份", "Target year"),
    "target": ("目标", "Target"),
    "actual": ("实际", "Actual"),
    "computed_rate": ("计算完成率", "Computed rate"),
    "reported_rate": ("报告完成率", "Reported rate"),
    "status": ("状态", "Status"),
    "trajectory": ("趋势判断", "Trajectory"),
    "source": ("来源", "Source"),
    "quote": ("原文", "Quoted sentence"),
    "year": ("年份", "Year"),
    "value": ("数值", "Value"),
    "findings": ("数据质量问题", "Data-quality findings"),
    "finding": ("问题", "Finding"),
    "severity": ("级别", "Severity"),
    "message": ("说明", "Message"),
    "achievement": ("完成率（%）", "Achievement (%)"),
    "count": ("数量", "Count"),
    "targets_heading": ("目标完成情况", "Targets and results"),
    "monitoring_heading": ("监测指标（无目标）", "Monitoring indicators (no target)"),
    "tasks_heading": ("重点任务与评估证据", "Key tasks and the evaluation's evidence"),
    "plan_words": ("计划原文", "The plan's own words"),
    "evidence": ("评估报告所述", "What the evaluation reports"),
    "departments": ("责任单位", "Responsible departments"),
    "no_targets": ("该领域没有量化目标。", "This sector has no numeric target."),
    "no_findings": ("未发现数据质量问题。", "No data-quality findings."),
    "no_evidence": ("评估报告未提及。", "The evaluation does not mention it."),
    "achievement_title": ("各目标完成率（100% 为目标线）", "Achievement of each target (100% line = target)"),
    "history_title": ("历年数值与目标", "Values over the years, with the target"),
    "counts_title": ("各领域目标完成情况", "Targets by status and sector"),
    "plan": ("规划", "Plan"),
    "broken_plans": ("以下规划文件夹无法读取，未列入：", "These plan folders cannot be read and are left out:"),
    "language": ("语言", "Language"),
    "all": ("全部", "All"),
    "gaps": ("数据缺口（无实际值的目标）", "Data gaps (targets without an actual)"),
    "download_csv": ("下载表格（CSV）", "Download table (CSV)"),
    "download_png": ("下载图表（PNG）", "Download chart (PNG)"),
    "download_svg": ("下载图表（SVG）", "Download chart (SVG)"),
    "indicator_card": ("指标详情", "Indicator details"),
    "pick_indicator": ("选择指标查看详情", "Pick an indicator to see its details"),
    "definition": ("口径说明", "Definition"),
    "method": ("判断方法", "Method"),
    "cagr_observed": ("实际年均增速", "Observed annual growth"),
    "cagr_required": ("所需年均增速", "Required annual growth"),
    "ratio": ("比值", "Ratio"),
    "base_year": ("基期", "Base year"),
    "current_year": ("最新年份", "Latest year"),
    "summary_heading": ("总体情况", "Overview"),
    "report_for": ("领域报告", "Sector report"),
    "generated": ("数据版本", "Data version"),
    "as_of": ("截至", "As of"),
    "error_reader": ("出错了：", "Something went wrong: "),
}

METHOD_TEXT = {
    "zh": ("完成率 = 实际值 ÷ 目标值（排名类为 目标 ÷ 实际）；“左右”允许低于目标10%；"
           "趋势判断采用 open-sdg（加拿大统计局）方法：实际年均增速 ÷ 所需年均增速，"
           "≥0.95 进度正常，≥0.6 需要加快，≥0 进展有限，<0 出现倒退。"),
    "en": ("Achievement = actual ÷ target (target ÷ actual for ranks); 'about' (左右) allows 10% below the target. "
           "Trajectory follows open-sdg (Statistics Canada): observed ÷ required compound annual growth, "
           "≥0.95 on track, ≥0.6 needs acceleration, ≥0 limited progress, <0 deterioration."),
}


def t(key: str, lang: str = "zh") -> str:
    """The label for key in lang ('zh' or 'en'); the key itself when unknown."""
    pair = LABELS.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "zh" else pair[1]


def check_lang(lang: str) -> str:
    from plantrack.errors import DataError
    if lang not in LANGS:
        raise DataError(f"unknown language '{lang}'; allowed: zh, en")
    return lang
