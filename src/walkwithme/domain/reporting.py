"""How often a phone app reports, and what to tell the walker about it.

The phone, not the server, decides when it sends a fix (docs/phones.md): OwnTracks
reports often only in its Move mode (outside it, Android pings about every 15 minutes, iOS in
Significant mode may stay silent for long), and Traccar Client 10 sends nothing while she
stands still unless its heartbeat is on. The rules don't bend for a quiet phone (her safety
doesn't depend on her app's settings): instead the walker is told, plainly, how to set the
app for a walk, the app is asked to report often where its protocol allows (OwnTracks'
`setConfiguration`), and everyone sees when it last reported.

Traccar Client comes in three generations, told apart by how they post (ingest/traccar.py):
the old clients have no heartbeat (they send at their interval, standing still or not), so
nothing is said of one; 9.x marks its heartbeats, so it is told to turn the heartbeat on until
one is seen; 10.x's heartbeat carries no marker (seen only when it comes without a position),
so nothing is said of it either: a warning she could never clear would teach her to ignore
the warnings that matter.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class App(StrEnum):
    OWNTRACKS = "owntracks"
    TRACCAR = "traccar"


class Reports(StrEnum):
    OFTEN = "often"  # it reports every few seconds while she walks
    RARELY = "rarely"  # its mode says it reports seldom: checks would ask her for nothing
    UNKNOWN = "unknown"  # its messages don't say


# OwnTracks' monitoring modes, as its `m` field gives them.
OWNTRACKS_MODES = {-1: "quiet", 0: "manual", 1: "significant", 2: "move"}
HEARTBEAT = "heartbeat"  # Traccar Client's heartbeat: it reports while she stands still
# Traccar Client's generations, as its messages show them (its `mode` until a heartbeat is seen).
TRACCAR_LEGACY = "legacy"  # the old clients: no heartbeat setting; they send at their interval
TRACCAR_9 = "9"  # 9.x: marks its heartbeats ("heartbeat": true)
TRACCAR_10 = "10"  # 10.x: its heartbeats carry no marker


@dataclass(frozen=True)
class Client:
    """What a phone's message says of the app that sent it."""

    app: App
    # An OwnTracks mode; for Traccar Client "heartbeat" or its generation; None: not said.
    mode: str | None = None

    @property
    def reports(self) -> Reports:
        if self.app is App.OWNTRACKS:
            if self.mode is None:
                return Reports.UNKNOWN
            return Reports.OFTEN if self.mode == "move" else Reports.RARELY
        if self.mode in (HEARTBEAT, TRACCAR_LEGACY):
            return Reports.OFTEN  # (the old clients send at their interval, even standing still)
        return Reports.UNKNOWN

    @property
    def advice(self) -> str | None:
        """What the walker should do for her walk, in plain words (None: nothing)."""
        if self.reports is Reports.OFTEN:
            return None
        if self.app is App.OWNTRACKS:
            now = f"is in {self.mode.capitalize()} mode" if self.mode else "may not be in Move mode"
            return (
                f"OwnTracks {now}: it may report only every 15 minutes or so. Your "
                "companions would not see you move, and you would be asked if you are OK "
                "whenever it has said nothing for a few minutes. Switch it to Move mode for "
                f"the walk, or let the server do it: {REMOTE_CONFIGURATION}"
            )
        if self.mode == TRACCAR_10:
            return None  # its heartbeat can't be seen: a warning she could never clear
        return (
            "Traccar Client sends nothing while you stand still unless its heartbeat is on: "
            "a pause could ask you if you are OK. For the walk, set in its settings: "
            + TRACCAR_SETTINGS
        )

    def advice_after(self, gap_ms: int | None) -> str | None:
        """Its advice, knowing how far apart its last two messages came (`gap_ms`). Traccar
        Client 10's messages don't say how it is set, but the gap does: at its defaults
        (Distance 75 m, Interval 300 s, no heartbeat) it reports every 5 minutes, and a red
        light on her walk asked her if she was OK, then alarmed her companions (an outside
        review). A gap of hours is a phone switched off, not its interval; a short one, an
        app set for walks (the advice goes once she sets it, at its next messages)."""
        if self.mode != TRACCAR_10 or gap_ms is None:
            return self.advice
        if not SELDOM_FROM_MS <= gap_ms <= SELDOM_UNTIL_MS:
            return self.advice
        minutes = max(2, round(gap_ms / 60_000))
        return (
            f"Traccar Client reported {minutes} minutes apart, and sends nothing while you "
            "stand still unless its heartbeat is on: a pause could ask you if you are OK. "
            "For the walk, set in its settings: " + TRACCAR_SETTINGS
        )

    def after(self, previous: Client | None) -> Client:
        """What is known of the app now: a message that doesn't say its mode (OwnTracks'
        transitions and cards) leaves it as it was, and so does Traccar Client's message
        between heartbeats: a heartbeat once seen is known to be on."""
        if previous is None or previous.app is not self.app:
            return self
        if self.mode is None:
            return previous
        if previous.mode == HEARTBEAT and self.mode in (TRACCAR_9, TRACCAR_10):
            return previous
        return self


