"""Saved planner scenarios and their proposed moves (the planner itself stays pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from territory.sync.tables import PlanMoveRow, PlanProspectRow, ScenarioRow, utc_now

MOVE_STATUSES = ("proposed", "approved", "rejected", "applied")


@dataclass(frozen=True)
class MoveInput:
    """One move to store with a scenario."""

    account_id: str
    from_owner_id: str | None
    to_owner_id: str | None
    reason: str | None = None


@dataclass(frozen=True)
class PlacementInput:
    """One market prospect a scenario places with a rep (not a move: it is not in the CRM)."""

    source: str
    prospect_key: str
    name: str
    to_owner_id: str
    territory_id: str | None = None
    potential: float = 0.0
    workload: float = 0.0


class ScenarioExistsError(ValueError):
    """A scenario with that name is already saved."""


class Scenarios:
    """Save and read planner scenarios."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def save(
        self,
        name: str,
        options: dict[str, Any],
        metrics: dict[str, Any],
        moves: Sequence[MoveInput],
        placements: Sequence[PlacementInput] = (),
    ) -> int:
        """Store a scenario with its moves (status ``proposed``) and prospect placements."""
        with Session(self._engine) as session:
            if session.exec(select(ScenarioRow).where(ScenarioRow.name == name)).first():
                raise ScenarioExistsError(f"scenario {name!r} exists: choose another name")
            scenario = ScenarioRow(
                name=name, options=options, metrics=metrics, created_at=utc_now()
            )
            session.add(scenario)
            session.flush()
            assert scenario.id is not None
            session.add_all(
                PlanMoveRow(scenario_id=scenario.id, **move.__dict__) for move in moves
            )
            session.add_all(PlanProspectRow(scenario_id=scenario.id, **p.__dict__) for p in placements)
            session.commit()
            return scenario.id

    def get(self, name: str) -> tuple[ScenarioRow, list[PlanMoveRow]] | None:
        """The scenario and its moves (by id), or None."""
        with Session(self._engine, expire_on_commit=False) as session:
            scenario = session.exec(select(ScenarioRow).where(ScenarioRow.name == name)).first()
            if scenario is None:
                return None
            moves = session.exec(
                select(PlanMoveRow)
                .where(PlanMoveRow.scenario_id == scenario.id)
                .order_by(col(PlanMoveRow.id))
            ).all()
            return scenario, list(moves)

    def placements(self, name: str) -> list[PlanProspectRow]:
        """The prospects scenario ``name`` placed (empty when it has none or does not exist)."""
        with Session(self._engine, expire_on_commit=False) as session:
            query = (select(PlanProspectRow).join(ScenarioRow, col(ScenarioRow.id) == col(PlanProspectRow.scenario_id))
                     .where(ScenarioRow.name == name).order_by(col(PlanProspectRow.id)))
            return list(session.exec(query).all())

    def names(self) -> list[str]:
        """Saved scenario names, oldest first."""
        with Session(self._engine) as session:
            return list(session.exec(select(ScenarioRow.name).order_by(col(ScenarioRow.id))))

    def set_move_status(self, move_ids: Sequence[int], status: str) -> None:
        """Move moves to ``status`` (proposed, approved, rejected, applied)."""
        if status not in MOVE_STATUSES:
            raise ValueError(f"status must be one of {', '.join(MOVE_STATUSES)}")
        with Session(self._engine) as session:
            for move_id in move_ids:
                move = session.get(PlanMoveRow, move_id)
                if move is None:
                    raise KeyError(f"plan move {move_id} does not exist")
                move.status = status
                session.add(move)
            session.commit()
