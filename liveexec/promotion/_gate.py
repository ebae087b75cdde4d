"""The promotion gate: a config's runs measured against its ``promotion`` criteria."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import polars as pl

from liveexec.analysis import ParityReport
from liveexec.config import PromotionConfig
from liveexec.runs import RunResult

__all__ = ["Evaluation", "FailedCriterion", "Score", "criteria_table", "evaluate"]


@dataclass(frozen=True)
class FailedCriterion:
    criterion: str
    value: str
    limit: str

    def as_dict(self) -> dict[str, str]:
        return {"criterion": self.criterion, "value": self.value, "limit": self.limit}

    def __str__(self) -> str:
        return f"{self.criterion}: {self.value} (limit {self.limit})"


Outcome = Literal["pass", "fail", "disabled"]


@dataclass(frozen=True)
class Score:
    """One line of the scorecard: a criterion, its limit, the measured value, the outcome."""

    criterion: str
    limit: str
    value: str
    outcome: Outcome

    def as_dict(self) -> dict[str, str]:
        return {
            "criterion": self.criterion,
            "limit": self.limit,
            "value": self.value,
            "outcome": self.outcome,
        }


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, Any]
    criteria: dict[str, Any]
    scorecard: list[Score] = field(default_factory=list)
    # Criteria the config set looser than liveexec's defaults: {criterion, value, default}.
    loosened: list[dict[str, str]] = field(default_factory=list)

    @property
    def failed(self) -> list[FailedCriterion]:
        return [
            FailedCriterion(score.criterion, score.value, score.limit)
            for score in self.scorecard
            if score.outcome == "fail"
        ]

    @property
    def passed(self) -> bool:
        return not self.failed

    @property
    def warnings(self) -> list[str]:
        """A sentence per criterion the config disabled or loosened."""
        return [
            f"promotion.{item['criterion']} is "
            + ("disabled" if item["value"] in ("null", "false") else f"loosened to {item['value']}")
            + f" (default {item['default']})"
            for item in self.loosened
        ]


def _text(value: object) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "true" if value else "false"
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
        "risk_denials": result.risk_denials,
        "rejections": _count(result, "REJECTED"),
        "currency": result.currency,
    }


class _Card:
    def __init__(self) -> None:
        self.lines: list[Score] = []

    def check(self, criterion: str, value: object, limit: str, ok: bool) -> None:
        self.lines.append(Score(criterion, limit, _text(value), "pass" if ok else "fail"))

    def disabled(self, criterion: str, value: object) -> None:
        self.lines.append(Score(criterion, "disabled", _text(value), "disabled"))


def _check_run(name: str, metrics: dict[str, Any], criteria: PromotionConfig, card: _Card) -> None:
    card.check(f"{name}.status", metrics["status"], "completed", metrics["status"] == "completed")
    trades = metrics["trades"] or 0
    card.check(
        f"{name}.min_trades",
        metrics["trades"],
        f">= {criteria.min_trades}",
        trades >= criteria.min_trades,
    )
    sharpe = metrics["sharpe"]
    if criteria.min_sharpe is None:
        card.disabled(f"{name}.min_sharpe", sharpe)
    else:
        card.check(
            f"{name}.min_sharpe",
            sharpe,
            f">= {criteria.min_sharpe}",
            sharpe is not None and sharpe >= criteria.min_sharpe,
        )
    drawdown = metrics["max_drawdown"]
    depth = None if drawdown is None else -drawdown
    if criteria.max_drawdown is None:
        card.disabled(f"{name}.max_drawdown", depth)
    else:
        card.check(
            f"{name}.max_drawdown",
            depth,
            f"<= {criteria.max_drawdown}",
            depth is not None and depth <= float(criteria.max_drawdown),
        )
    total = metrics["total_return"]
    if criteria.min_total_return is None:
        card.disabled(f"{name}.min_total_return", total)
    else:
        card.check(
            f"{name}.min_total_return",
            total,
            f">= {criteria.min_total_return}",
            total is not None and total >= criteria.min_total_return,
        )
    card.check(
        f"{name}.max_risk_denials",
        metrics["risk_denials"],
        f"<= {criteria.max_risk_denials}",
        metrics["risk_denials"] <= criteria.max_risk_denials,
    )
    card.check(
        f"{name}.max_rejections",
        metrics["rejections"],
        f"<= {criteria.max_rejections}",
        metrics["rejections"] <= criteria.max_rejections,
    )


def evaluate(
    criteria: PromotionConfig,
    backtest: RunResult,
    paper: RunResult | None = None,
    parity: ParityReport | None = None,
) -> Evaluation:
    """Every criterion of ``criteria`` checked on the backtest (and the paper run and its
    parity with the backtest): a scorecard line per criterion with its limit and value."""
    card = _Card()
    metrics: dict[str, Any] = {"backtest": _run_metrics(backtest)}
    card.check("backtest.mode", backtest.mode, "backtest", backtest.mode == "backtest")
    _check_run("backtest", metrics["backtest"], criteria, card)
    if paper is None:
        if criteria.require_paper:
            card.check("require_paper", "no paper run", "a paper run", ok=False)
        else:
            card.disabled("require_paper", "no paper run")
    else:
        metrics["paper"] = _run_metrics(paper)
        card.check("paper.mode", paper.mode, "paper", paper.mode == "paper")
        card.check(
            "paper.config_id",
            paper.config_id,
            backtest.config_id,
            paper.config_id == backtest.config_id,
        )
        _check_run("paper", metrics["paper"], criteria, card)
    if parity is not None:
        metrics["parity"] = {
            "matched_pct": parity.matched_pct,
            "unmatched_backtest": parity.unmatched_a,
            "unmatched_paper": parity.unmatched_b,
            "max_fill_px_diff_ticks": parity.max_fill_px_diff_ticks,
            "pnl_diff": _text(parity.pnl_diff),
        }
        card.check(
            "min_parity_matched_pct",
            f"{parity.matched_pct:.2f}",
            f">= {criteria.min_parity_matched_pct}",
            parity.matched_pct >= criteria.min_parity_matched_pct,
        )
        worst = parity.max_fill_px_diff_ticks or 0.0
        card.check(
            "max_fill_price_diff_ticks",
            worst,
            f"<= {criteria.max_fill_price_diff_ticks}",
            worst <= criteria.max_fill_price_diff_ticks,
        )
        card.check(
            "max_pnl_diff",
            parity.pnl_diff,
            f"<= {criteria.max_pnl_diff}",
            abs(parity.pnl_diff) <= criteria.max_pnl_diff,
        )
    loosened = [
        {
            "criterion": name,
            "value": "null" if value is None else _text(value),
            "default": _text(default),
        }
        for name, value, default in criteria.loosened()
    ]
    metrics["scorecard"] = [score.as_dict() for score in card.lines]
    metrics["loosened"] = loosened
    return Evaluation(
        metrics=metrics,
        criteria=criteria.model_dump(mode="json"),
        scorecard=card.lines,
        loosened=loosened,
    )


def criteria_table(criteria: PromotionConfig) -> pl.DataFrame:
    """The criteria as a table: each one's value in this config, liveexec's default, and
    whether the config loosened or disabled it."""
    default = PromotionConfig()
    loosened = {name for name, _value, _default in criteria.loosened()}
    names = list(type(criteria).model_fields)
    return pl.DataFrame(
        {
            "criterion": names,
            "value": [
                "disabled" if getattr(criteria, n) is None else _text(getattr(criteria, n))
                for n in names
            ],
            "default": [_text(getattr(default, n)) for n in names],
            "note": [
                ("DISABLED" if getattr(criteria, n) is None else "loosened")
                if n in loosened
                else ""
                for n in names
            ],
        }
    )
