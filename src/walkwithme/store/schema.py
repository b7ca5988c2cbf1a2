"""The tables. Times are epoch milliseconds (BIGINT); secrets are stored only as hashes."""

from __future__ import annotations

import functools

import sqlalchemy as sa

from walkwithme.store.columns import Id as Id
from walkwithme.store.columns import Ms as Ms
from walkwithme.store.columns import metadata as metadata
from walkwithme.store.columns import pk as _pk

# The offers' tables live in a module of their own, on the same metadata; found here too.
from walkwithme.store.schema_offers import offer_mutes as offer_mutes
from walkwithme.store.schema_offers import offer_series as offer_series
from walkwithme.store.schema_offers import offers as offers

people = sa.Table(
    "people",
    metadata,
    _pk(),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("is_operator", sa.Boolean, nullable=False, default=False),
    sa.Column("timezone", sa.String(64), nullable=False, default="UTC"),
    sa.Column("phone", sa.String(40)),
    sa.Column("pace_mps", sa.Float, nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    # Her duress PIN, if she set one in her profile (every walk takes it unless the walk has
    # its own): it works like her PIN while it raises a silent alarm.
    sa.Column("duress_pin_hash", sa.String(200)),
    # Her own settings of the rules' thresholds, as she wrote them (JSON; domain/profiles.py).
    sa.Column("rules", sa.Text),
    # How long her walks' tracks are kept after they end (usecases/retention.py); NULL: the
    # operator's default.
    sa.Column("keep_walks_ms", Ms),
    # She asked for her account to be deleted while her duress PIN's silent alarm went on:
    # it is finished once the alarm is resolved (usecases/deletion.py).
    sa.Column("delete_at", Ms),
    # The operator disabled this person: they can't sign in, their sessions ended and their
    # devices' tokens stop working, until the operator enables them again (usecases/people.py).
    sa.Column("disabled_at", Ms),
)

invites = sa.Table(
    "invites",
    metadata,
    _pk(),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_by", Id, sa.ForeignKey("people.id", ondelete="SET NULL")),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("expires_at", Ms, nullable=False),
    sa.Column("used_by", Id, sa.ForeignKey("people.id", ondelete="SET NULL")),
    sa.Column("used_at", Ms),
)

sessions = sa.Table(
    "sessions",
    metadata,
    _pk(),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("person_id", Id, sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("expires_at", Ms, nullable=False),
)

# Browsers she has signed in on: their sign-ins are counted apart from the account's
# (usecases/known_browsers.py). A hash of each browser's token, as for sessions.
known_browsers = sa.Table(
    "known_browsers",
    metadata,
    _pk(),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("person_id", Id, sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("used_at", Ms, nullable=False),
    sa.Index("known_browsers_person", "person_id"),
)

# Attempts at something worth guessing (signing in), counted per key (an account, an
# address) in fixed windows: in the database, so several processes share the count.
throttles = sa.Table(
    "throttles",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("window_start", Ms, nullable=False),
    sa.Column("hits", sa.Integer, nullable=False),
)

devices = sa.Table(
    "devices",
    metadata,
    _pk(),
    sa.Column("person_id", Id, sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("revoked_at", Ms),
    # Removed by her while her duress PIN's silent alarm holds: gone for her, still heard for
    # the people looking for her, revoked once it is over (usecases/devices.py).
    sa.Column("removed_at", Ms),
    sa.Column("last_seen_at", Ms),
    # How far apart its last two messages came (as last_seen_at is written: at most every
    # 30 s): when, never where (domain/reporting.py, `Client.advice_after`).
    sa.Column("report_gap_ms", Ms),
    # Added to its times: its clock's error, learned (usecases/phone_clocks.py).
    sa.Column("clock_offset_ms", Ms),
    # An SOS held until its clock is known (its time seemed before her walk began).
    sa.Column("held_sos_ms", Ms),
    # What its messages said of the phone app (domain/reporting.py): the app, and its mode.
    sa.Column("app", sa.String(16)),
    # The app it first reported as: only one that began as OwnTracks is given friends.
    sa.Column("first_app", sa.String(16)),
    sa.Column("app_mode", sa.String(16)),
    # The last message it sent that we read but could not use (answered 2xx all the same).
    sa.Column("last_refused_at", Ms),
    sa.Column("last_refusal", sa.String(200)),
    # OwnTracks in MQTT mode: the topic its phone publishes to, bound by the operator.
    sa.Column("owntracks_topic", sa.String(200), unique=True),
    # The OwnTracks mode it was in when a walk asked it for Move mode: given back after.
    sa.Column("asked_from_mode", sa.String(16)),
    # OwnTracks' encryption key (its passphrase), shown once: kept as it is, since the
    # server must decrypt with it (ingest/owntracks_crypto.py). Never listed or exported.
    sa.Column("owntracks_key", sa.String(64)),
    # The walk whose destination its OwnTracks was given as a region (given once a walk).
    sa.Column("region_walk_id", Id),
    # Whether its app last said the phone was on its charger, during which walk (kept only
    # during walks: the timeline says when it starts or stops charging).
    sa.Column("charging", sa.Boolean),
    sa.Column("charging_walk_id", Id),
    # The time of the last SOS taken from it, as the phone said it (its fix's): the same
    # again is the app resending it, not her pressing SOS again.
    sa.Column("sos_at", Ms),
)

contacts = sa.Table(
    "contacts",
    metadata,
    _pk(),
    # The walker who asked, and the person asked to follow her.
    sa.Column("owner_id", Id, sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    sa.Column("member_id", Id, sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
    # Who ended it (NULL: it stands, or ended before migration 0039): see contacts.standing.
    sa.Column("ended_by", Id),
    # When it was accepted (NULL: never): during an alarm, only those accepted before it.
    sa.Column("accepted_at", Ms),
    sa.Index("ix_contacts_owner", "owner_id", "state"),
    sa.Index("ix_contacts_member", "member_id", "state"),
)

places = sa.Table(
    "places",
    metadata,
    _pk(),
    sa.Column("person_id", Id, sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("lon", sa.Float, nullable=False),
    sa.Column("radius_m", sa.Float, nullable=False),
    sa.Column("created_at", Ms, nullable=False),
)

walks = sa.Table(
    "walks",
    metadata,
    _pk(),
    sa.Column("walker_id", Id, sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    # A walk home has a destination; a timer walk ("check on me at 23:30") has none.
    sa.Column("dest_name", sa.String(100)),
    sa.Column("dest_lat", sa.Float),
    sa.Column("dest_lon", sa.Float),
    sa.Column("dest_radius_m", sa.Float),
    sa.Column("pace_mps", sa.Float, nullable=False),
    sa.Column("pin_hash", sa.String(200), nullable=False),
    sa.Column("duress_pin_hash", sa.String(200)),
    # The walker's time zone when she started: night or day is judged by her local time.
    sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
    sa.Column("started_at", Ms, nullable=False),
    sa.Column("expected_at", Ms, nullable=False),
    sa.Column("ended_at", Ms),
    # The newest trusted fix, so a view never has to scan the track.
    sa.Column("last_fix_at", Ms),
    sa.Column("last_lat", sa.Float),
    sa.Column("last_lon", sa.Float),
    sa.Column("last_accuracy_m", sa.Float),
    sa.Column("last_speed_mps", sa.Float),
    sa.Column("last_bearing_deg", sa.Float),
    sa.Column("last_battery_pct", sa.Float),
    # When one of her phones last said it is alive without a position (a heartbeat): it
    # counts against silence (migration 0024).
    sa.Column("heard_at", Ms),
    # The earliest moment the watchdog should look at this walk again.
    sa.Column("next_due_at", Ms),
    # What the watchdog's rules need (domain/rules.py): progress toward the destination...
    sa.Column("progress_m", sa.Float),  # the least distance left seen so far
    sa.Column("progress_at", Ms),  # when the distance left last fell by the tolerance
    sa.Column("away_since", Ms),  # since when it has stayed above the least plus tolerance
    sa.Column("closer_m", sa.Float),  # a fix closer than the least, for the next to confirm
    sa.Column("straight_m", sa.Float),  # the least distance to the door as the crow flies
    sa.Column("behind_m", sa.Float),  # the least left since her last progress
    # The least so far is her first fix's alone, for the next fix to settle.
    sa.Column("first_only", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("door_at", Ms),  # since when she has been at the door
    # Where she has been standing near the door, and since when (JSON; domain/lingering.py):
    # lingering counts from when she stopped moving, not from one noisy fix inside the radius.
    sa.Column("door_still", sa.Text),
    # How far she has walked along her track, and where her pace is measured from (JSON;
    # domain/pace.py), so a walker slower than planned but making progress is given more time.
    sa.Column("walked", sa.Text),
    # ...the "Are you OK?" check waiting for her answer...
    sa.Column("check_reason", sa.String(16)),
    sa.Column("check_asked_at", Ms),
    sa.Column("quiet_until", Ms),
    # The rules that quiet time holds, each until when (NULL: all; migration 0038).
    sa.Column("quiet_rules", sa.String(200)),
    # When her phone was last asked for a fresh position before a check (OwnTracks'
    # reportLocation; domain/fresh_fix.py, migration 0026).
    sa.Column("fix_asked_at", Ms),
    sa.Column("wrong_pins", sa.Integer, nullable=False, server_default="0"),
    # PIN attempts in a row past the first few wait, longer each time: none before this.
    sa.Column("pin_retry_at", Ms),
    # ...the alarm, and the lowest battery level the companions were told of.
    sa.Column("alarm_reason", sa.String(16)),
    sa.Column("alarm_at", Ms),
    sa.Column("battery_notice", sa.Integer),
    # The escalation ladder of an alarm: who has been told so far, and when to climb next.
    sa.Column("escalation_level", sa.Integer),
    sa.Column("escalate_at", Ms),
    # After her duress PIN: what her own devices are shown (the state, and when it ended,
    # as her real PIN would have left it), while the walk itself stays in a silent alarm.
    sa.Column("cover_state", sa.String(16)),
    sa.Column("cover_ended_at", Ms),
    sa.Column("cover_alarm_reason", sa.String(16)),  # the alarm her devices are shown, if any
    # The thresholds it is judged by, fixed when it started (JSON; NULL: the built-in ones).
    sa.Column("profiles", sa.Text),
    # The rules' shadow on what her devices are shown (usecases/judging.py): the check they
    # were asked and its quiet time after an answer, and the ladder of an alarm they are shown.
    sa.Column("cover_check_reason", sa.String(16)),
    sa.Column("cover_check_asked_at", Ms),
    sa.Column("cover_quiet_until", Ms),
    sa.Column("cover_quiet_rules", sa.String(200)),
    sa.Column("cover_alarm_at", Ms),
    sa.Column("cover_escalation_level", sa.Integer),
    sa.Column("cover_escalate_at", Ms),
    # When her duress PIN gave her devices this cover: alerts made before it, her real PIN's
    # walk made too (usecases/cover_channels.py).
    sa.Column("cover_since", Ms),
    # How many fixes the walk's track has numbered so far (fixes.seq).
    sa.Column("fix_seq", Id, nullable=False, server_default="0"),
    # How many share links the walker has made for it so far (share_links.number).
    sa.Column("share_seq", Id, nullable=False, server_default="0"),
    # Moved on by every change of the walk (by `save`, or by a trigger: migration 0028), so
    # that a walk kept in memory between fixes is saved only if nothing changed it since.
    sa.Column("version", Id, nullable=False, server_default="0"),
    # Once her duress PIN ended the walk for her devices (while it goes on in a silent alarm):
    # the last number of its track they see, and its last position then (the `last_*`
    # columns, as JSON): what her real PIN's walk would have kept.
    sa.Column("walker_fix_seq", Id),
    sa.Column("walker_last", sa.JSON),
    # When her devices were shown the walk forgotten while it is kept for its alarm, after her
    # duress PIN (usecases/retention.py, `forget_for_her`).
    sa.Column("walker_forgotten_at", Ms),
    # When the walk is forgotten (its track deleted, its events kept without any position:
    # usecases/retention.py), and when that was done.
    sa.Column("forget_at", Ms),
    sa.Column("forgotten_at", Ms),
    # When her own devices are told it will be: after her duress PIN, what a walk without an
    # alarm would keep (the silent alarm keeps it longer, unseen by whoever holds her phone).
    sa.Column("walker_forget_at", Ms),
    sa.Index("ix_walks_walker_state", "walker_id", "state"),
    sa.Index("ix_walks_next_due_at", "next_due_at"),
    sa.Index("ix_walks_forget_at", "forget_at"),
    # A walk's number is never given again, even after her account and walks are deleted: a
    # webhook receiver keys its records by it (SQLite would reuse the highest; 0048).
    sqlite_autoincrement=True,
)

walk_companions = sa.Table(
    "walk_companions",
    metadata,
    sa.Column("walk_id", Id, sa.ForeignKey("walks.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("person_id", Id, sa.ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    sa.Index("ix_walk_companions_person", "person_id"),
)

# A fix is kept once per walk: its device's fix of one instant (a re-sent one is skipped).
FIX_IDENTITY = ("walk_id", "device_id", "taken_at")

fixes = sa.Table(
    "fixes",
    metadata,
    _pk(),
    sa.Column("walk_id", Id, sa.ForeignKey("walks.id", ondelete="CASCADE"), nullable=False),
    sa.Column("device_id", Id, sa.ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
    sa.Column("taken_at", Ms, nullable=False),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("lon", sa.Float, nullable=False),
    sa.Column("accuracy_m", sa.Float),
    sa.Column("speed_mps", sa.Float),
    sa.Column("bearing_deg", sa.Float),
    sa.Column("altitude_m", sa.Float),
    sa.Column("battery_pct", sa.Float),
    # Why the fix is kept out of the rules and the map ("inaccurate", "jump"), or NULL.
    sa.Column("flag", sa.String(16)),
    sa.Column("received_at", Ms, nullable=False),
    # Its number in the walk's track (`walks.fix_seq` counts them): the `id` clients see and
    # their cursor. A walk's own count, so nothing kept for another walk shows in it.
    sa.Column("seq", Id, nullable=False),
    # Re-sending the same fix is a no-op: a device reports one position per instant, kept
    # once per walk (a fix can be kept for two: her new walk, and one a silent alarm holds open).
    sa.UniqueConstraint(*FIX_IDENTITY, name="uq_fixes_walk_device_taken_at"),
    sa.UniqueConstraint("walk_id", "seq", name="uq_fixes_walk_seq"),
    sa.Index("ix_fixes_walk_taken_at", "walk_id", "taken_at"),
)

events = sa.Table(
    "events",
    metadata,
    _pk(),
    sa.Column("walk_id", Id, sa.ForeignKey("walks.id", ondelete="CASCADE"), nullable=False),
    sa.Column("at", Ms, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    # Who may see it: "all", "walker" or "companions" (see views.py).
    sa.Column("audience", sa.String(16), nullable=False),
    sa.Column("actor_id", Id, sa.ForeignKey("people.id", ondelete="SET NULL")),
    sa.Column("data", sa.JSON, nullable=False),
    # Each side numbers what it may see without gaps, so an event kept from one side (a silent
    # alarm) leaves no trace in the other side's numbering. NULL: not for that side.
    sa.Column("walker_seq", Id),
    sa.Column("companion_seq", Id),
    sa.Index("ix_events_walk_id", "walk_id", "id"),
)

share_links = sa.Table(
    "share_links",
    metadata,
    _pk(),
    sa.Column("walk_id", Id, sa.ForeignKey("walks.id", ondelete="CASCADE"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", Ms, nullable=False),
    # NULL: the link lasts as long as the walk is live (for an alarm's link: the alarm).
    sa.Column("expires_at", Ms),
    sa.Column("revoked_at", Ms),
    # Made by the server for the guardians and the hook of an alarm, not by the walker.
    sa.Column("for_alarm", sa.Boolean, nullable=False, server_default=sa.false()),
    # A link she made: its number among her links for the walk (`walks.share_seq` counts
    # them), the `id` she sees. NULL for an alarm's links: a count of all links would grow
    # with the silent alarm's.
    sa.Column("number", Id),
    # Made from OwnTracks' Tours (usecases/tours.py): the tour's name, and the id the app
    # knows it by. NULL for the links made any other way.
    sa.Column("label", sa.String(100)),
    sa.Column("tour_uuid", sa.String(36)),
    sa.UniqueConstraint("walk_id", "number", name="uq_share_links_walk_number"),
)


# A link in the check's alert that lets the walker answer "I'm OK" with her PIN from any
# browser (a phone app like OwnTracks can't show the question). It shows nothing of the walk.
answer_links = sa.Table(
    "answer_links",
    metadata,
    _pk(),
    sa.Column("walk_id", Id, sa.ForeignKey("walks.id", ondelete="CASCADE"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", Ms, nullable=False),
)


channels = sa.Table(
    "channels",
    metadata,
    _pk(),
    sa.Column("person_id", Id, sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # "webhook" or "apprise"
    sa.Column("label", sa.String(100), nullable=False),
    # The address to send to. Apprise URLs may hold credentials: never logged, never shown back.
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("secret", sa.String(100)),  # signs webhooks (HMAC-SHA256)
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("worked_at", Ms),  # the last delivery that succeeded (a test counts)
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),  # in a row
    sa.Column("broken_at", Ms),
    sa.Column("last_error", sa.String(300)),
    sa.Column("removed_at", Ms),
    # Every alert looks up its recipients' channels, and the notifier the removed ones: with
    # many people, neither may scan the table (benchmarks/watchdog_load.py).
    sa.Index("ix_channels_person_id", "person_id"),
    sa.Index("ix_channels_removed_at", "removed_at"),
)

# After her duress PIN, a channel of one of her contacts as her devices would know it, where
# the silent alarm's own alerts have changed it (usecases/cover_channels.py): its `channels`
# columns' values as her real PIN would have left them. Her channels page and the others'
# read `channels`; what her devices say of who would hear an alarm reads these over it.
cover_channels = sa.Table(
    "cover_channels",
    metadata,
    sa.Column("walker_id", Id, sa.ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("channel_id", Id, sa.ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("worked_at", Ms),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("broken_at", Ms),
    sa.Index("ix_cover_channels_channel_id", "channel_id"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    _pk(),
    sa.Column("walk_id", Id, sa.ForeignKey("walks.id", ondelete="CASCADE")),
    sa.Column("event_id", Id, sa.ForeignKey("events.id", ondelete="CASCADE")),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    # What every channel sends, fixed when the alert is made (the same bytes on every retry).
    sa.Column("payload", sa.JSON, nullable=False),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    _pk(),
    sa.Column("alert_id", Id, sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("person_id", Id, sa.ForeignKey("people.id", ondelete="CASCADE")),
    # NULL with person_id NULL: the operator's emergency hook.
    sa.Column("channel_id", Id, sa.ForeignKey("channels.id", ondelete="CASCADE")),
    sa.Column("state", sa.String(16), nullable=False),  # pending, sent, dead
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", Ms, nullable=False),
    sa.Column("lease_until", Ms),
    sa.Column("last_error", sa.String(300)),
    sa.Column("sent_at", Ms),
    sa.UniqueConstraint("alert_id", "channel_id", name="uq_deliveries_alert_channel"),
    sa.Index("ix_deliveries_due", "state", "next_attempt_at"),
)


@functools.cache
def _insert_returning_id(table: sa.Table) -> sa.Insert:
    return table.insert().returning(table.c.id)


def insert_id(conn: sa.Connection, table: sa.Table, **values: object) -> int:
    """Insert one row and return its new id (RETURNING works on SQLite and PostgreSQL).

    One statement per table, its values passed as parameters: SQLAlchemy then compiles it
    once per set of columns and finds it in its cache by key, instead of building and
    hashing a new statement for every row (the watchdog's alarms insert three rows each)."""
    return int(conn.execute(_insert_returning_id(table), values).scalar_one())


# Who looked at a walk's live data (usecases/looks.py): each opening of a walk by anyone but
# its walker (a companion's page, WebSocket or API read, a share link, an alarm's link) and
# her own exports, for her to see. Kept as long as the walk's track (usecases/retention.py).
looks = sa.Table(
    "looks",
    metadata,
    _pk(),
    sa.Column("walk_id", Id, sa.ForeignKey("walks.id", ondelete="CASCADE"), nullable=False),
    sa.Column("viewer_id", Id, sa.ForeignKey("people.id", ondelete="SET NULL")),
    sa.Column("via", sa.String(16), nullable=False),
    sa.Column("link_number", Id),  # the share link she made it through (`share_links.number`)
    sa.Column("at", Ms, nullable=False),
    sa.Index("ix_looks_walk_id", "walk_id", "at"),
)
