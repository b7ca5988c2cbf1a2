"""Ids and cursors as the API accepts them: whole numbers a database column can hold, so an
absurd one is a clear 422, not a database error."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

from walkwithme.api.inputs import WholeNumber

MAX_ID = 2**63 - 1

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Cursor = Annotated[int, Query(ge=0, le=MAX_ID, description="the last id you have seen")]
# A point asked about in the query (`?lat=60.17&lon=24.94`).
Lat = Annotated[float, Query(ge=-90, le=90)]
Lon = Annotated[float, Query(ge=-180, le=180)]
BodyId = Annotated[WholeNumber, Field(ge=1, le=MAX_ID)]
