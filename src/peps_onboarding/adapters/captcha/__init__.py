"""Security checks (rule C1) with their sound versions (W4), one module per technology:
:mod:`.image_choice` (« Cliquer sur l'image Trombone », in this process) and
:mod:`.captchetat` (the State's CaptchEtat service, over HTTP; needs the ``http`` extra).
Import them from their modules: this package imports nothing, so that the in-memory
check (which shares :mod:`.answers` and :mod:`.store`) stays light.
"""
