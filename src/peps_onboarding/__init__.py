"""peps_onboarding: onboarding of French public employers onto PEP's."""
