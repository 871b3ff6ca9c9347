"""Where the platform sends people: the paths of the links its e-mails and letters carry."""

from __future__ import annotations

from attrs import Attribute, field, frozen

from ..domain.links import LinkPurpose

__all__ = ["LinkPaths"]


def _link_path(instance: object, attribute: Attribute[str], value: str) -> None:
    # A path under ``base_url``: nothing a person could be sent elsewhere with.
    if not (
        isinstance(value, str)
        and value.startswith("/")
        and not value.startswith("//")
        and value.isascii()
        and value.isprintable()
        and not any(c in value for c in "?#\\ ")
    ):
        raise ValueError(f"{attribute.name}: un chemin commençant par « / », reçu {value!r}")


@frozen(kw_only=True)
class LinkPaths:
    """Where the e-mails and the letter send people, under the platform's ``base_url``;
    the reference screens (``peps_onboarding.web``) serve these same paths. A host that
    serves its own pages gives its own."""

    password_creation: str = field(default="/creer-mot-de-passe", validator=_link_path)
    password_reset: str = field(default="/reinitialiser-mot-de-passe", validator=_link_path)
    withdrawal: str = field(default="/desinscription", validator=_link_path)
    login: str = field(default="/connexion", validator=_link_path)

    def of(self, purpose: LinkPurpose) -> str:
        if purpose is LinkPurpose.PASSWORD_CREATION:
            return self.password_creation
        if purpose is LinkPurpose.PASSWORD_RESET:
            return self.password_reset
        return self.withdrawal
