"""``make demo``: both registration paths and what follows, in French only, with the
files it wrote listed at the end."""

from __future__ import annotations

import enum
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import peps_onboarding
from peps_onboarding.domain.events import ALL_EVENTS, Actor
from peps_onboarding.entrypoints.demo import run_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, int, int]:
    folder = tmp_path_factory.mktemp("demo")
    lines: list[str] = []
    world = run_demo(lines.append, files=folder)
    return "\n".join(lines), folder, len(world.mailer.sent), len(world.letters.sent)


def _english_codes() -> set[str]:
    """Every code a person must never read: the project's enum values and names, event
    kinds, the actor roles."""
    codes: set[str] = {event.kind for event in ALL_EVENTS}
    codes |= {Actor.SYSTEM, Actor.ANONYMOUS, Actor.LEGAL_REPRESENTATIVE}
    for info in pkgutil.walk_packages(peps_onboarding.__path__, "peps_onboarding."):
        if ".testing" in info.name or ".entrypoints" in info.name or ".sql" in info.name:
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, enum.Enum):
                for member in value:
                    codes.add(member.name.lower())
                    if isinstance(member.value, str):
                        codes.add(member.value)
    # French words that are also codes, written as such on purpose
    return {code for code in codes if re.fullmatch(r"[a-z_]{3,}", code)} - {"madame"}


@pytest.mark.rule(
    "C1", "C3", "C5", "C7", "C8", "C9", "N3", "N4", "A4", "A5", "A6", "A7", "R5", "R6", "R8"
)
def test_the_demo_walks_every_step_of_both_seeds_in_their_words(
    demo: tuple[str, Path, int, int],
) -> None:
    """Each step a person of the seeds goes through appears, with the screen's words."""
    text = demo[0]
    for expected in (
        # step 1: the security check, renewed and in its sound version
        "Contrôle de sécurité : Cliquer sur l'image Trombone",
        "« Renouveler le contrôle de sécurité » : Cliquer sur l'image Ciseaux",
        "Version sonore",
        "Le contrôle de sécurité n'est pas valide. Veuillez recommencer.",
        "Votre établissement n'est pas inscrit",
        # steps 2 and 3, the e-mail and the letter
        "Votre identifiant de connexion est JDU000001.",
        "à lire à voix haute : J, D, U, zéro",
        "« Vous pouvez créer votre mot de passe »",
        "Madame Christine Lefèvre",
        "code de désinscription",
        # « Vous en envoyer un nouveau »
        "Votre établissement est en cours d'inscription",
        "« Vous en envoyer un nouveau » → « Un nouveau courriel vous a été envoyé",
        "Ce lien n'est plus valide",
        # password, day J
        "Votre mot de passe respecte toutes les règles de sécurité.",
        "Votre mot de passe a bien été créé.",
        "« Vous pouvez maintenant accéder à la plateforme »",
        # Net-Entreprises user, administrator creating a user, rights
        "« Un nouveau compte utilisateur a été créé pour votre établissement »",
        "L'administratrice crée un compte utilisateur",
        "« Remboursements FMIS » : Modification",
        "Votre établissement n'a qu'un seul administrateur",
        # « Mes intervenants » for a user
        "Administratrice : Madame Jeanne Dupont — Ressources humaines — "
        "jeanne.dupont@saint-aubin.example — 05 56 11 41 23",
        "Madame Petit tente de s'accorder « Remboursements FMIS » → refusé",
        # lockout, forgotten password and identifier
        "Votre compte est bloqué",
        "« Renouvellement de votre mot de passe »",
        "Votre mot de passe a bien été renouvelé et votre compte est débloqué.",
        "« Votre identifiant est SPE000001. Faites une capture d'écran",
        # withdrawal, lapse
        "L'inscription de l'établissement à la Plateforme Employeurs Publics Pep's est annulée",
        "« L'inscription de votre établissement a été annulée »",
        "1 inscription caduque, 1 compte supprimé",
        "L'établissement peut être inscrit à nouveau : oui",
        # the Net-Entreprises administrator path
        "Nous n'avons pas réussi à vous identifier.",
        "au profil Administrateur",
        "Votre compte administrateur PEP's (identifiant MJE000001) est créé",
        # expiry and renewal
        "2 comptes expirés",
        "L'état de votre compte ne permet pas votre connexion.",
        "L'administratrice renouvelle le compte",
        # the history, in words
        "Inscription demandée",
        "Code de désinscription envoyé par courrier au représentant légal",
        "par la plateforme",
    ):
        assert expected in text, expected


def test_the_demo_speaks_french_only(demo: tuple[str, Path, int, int]) -> None:
    """No code, enum value, Python value or UTC time ever reaches the screen."""
    text = demo[0]
    words = set(re.findall(r"[A-Za-z_]+", text.replace("/", " ")))
    leaked = sorted(words & _english_codes())
    assert not leaked, leaked
    assert not re.search(r"\w+\(\w+=", text), "a Python repr"
    for forbidden in ("None", "True", "False", "UTC", "system", "anonymous"):
        assert not re.search(rf"\b{forbidden}\b", text), forbidden
    assert "heure de Paris" in text


def test_the_demo_ends_with_the_files_it_wrote(demo: tuple[str, Path, int, int]) -> None:
    """Every e-mail and letter of the run is written, and listed by its path to open."""
    text, folder, mails, letters = demo
    written = sorted((folder / "courriels").glob("*.eml")) + sorted(
        (folder / "courriers").glob("*.pdf")
    )
    assert len(written) == mails + letters
    assert letters == 4  # Saint-Aubin, Libourne, the clinic, Les Abymes
    for path in written:
        assert str(path) in text


def test_a_second_run_lists_only_its_own_files(tmp_path: Path) -> None:
    """The folder is the demo's own: a rerun leaves no stale envoi beside the new ones."""
    (tmp_path / "courriers").mkdir()
    (tmp_path / "courriers" / "ancien.pdf").write_bytes(b"%PDF")
    world = run_demo(lambda line: None, files=tmp_path)
    assert not (tmp_path / "courriers" / "ancien.pdf").exists()
    assert len(list((tmp_path / "courriers").glob("*.pdf"))) == len(world.letters.sent)
