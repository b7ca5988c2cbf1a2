"""What a request's fields accept, the same in every request model.

A number is a JSON number: `true` or `"60"` where one is asked is refused (422 naming the
field), as `POST /api/fixes` refuses them, never read as 1 or 60. A yes or no is `true` or
`false`. Text a person types holds no control characters (domain/text.py): a name none at
all, a message or a note tabs and line breaks only.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, Strict
from pydantic_core import PydanticCustomError

from walkwithme.domain.text import as_prose, refusal


def _a_number(value: object) -> object:
    if isinstance(value, bool):
        raise PydanticCustomError("number_type", "must be a number, not true or false")
    if isinstance(value, str | bytes):
        raise PydanticCustomError("number_type", "must be a number, not a string")
    return value


def _a_line(text: str) -> str:
    if (why := refusal(text)) is not None:
        raise PydanticCustomError("text_characters", why)
    return text


def _prose(text: str) -> str:
    if (why := refusal(text, prose=True)) is not None:
        raise PydanticCustomError("text_characters", why)
    return as_prose(text)


Number = Annotated[float, BeforeValidator(_a_number)]
WholeNumber = Annotated[int, BeforeValidator(_a_number)]
YesNo = Annotated[bool, Strict()]
Line = Annotated[str, AfterValidator(_a_line)]  # a name, a label: one line
Prose = Annotated[str, AfterValidator(_prose)]  # a message, a note


class When(BaseModel):
    """A day and a time on the walker's clock (an offer's, a promise's, her next walk's)."""

    day: str = Field(max_length=20, description="today, tomorrow, or YYYY-MM-DD")
    time: str = Field(max_length=10, description="HH:MM, the walker's local time")
