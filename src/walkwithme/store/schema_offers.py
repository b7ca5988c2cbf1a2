"""The offers' tables (usecases/offers.py, usecases/offer_mutes.py), on the one metadata:
imported by store/schema.py, where the rest of the code finds them."""

from __future__ import annotations

import sqlalchemy as sa

from walkwithme.store.columns import Id, Ms, metadata
from walkwithme.store.columns import pk as _pk

# Offers (usecases/offers.py): a companion offers to walk someone home. The walker answers;
# a decline may carry a promise, which is reminded to both at its time (`remind_at`, a due
# time the watchdog claims and clears).
offer_series = sa.Table(
    "offer_series",
    metadata,
    _pk(),
    sa.Column("walker_id", Id, sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    sa.Column("offerer_id", Id, sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    sa.Column("days", sa.Integer, nullable=False),  # bit 0: Monday ... bit 6: Sunday
    sa.Column("local_time", sa.String(5), nullable=False),  # "22:00", in the walker's zone
    sa.Column("state", sa.String(16), nullable=False),  # active, stopped
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("stopped_at", Ms),
    sa.Column("stopped_by", Id, sa.ForeignKey("people.id", ondelete="SET NULL")),
    # The next occurrence: when the watchdog makes the next pending offer.
    sa.Column("next_due_at", Ms),
    # Made while she had silenced its maker: never shown or told to her (usecases/offers.py).
    sa.Column("quiet", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_offer_series_walker", "walker_id", "state"),
    sa.Index("ix_offer_series_next_due_at", "next_due_at"),
)

offers = sa.Table(
    "offers",
    metadata,
    _pk(),
    sa.Column("walker_id", Id, sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    sa.Column("offerer_id", Id, sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    sa.Column("series_id", Id, sa.ForeignKey("offer_series.id", ondelete="SET NULL")),
    sa.Column("state", sa.String(16), nullable=False),  # pending, accepted, declined, withdrawn
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("at", Ms, nullable=False),  # when the walk is offered for
    sa.Column("expires_at", Ms, nullable=False),  # a pending offer lapses then
    sa.Column("answered_at", Ms),
    sa.Column("note", sa.String(500)),  # the walker's, with a decline
    sa.Column("promise_at", Ms),  # "tomorrow at 20:00", with a decline
    sa.Column("remind_at", Ms),  # the promise's reminder, until it is sent (then NULL)
    sa.Column("reminded_at", Ms),
    sa.Column("walk_id", Id, sa.ForeignKey("walks.id", ondelete="SET NULL")),
    # Made while she had silenced its maker: never shown or told to her (usecases/offers.py).
    sa.Column("quiet", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_offers_walker", "walker_id", "state"),
    sa.Index("ix_offers_offerer", "offerer_id", "walker_id"),
    sa.Index("ix_offers_remind_at", "remind_at"),
)

# The walker's mutes and blocks of offers, one row per person she muted or blocked.
offer_mutes = sa.Table(
    "offer_mutes",
    metadata,
    sa.Column("walker_id", Id, sa.ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("person_id", Id, sa.ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("kind", sa.String(8), nullable=False),  # mute, block
    sa.Column("until", Ms),  # NULL: for good (a block always)
    sa.Column("created_at", Ms, nullable=False),
)
