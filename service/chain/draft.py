"""What a strategy produces before verification: sides and points that cite statement ids, and the
outcome that carries a draft with what the reader should know about how it was made."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..models import Why

Kind = Literal["contradiction", "different_emphasis", "one_side_only"]


class Citation(BaseModel):
    """A statement id, optionally narrowed to an exact substring of that statement."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(description='A statement id such as "S3".')
    span: str = Field("", description="Optional: an exact, contiguous substring of that statement.")


class DraftAccount(BaseModel):
    model_config = ConfigDict(extra="ignore")

    side: str = Field(description="One of the side names.")
    claim: str = Field(description="The side's claim on this point, at most 25 words.")
    citations: list[Citation] = Field(description="The statements that carry the claim.")


class DraftPoint(BaseModel):
    model_config = ConfigDict(extra="ignore")

    topic: str = Field(description="The point, in a few words.")
    kind: Kind
    accounts: list[DraftAccount]


class DraftSide(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(description="The party: a country, government, organisation, group or person.")
    speakers: list[str] = Field(default_factory=list, description="People who speak for it, as named.")


class Draft(BaseModel):
    """Each side's account of the question, point by point, citing statement ids."""

    model_config = ConfigDict(extra="ignore")

    answerable: bool
    reason: str = Field("", description="Why not answerable, or empty.")
    sides: list[DraftSide] = Field(default_factory=list)
    points: list[DraftPoint] = Field(default_factory=list)


@dataclass
class Outcome:
    """A strategy's draft, and what the reader should know about how it was made."""

    draft: Draft
    notes: list[str] = field(default_factory=list)
    partial: bool = False
    why: dict[str, Why] = field(default_factory=dict)  # statement id -> how its speaker and side were found
