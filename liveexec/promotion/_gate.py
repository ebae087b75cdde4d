"""The promotion gate: a config's runs measured against its ``promotion`` criteria."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from liveexec.analysis import ParityReport
from liveexec.config import PromotionConfig
from liveexec.runs import RunResult

__all__ = ["Evaluation", "FailedCriterion", "evaluate"]


@dataclass(frozen=True)
class FailedCriterion:
    criterion: str
    value: str
    limit: str

    def as_dict(self) -> dict[str, str]:
        return {"criterion": self.criterion, "value": self.value, "limit": self.limit}

    def __str__(self) -> str:
        return f"{self.criterion}: {self.value} (limit {self.limit})"


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, Any]
    criteria: dict[str, Any]
    failed: list[FailedCriterion] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failed


def _text(value: object) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


def _count(result: RunResult, status: str) -> int:
    return int((result.orders.get_column("status") == status).sum()) if result.orders.height else 0


def _run_metrics(result: RunResult) -> dict[str, Any]:
    stats = result.statistics
    return {
        "run_id": result.run_id,
        "mode": result.mode,
        "status": result.status,
        "orders": result.orders.height,
        "fills": result.fills.height,
        "trades": stats.get("trades"),
        "total_pnl": stats.get("total_pnl"),
        "total_return": stats.get("total_return"),
        "sharpe": stats.get("sharpe"),
        "max_drawdown": stats.get("max_drawdown"),
        "fees": stats.get("fees"),
        "risk_denials": _count(result, "DENIED"),
        "rejections": _count(result, "REJECTED"),
        "currency": result.currency,
    }


def _check_run(
    name: str, metrics: dict[str, Any], criteria: PromotionConfig, failed: list[FailedCriterion]
) -> None:
    def fail(criterion: str, value: object, limit: str) -> None:
        failed.append(FailedCriterion(f"{name}.{criterion}", _text(value), limit))

    if metrics["status"] != "completed":
        fail("status", metrics["status"], "completed")
    if (metrics["trades"] or 0) < criteria.min_trades:
        fail("min_trades", metrics["trades"], f">= {criteria.min_trades}")
    if criteria.min_sharpe is not None and (
        metrics["sharpe"] is None or metrics["sharpe"] < criteria.min_sharpe
    ):
        fail("min_sharpe", metrics["sharpe"], f">= {criteria.min_sharpe}")
    if criteria.max_drawdown is not None:
        drawdown = metrics["max_drawdown"]
        if drawdown is None or -drawdown > float(criteria.max_drawdown):
            fail(
                "max_drawdown",
                None if drawdown is None else -drawdown,
                f"<= {criteria.max_drawdown}",
            )
    if criteria.min_total_return is not None and (
        metrics["total_return"] is None or metrics["total_return"] < criteria.min_total_return
    ):
        fail("min_total_return", metrics["total_return"], f">= {criteria.min_total_return}")
    if metrics["risk_denials"] > criteria.max_risk_denials:
        fail("max_risk_denials", metrics["risk_denials"], f"<= {criteria.max_risk_denials}")
    if metrics["rejections"] > criteria.max_rejections:
        fail("max_rejections", metrics["rejections"], f"<= {criteria.max_rejections}")


def evaluate(
    criteria: PromotionConfig,
    backtest: RunResult,
    paper: RunResult | None = None,
    parity: ParityReport | None = None,
) -> Evaluation:
    """Every criterion of ``criteria`` checked on the backtest (and the paper run and its
    parity with the backtest); each failure keeps its value and limit."""
    failed: list[FailedCriterion] = []
    metrics: dict[str, Any] = {"backtest": _run_metrics(backtest)}
    if backtest.mode != "backtest":
        failed.append(FailedCriterion("backtest.mode", backtest.mode, "backtest"))
    _check_run("backtest", metrics["backtest"], criteria, failed)
    if paper is None:
        if criteria.require_paper:
            failed.append(FailedCriterion("require_paper", "no paper run", "a paper run"))
    else:
        metrics["paper"] = _run_metrics(paper)
        if paper.mode != "paper":
            failed.append(FailedCriterion("paper.mode", paper.mode, "paper"))
        if paper.config_id != backtest.config_id:
            failed.append(FailedCriterion("paper.config_id", paper.config_id, backtest.config_id))
        _check_run("paper", metrics["paper"], criteria, failed)
    if parity is not None:
        metrics["parity"] = {
            "matched_pct": parity.matched_pct,
            "unmatched_backtest": parity.unmatched_a,
            "unmatched_paper": parity.unmatched_b,
            "max_fill_px_diff_ticks": parity.max_fill_px_diff_ticks,
            "pnl_diff": _text(parity.pnl_diff),
        }
        if parity.matched_pct < criteria.min_parity_matched_pct:
            failed.append(
                FailedCriterion(
                    "min_parity_matched_pct",
                    f"{parity.matched_pct:.2f}",
                    f">= {criteria.min_parity_matched_pct}",
                )
            )
        worst = parity.max_fill_px_diff_ticks or 0.0
        if worst > criteria.max_fill_price_diff_ticks:
            failed.append(
                FailedCriterion(
                    "max_fill_price_diff_ticks",
                    _text(worst),
                    f"<= {criteria.max_fill_price_diff_ticks}",
                )
            )
        if abs(parity.pnl_diff) > criteria.max_pnl_diff:
            failed.append(
                FailedCriterion(
                    "max_pnl_diff", _text(parity.pnl_diff), f"<= {criteria.max_pnl_diff}"
                )
            )
    return Evaluation(metrics=metrics, criteria=criteria.model_dump(mode="json"), failed=failed)
