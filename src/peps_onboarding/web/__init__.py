"""Reference screens (W1–W5): the seeds' pages as one ASGI application, server-rendered,
in French, usable without JavaScript. Needs the ``web`` extra::

    from peps_onboarding.web import WebSettings, create_app

    screens = create_app(platform, WebSettings(secret_key=os.environ["PEPS_WEB_SECRET"]))
"""

from .app import create_app
from .settings import WebSettings

__all__ = ["WebSettings", "create_app"]
