"""``python -m peps_onboarding demo``: the whole journey, in French, on in-memory adapters.

A demonstration by construction: it builds its platform with
:func:`~peps_onboarding.bootstrap.build_in_memory` (nothing leaves the process; with
``files``, copies of the e-mails and letters are written to a folder), so the
production start-up checks of ``build_from_config`` do not apply to it.

A fake clock moves time forward (day J, 15 days, 18 months); a seeded random source
makes every run print the same identifiers and links.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..adapters.clock import FakeClock
from ..adapters.randomness import SeededRandomSource
from ..application.commands import (
    AddressForm,
    ClassicRegistration,
    EstablishmentIdentification,
    HolderForm,
    NetEntreprisesCompletion,
    NetEntreprisesCredentials,
    NetEntreprisesForm,
)
from ..application.results import (
    EstablishmentAlreadyEnrolled,
    EstablishmentNotEnrolled,
    NetEntreprisesSignedIn,
)
from ..bootstrap import InMemoryPlatform, build_in_memory
from ..domain.account import Profile
from ..domain.errors import OnboardingError
from ..domain.notifications import EmailMessage
from ..domain.rights import FMIS_REFUNDS, AccessLevel
from ..ports import EmailRenderer, UnitOfWork
from ..testing.samples import sample_directory
from .worker import sweep_summary

__all__ = ["run_demo"]

COMMUNE = "213 300 635 00017"
HOSPITAL = "26330045100014"


def _html_renderer() -> EmailRenderer | None:
    """The production Jinja2 renderer when its extra is installed, else the plain one."""
    try:
        from ..adapters.jinja_emails import JinjaEmailRenderer
    except ImportError:  # pragma: no cover - the [emails] extra is not installed
        return None
    return JinjaEmailRenderer()


def _write_files(world: InMemoryPlatform, folder: Path, out: Callable[[str], None]) -> None:
    from ..adapters.folder_mailer import FolderMailer
    from ..adapters.pdf_letters import SpoolLetterSender

    mails, letters = FolderMailer(folder / "courriels"), SpoolLetterSender(folder / "courriers")
    for mail in world.mailer.sent:
        mails.send(mail)
    for letter in world.letters.sent:
        letters.send(letter)
    out("")
    out(f"== Où sont partis les envois ? {'=' * 45}")
    out(f"   {len(world.mailer.sent)} courriels (.eml, texte + HTML) dans {folder / 'courriels'}/")
    out(
        f"   {len(world.letters.sent)} courriers (PDF A4 + JSON pour le prestataire d'envoi) "
        f"dans {folder / 'courriers'}/"
    )
    for path in sorted((folder / "courriers").glob("*.pdf")):
        out(f"     {path}")


def _quoted(text: str) -> str:
    return "\n".join(f"     | {line}".rstrip() for line in text.splitlines())


def run_demo(
    out: Callable[[str], None] = print,
    *,
    files: Path | None = None,
    unit_of_work: Callable[[], UnitOfWork] | None = None,
) -> InMemoryPlatform:
    """Prints the journey; with ``files``, also writes every e-mail (``.eml``) and letter
    (PDF + JSON, as a print-and-post provider receives them) under that folder."""
    clock = FakeClock(datetime(2024, 3, 13, 9, 30, tzinfo=UTC))
    world = build_in_memory(
        clock=clock,
        random=SeededRandomSource(2024),
        directory=sample_directory(),
        secret=b"demo-secret-demo-secret-demo-secret!",
        renderer=_html_renderer(),
        unit_of_work=unit_of_work,
    )
    platform = world.platform

    def title(text: str) -> None:
        out("")
        out(f"== {text} " + "=" * max(0, 74 - len(text)))
        out(f"   (date simulée : {clock.now():%d/%m/%Y %H:%M} UTC)")

    def deliver() -> None:
        before_mails, before_letters = len(world.mailer.sent), len(world.letters.sent)
        report = platform.dispatch_notifications()
        out(f"   [distribution] {report.sent} envoi(s), {report.failed} échec(s)")
        for mail in world.mailer.sent[before_mails:]:
            show_mail(mail)
        for letter in world.letters.sent[before_letters:]:
            out(f"   ✉ Courrier postal à {letter.recipient_name}, {letter.recipient_title}")
            out("     " + " / ".join(letter.recipient_address))
            out(_quoted(letter.text))

    def show_mail(mail: EmailMessage) -> None:
        out(f"   @ Courriel à {mail.to} — « {mail.subject} »")
        out(_quoted(mail.text.rstrip()))

    def attempt(label: str, action: Callable[[], object]) -> object:
        try:
            result = action()
        except OnboardingError as error:
            out(f"   {label} → refusé [{error.code}] {error.text}")
            return None
        out(f"   {label} → {result}")
        return result

    address = AddressForm(
        street="6 place des Clémens", postal_code="33160", city="Saint-Aubin-de-Médoc"
    )

    title("Inscription classique — étape 1 : identifier l'établissement")
    step1 = platform.identify_establishment(
        EstablishmentIdentification(
            siret=COMMUNE, contract_number="FM330063", captcha_response="Trombone"
        )
    )
    assert isinstance(step1, EstablishmentNotEnrolled)
    out(
        f"   SIRET {COMMUNE}, contrat FM330063, contrôle « Trombone » → non inscrit : "
        f"{step1.designation}"
    )

    title("Étapes 2 et 3 : le formulaire administrateur, puis l'envoi")
    submitted = platform.register(
        ClassicRegistration(
            proof=step1.proof,  # step 2 acts only on the pair step 1 checked (C10)
            terms_accepted=True,
            holder=HolderForm(
                civility="Madame",
                last_name="Dupont",
                first_name="Jeanne",
                email="jeanne.dupont@saint-aubin.example",
                email_confirmation="jeanne.dupont@saint-aubin.example",
                phone="05 56 11 41 23",
                service_function="Ressources humaines",
                address=address,
            ),
        )
    )
    admin = submitted.identifier
    out(f"   Votre identifiant de connexion : {admin}  (à l'oral : {submitted.identifier_spelled})")
    out(f"   Accès à la plateforme à compter du {submitted.access_from:%d/%m/%Y}")
    deliver()

    title("Création du mot de passe")
    creation_link = world.mailer.to("jeanne.dupont@saint-aubin.example")[0].link_url or ""
    token = creation_link.split("jeton=")[1]
    out(f"   « Motdepasse » : {platform.check_password('Motdepasse').message}")
    created = platform.create_password(token, "Saint-Aubin-2024!", "Saint-Aubin-2024!")
    out(f"   ✓ {created.message}")
    attempt(
        f"Connexion de {admin} avant le jour J", lambda: platform.login(admin, "Saint-Aubin-2024!")
    )

    clock.advance(timedelta(days=8))
    title("Jour J : 8 jours calendaires plus tard, le balayage ouvre l'accès")
    out(f"   Balayage : {sweep_summary(platform.sweep())}")
    deliver()
    login = platform.login(admin, "Saint-Aubin-2024!")
    out(
        f"   Connexion de {admin} → profil {Profile(login.profile).label}, "
        f"expiration {login.expires_at:%d/%m/%Y}"
    )

    title("Un agent rejoint l'établissement avec ses identifiants Net-Entreprises")
    world.net_entreprises.register(
        siret="21330063500017", last_name="Martin", first_name="Paul", password="NE-secret-42"
    )
    signed = platform.sign_in_with_net_entreprises(
        NetEntreprisesCredentials(
            siret=COMMUNE, last_name="Martin", first_name="Paul", password="NE-secret-42"
        )
    )
    assert isinstance(signed, NetEntreprisesSignedIn)
    out(
        "   Identifié par Net-Entreprises ; compte à créer : profil "
        f"{Profile(signed.profile).label}"
    )
    joined = platform.complete_net_entreprises(
        NetEntreprisesCompletion(
            ticket=signed.ticket,
            form=NetEntreprisesForm(
                civility="Monsieur",
                email="paul.martin@saint-aubin.example",
                email_confirmation="paul.martin@saint-aubin.example",
                phone="05 56 11 41 24",
                service_function="Finances",
                address=address,
                terms_accepted=True,
            ),
        )
    )
    out(
        f"   Compte créé : {joined.identifier} ({Profile(joined.profile).label}), "
        "utilisable tout de suite"
    )
    deliver()

    title("L'administratrice accorde « Remboursements FMIS » en modification")
    platform.set_right(admin, joined.identifier, FMIS_REFUNDS.code, AccessLevel.MODIFY)
    members = platform.list_members(admin)
    out("   Nom | Prénom | N-E | Identifiant | Service | Profil | Statut | Expiration | Connexion")
    for row in members.members:
        last = f"{row.last_login_at:%d/%m/%Y}" if row.last_login_at else "-"
        expires = f"{row.expires_on:%d/%m/%Y}" if row.expires_on else "-"
        out(
            f"   {row.last_name} | {row.first_name} | {'oui' if row.net_entreprises else 'non'} | "
            f"{row.identifier} | {row.service} | {row.profile} | {row.status} | {expires} | {last}"
        )
    if members.warning:
        out(f"   ⚠ {members.warning}")
    step1_again = platform.identify_establishment(
        EstablishmentIdentification(
            siret=COMMUNE, contract_number="FM330063", captcha_response="trombone"
        )
    )
    assert isinstance(step1_again, EstablishmentAlreadyEnrolled)
    out(
        f"   Étape 1 à nouveau : {step1_again.message} "
        f"Administrateurs : {', '.join(step1_again.administrators)}"
    )

    title("Trois échecs de connexion bloquent le compte ; « Mot de passe oublié » le débloque")
    for attempt_number in range(1, 4):
        attempt(
            f"Essai {attempt_number} avec un mauvais mot de passe",
            lambda: platform.login(admin, "mauvais"),
        )
    out(f"   Mot de passe oublié : {platform.request_password_reset(admin).message}")
    deliver()
    reset_link = world.mailer.to("jeanne.dupont@saint-aubin.example")[-1].link_url or ""
    done = platform.reset_password(reset_link.split("jeton=")[1], "Nouveau-2024!", "Nouveau-2024!")
    out(
        f"   Réinitialisation → nouveau mot de passe pour {done.identifier}"
        + (", compte débloqué" if done.unblocked else "")
    )
    attempt(
        "Connexion avec le nouveau mot de passe",
        lambda: platform.login(admin, "Nouveau-2024!").identifier,
    )

    title("Un lien de création jamais utilisé : 15 jours après, le balayage nettoie")
    hospital = platform.identify_establishment(
        EstablishmentIdentification(
            siret=HOSPITAL, contract_number="FM330045", captcha_response="trombone"
        )
    )
    pending = platform.register(
        ClassicRegistration(
            proof=hospital.proof,
            terms_accepted=True,
            holder=HolderForm(
                civility="Monsieur",
                last_name="Bernard",
                first_name="Luc",
                email="luc.bernard@ch-libourne.example",
                email_confirmation="luc.bernard@ch-libourne.example",
                phone="05 57 55 34 34",
                service_function="Direction des affaires financières",
                address=AddressForm(
                    street="112 rue de la Marne", postal_code="33500", city="Libourne"
                ),
            ),
        )
    )
    out(f"   Centre hospitalier de Libourne : inscription de {pending.identifier}, en attente")
    platform.dispatch_notifications()
    clock.advance(timedelta(days=15, minutes=1))
    out(
        f"   15 jours plus tard ({clock.now():%d/%m/%Y}), balayage : "
        f"{sweep_summary(platform.sweep())}"
    )
    out(f"   Deuxième balayage (idempotent) : {sweep_summary(platform.sweep())}")
    old_link = world.mailer.to("luc.bernard@ch-libourne.example")[0].link_url or ""
    attempt(
        "Le lien de création expiré",
        lambda: platform.create_password(
            old_link.split("jeton=")[1], "Libourne-2024!", "Libourne-2024!"
        ),
    )
    again = platform.identify_establishment(
        EstablishmentIdentification(
            siret=HOSPITAL, contract_number="FM330045", captcha_response="trombone"
        )
    )
    out(
        "   L'établissement peut être inscrit à nouveau : "
        + ("oui" if isinstance(again, EstablishmentNotEnrolled) else "non")
    )

    if files is not None:
        _write_files(world, files, out)

    title("Historique de l'établissement (règle L1)")
    for event in platform.history(COMMUNE):
        out(
            f"   {event.at:%d/%m/%Y %H:%M} {event.kind:<22} "
            f"compte={event.account} par={event.actor}"
        )
    return world
