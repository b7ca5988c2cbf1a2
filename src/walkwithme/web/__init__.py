"""The pages: served by the service itself, beside the API, from the same use cases.

`install(app, services)` mounts them on the API's app: routes, templates, hashed static files,
the service worker and its page for no network, the offline `/docs`, and the security headers
on every answer.
"""

from __future__ import annotations

from fastapi import FastAPI

from walkwithme.services import Services
from walkwithme.web import (
    docs,
    home,
    link_pages,
    lost,
    manage_admin,
    manage_channels,
    manage_contacts,
    manage_offers,
    manage_places,
    manage_rules,
    manage_settings,
    manage_signup,
    map_api,
    offline,
    phone_apps,
    signin,
    walk_pages,
    walk_start,
    walker_pages,
    walker_shares,
)
from walkwithme.web.assets import Assets
from walkwithme.web.render import Pages


def install(app: FastAPI, services: Services) -> None:
    assets = Assets()
    emergency_number = services.config.emergency_number
    app.state.pages = Pages(
        assets, emergency_number=emergency_number, clock_speed=services.clock.speed
    )
    # The link pages first: they answer only browsers, and the API's route takes the rest.
    app.router.routes[0:0] = link_pages.router.routes
    for router in (
        assets.router(),
        offline.router(assets, emergency_number),
        docs.router,
        map_api.router,
        signin.router,
        home.router,
        walk_start.router,
        walker_pages.router,  # before walk_pages: her own walk gets her page
        walker_shares.router,
        walk_pages.router,
        phone_apps.router,
        manage_offers.router,
        manage_contacts.router,
        manage_places.router,
        manage_places.api_router,
        manage_channels.router,
        manage_settings.router,
        manage_rules.router,
        manage_admin.router,
        manage_signup.router,
    ):
        app.include_router(router)
    lost.install(app)


__all__ = ["install"]
