"""The ways in from outside: the command line, the background worker, the demo.

Like the web screens, they sit outside the hexagon: they parse arguments, wire adapters
through :mod:`peps_onboarding.bootstrap`, call the use cases and print the results.
"""
