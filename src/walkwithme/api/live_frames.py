"""What a live stream sends (api/live.py): what a read found to send (`Batch`), its frames,
serialized once for the walk whoever follows it, and what it has sent (`Sent`: the walk's
summary last sent, its cursors)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import WebSocket

from walkwithme.store.tx import NewFixes


@dataclass
class Batch:
    walk: dict[str, Any] | None  # the walk's summary, when it was read for this batch
    events: list[dict[str, Any]]
    fixes: list[dict[str, Any]]
    closing: str | None  # why the stream ends after this batch, if it does
    # Until the next check, new fixes may be taken from the bell (up to `until_seq`, the
    # end of the track her own devices see); False: every batch is read (a link's access
    # is decided again at every read).
    from_bell: bool = False
    until_seq: int | None = None
    frames: list[str] | None = None  # `fixes` as sent, when made already (one per fix)
    together: str | None = None  # `fixes` as one "fixes" message, when made already
    # When the viewer's access runs out by the clock (her session), as of this batch's check
    # (None: not checked in this batch, or nothing runs out).
    valid_until: int | None = None


class Sent:
    """What the stream has sent: the walk's summary last sent, and its cursors."""

    def __init__(self, after_event: int, after_fix: int) -> None:
        self.after_event, self.after_fix = after_event, after_fix
        self.walk: dict[str, Any] | None = None

    async def send(self, ws: WebSocket, batch: Batch, together: bool) -> None:
        """The batch: the walk's summary if it changed, its events, its fixes (`together`:
        several in one "fixes" message)."""
        if batch.walk is not None and changed(batch.walk, self.walk):
            await send(ws, {"type": "walk", "walk": batch.walk})
            self.walk = batch.walk
        for event in batch.events:
            await send(ws, {"type": "event", "event": event})
            self.after_event = event["id"]
        if together and len(batch.fixes) > 1:
            await send_text(ws, batch.together or fixes_frame(batch.fixes))
            self.after_fix = batch.fixes[-1]["id"]
            return
        frames = batch.frames
        for index, fix in enumerate(batch.fixes):
            await send_text(ws, frames[index] if frames else fix_frame(fix))
            self.after_fix = fix["id"]


def frames_of(added: NewFixes) -> list[str]:
    """The handed-over fixes as sent: serialized once for the walk, whoever follows it."""
    if len(added.frames) != len(added.shown):
        added.frames[:] = [fix_frame(fix) for fix in added.shown]
    return added.frames


def together_frame(added: NewFixes) -> str:
    """The handed-over fixes as one message, serialized once for the walk."""
    if not added.together:
        added.together.append(fixes_frame(added.shown))
    return added.together[0]


def fix_frame(fix: dict[str, Any]) -> str:
    return orjson.dumps({"type": "fix", "fix": fix}).decode()


def fixes_frame(fixes: list[dict[str, Any]]) -> str:
    return orjson.dumps({"type": "fixes", "fixes": fixes}).decode()


def changed(walk: dict[str, Any], before: dict[str, Any] | None) -> bool:
    """A new summary is worth sending when more than the last position changed: companions
    get every position as a fix already."""
    if before is None:
        return True
    return {k: v for k, v in walk.items() if k != "last_position"} != {
        k: v for k, v in before.items() if k != "last_position"
    }


async def send(ws: WebSocket, message: dict[str, Any]) -> None:
    await send_text(ws, orjson.dumps(message).decode())


async def send_text(ws: WebSocket, text: str) -> None:
    await ws.send_text(text)