# How to let the server switch OwnTracks to Move mode: the apps obey `setConfiguration` only
# with these settings on. Named as the apps' own screens name them (owntracks/ios,
# Base.lproj/Storyboard.storyboard, the Remote Control scene: `cmd` and `remoteConfiguration`,
# both off by default, the latter "Enable configuration to be updated remotely (requires
# remote commands)"; owntracks/android, res/xml/preferences_remote_control.xml: "Remote
# commands" (`cmd`, on by default) and "Remote configuration" (`remoteConfiguration`, off).
REMOTE_CONFIGURATION = (
    "on an iPhone, in OwnTracks' Settings > Remote Control, turn on cmd and "
    'remoteConfiguration ("Enable configuration to be updated remotely"); on Android, in '
    "Preferences > Remote Control, turn on Remote configuration, with Remote commands on."
)

# Traccar Client's settings for a walk, as its screen names them (traccar/traccar-client,
# lib/settings_screen.dart and lib/l10n/app_en.arb): "Interval (seconds)" is shown only with
# the accuracy "Highest" (on Android also with Distance 0); its defaults, Distance 75 m and
# Interval 300 s, report too seldom for a walk; the heartbeat's least is 60 s.
TRACCAR_SETTINGS = (
    'Location accuracy "Highest", then Interval (seconds) 10 (on Android it shows with '
    "Distance 0 too), and Stationary heartbeat (seconds) 60."
)


# Messages this far apart say an app reports too seldom for a walk (the night's silent rule is
# 2 minutes); farther apart than the longest, a phone was off or out of reach, not set so.
SELDOM_FROM_MS = 2 * 60_000
SELDOM_UNTIL_MS = 30 * 60_000

UNKNOWN_MODE = "unknown"  # what we asked it to leave, when it hadn't said


@dataclass(frozen=True)
class Ask:
    mode: str | None  # the OwnTracks mode to ask the app for now (None: ask nothing)
    asked_from: str | None  # the mode to give it back after the walk (None: nothing to give)


def ask_of(client: Client, on_walk: bool, asked_from: str | None, *, held: bool = False) -> Ask:
    """What to ask an OwnTracks app now. During a walk: Move mode, until it is in it (and
    remember what it was in). After the walk: the mode it was in before we asked, once, if
    it is still in Move mode (which costs battery), unless it never said which it was.

    `held`: the walk is over for her devices but live for the people looking for her (the
    silent alarm after her duress PIN): nothing is asked, neither Move mode (a command her
    walk's cover would not send) nor her old mode back, which would slow the positions they
    search with to one every 15 minutes or so. Her old mode is given back once the walk is
    over for everyone."""
    if client.app is not App.OWNTRACKS or held:
        return Ask(None, asked_from)
    if on_walk:
        if client.reports is Reports.OFTEN:
            return Ask(None, asked_from)
        return Ask("move", asked_from or client.mode or UNKNOWN_MODE)
    if asked_from is None:
        return Ask(None, None)
    give_back = client.mode == "move" and asked_from not in (UNKNOWN_MODE, "move")
    return Ask(asked_from if give_back else None, None)


def owntracks_mode_number(mode: str) -> int:
    return {name: number for number, name in OWNTRACKS_MODES.items()}[mode]


def owntracks_mode(m: object) -> str | None:
    if isinstance(m, bool) or not isinstance(m, int | float):
        return None
    return OWNTRACKS_MODES.get(int(m))
