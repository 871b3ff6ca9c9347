"""``python -m peps_onboarding demo``: both registration paths and what follows, in
French, on in-memory adapters.

A demonstration by construction: it builds its platform with
:func:`~peps_onboarding.bootstrap.build_in_memory` (nothing leaves the process; with
``files``, copies of the e-mails and letters are written to a folder), so the
production start-up checks of ``build_from_config`` do not apply to it.

A fake clock moves time forward (day J, 15 days, 18 months); a seeded random source
makes every run print the same identifiers and links. Every line says what the screen
would say; no code, English word or Python value is printed.
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
    IdentifierRecovery,
    NetEntreprisesCompletion,
    NetEntreprisesCredentials,
    NetEntreprisesForm,
)
from ..application.history import describe
from ..application.platform import Platform
from ..application.rendering import PARIS
from ..application.results import (
    EstablishmentAlreadyEnrolled,
    EstablishmentNotEnrolled,
    NetEntreprisesSignedIn,
    RegistrationPending,
)
from ..bootstrap import InMemoryPlatform, build_in_memory
from ..domain.errors import OnboardingError
from ..domain.notifications import EmailKind, EmailMessage, Letter
from ..domain.rights import FMIS_REFUNDS, AccessLevel
from ..ports import EmailRenderer, UnitOfWork
from ..testing.samples import sample_directory
from .worker import sweep_summary

__all__ = ["run_demo"]

COMMUNE = "213 300 635 00017"
HOSPITAL = "26330045100014"
CLINIC = "55210055400401"
ABYMES = "21971101700018"
PASSWORD = "Saint-Aubin-2024!"


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

    mail_folder, letter_folder = folder / "courriels", folder / "courriers"
    # each run starts from an empty folder, so the list below is this run's envois only
    for stale in (*mail_folder.glob("*.eml"), *letter_folder.glob("*.pdf")):
        stale.unlink()
    for stale in letter_folder.glob("*.json"):
        stale.unlink()
    mails, letters = FolderMailer(mail_folder), SpoolLetterSender(letter_folder)
    for mail in world.mailer.sent:
        mails.send(mail)
    for letter in world.letters.sent:
        letters.send(letter)
    out("")
    out(f"== Les envois, à ouvrir {'=' * 52}")
    out(f"   {len(world.mailer.sent)} courriels (.eml, texte et HTML) dans {mail_folder}/ :")
    for path in sorted(mail_folder.glob("*.eml")):
        out(f"     {path}")
    out(
        f"   {len(world.letters.sent)} courriers (PDF A4, et JSON pour le prestataire "
        f"d'envoi) dans {letter_folder}/ :"
    )
    for path in sorted(letter_folder.glob("*.pdf")):
        out(f"     {path}")


def _quoted(text: str) -> str:
    return "\n".join(f"     | {line}".rstrip() for line in text.splitlines())


def _holder(
    civility: str,
    first: str,
    last: str,
    email: str,
    phone: str,
    service: str,
    *,
    address: AddressForm,
) -> HolderForm:
    return HolderForm(
        civility=civility,
        last_name=last,
        first_name=first,
        email=email,
        email_confirmation=email,
        phone=phone,
        service_function=service,
        address=address,
    )


def _net_entreprises_form(
    civility: str, email: str, phone: str, service: str, *, address: AddressForm
) -> NetEntreprisesForm:
    """The form after a Net-Entreprises sign-in: nom and prénom come from the sign-in."""
    return NetEntreprisesForm(
        civility=civility,
        email=email,
        email_confirmation=email,
        phone=phone,
        service_function=service,
        address=address,
        terms_accepted=True,
    )


class _Stage:
    """What the demo prints, and how: titles with the simulated Paris time, e-mails
    shown whole the first time their kind appears, letters with their address block."""

    def __init__(self, world: InMemoryPlatform, clock: FakeClock, out: Callable[[str], None]):
        self.world, self.clock, self.out = world, clock, out
        self.platform: Platform = world.platform
        self._seen: set[EmailKind] = set()

    def title(self, text: str) -> None:
        self.out("")
        self.out(f"== {text} " + "=" * max(0, 74 - len(text)))
        now = self.clock.now().astimezone(PARIS)
        self.out(f"   (date simulée : {now:%d/%m/%Y à %H:%M}, heure de Paris)")

    def say(self, text: str) -> None:
        self.out(f"   {text}")

    def deliver(self) -> None:
        mails, letters = len(self.world.mailer.sent), len(self.world.letters.sent)
        self.platform.dispatch_notifications()
        for mail in self.world.mailer.sent[mails:]:
            self._mail(mail)
        for letter in self.world.letters.sent[letters:]:
            self._letter(letter)

    def _mail(self, mail: EmailMessage) -> None:
        self.out(f"   @ Courriel à {mail.to} — « {mail.subject} »")
        if mail.kind in self._seen:
            self.out("     (même modèle que plus haut)")
            return
        self._seen.add(mail.kind)
        self.out(_quoted(mail.text.rstrip()))

    def _letter(self, letter: Letter) -> None:
        self.out("   ✉ Courrier postal (la fenêtre de l'enveloppe, puis la lettre) :")
        self.out(_quoted(letter.text))

    def refused(self, label: str, action: Callable[[], object]) -> None:
        """An attempt the platform refuses: its French message, as the screen shows it."""
        try:
            action()
        except OnboardingError as error:
            self.say(f"{label} → refusé : « {error.text} »")
        else:  # pragma: no cover - the demo's script makes each of these fail
            raise AssertionError(f"{label}: accepted")

    def step_one(self, siret: str, contract: str, answer: str = "trombone") -> object:
        return self.platform.identify_establishment(
            EstablishmentIdentification(
                siret=siret, contract_number=contract, captcha_response=answer
            )
        )

    def link(self, email: str) -> str:
        """The token of the last link e-mailed to ``email`` (what the person clicks)."""
        url = self.world.mailer.to(email)[-1].link_url or ""
        return url.split("jeton=")[1]


def run_demo(
    out: Callable[[str], None] = print,
    *,
    files: Path | None = None,
    unit_of_work: Callable[[], UnitOfWork] | None = None,
) -> InMemoryPlatform:
    """Prints both journeys; with ``files``, also writes every e-mail (``.eml``) and
    letter (PDF + JSON, as a print-and-post provider receives them) under that folder."""
    clock = FakeClock(datetime(2024, 3, 13, 9, 30, tzinfo=UTC))
    world = build_in_memory(
        clock=clock,
        random=SeededRandomSource(2024),
        directory=sample_directory(),
        secret=b"demo-secret-demo-secret-demo-secret!",
        renderer=_html_renderer(),
        unit_of_work=unit_of_work,
    )
    stage = _Stage(world, clock, out)
    _classic_path(stage)
    _first_days(stage)
    _withdrawal_and_lapse(stage)
    _net_entreprises_administrator(stage)
    _eighteen_months_later(stage)
    if files is not None:
        _write_files(world, files, out)
    stage.title("Historique de la commune de Saint-Aubin-de-Médoc (règle L1)")
    for event in stage.platform.history(COMMUNE):
        stage.say(describe(event, stage.platform.policy.services))
    return world


SAINT_AUBIN = AddressForm(
    street="6 place des Clémens", postal_code="33160", city="Saint-Aubin-de-Médoc"
)


def _classic_path(stage: _Stage) -> None:
    platform, captcha = stage.platform, stage.world.captcha
    stage.title("Inscription classique — étape 1 : identifier l'établissement")
    stage.say(f"SIRET : {COMMUNE} ; numéro de contrat FMIS : FM330063")
    stage.say(f"Contrôle de sécurité : {captcha.instruction}")
    stage.say(f"« Renouveler le contrôle de sécurité » : {captcha.renew()}")
    stage.say(captcha.sound_version())
    stage.refused(
        "Réponse « trombone » au contrôle renouvelé",
        lambda: stage.step_one(COMMUNE, "FM330063", "trombone"),
    )
    step1 = stage.step_one(COMMUNE, "FM330063", "ciseaux")
    assert isinstance(step1, EstablishmentNotEnrolled)
    stage.say(f"Réponse « ciseaux » → {step1.designation} : « {step1.message} »")
    captcha.answer = "trombone"  # the demo's later visits see the first image again

    stage.title("Étapes 2 et 3 : le formulaire administrateur, puis l'envoi")
    submitted = platform.register(
        ClassicRegistration(
            proof=step1.proof,  # step 2 acts only on the pair step 1 checked (C10)
            terms_accepted=True,
            holder=_holder(
                "Madame",
                "Jeanne",
                "Dupont",
                "jeanne.dupont@saint-aubin.example",
                "05 56 11 41 23",
                "Ressources humaines",
                address=SAINT_AUBIN,
            ),
        )
    )
    stage.say(f"« {submitted.message} »")
    stage.say(f"(l'identifiant, à lire à voix haute : {submitted.identifier_spelled})")
    stage.deliver()

    stage.title("Le courriel n'est pas arrivé : « Vous en envoyer un nouveau »")
    pending = stage.step_one(COMMUNE, "FM330063")
    assert isinstance(pending, RegistrationPending)
    stage.say(f"Étape 1 à nouveau : « {pending.message} »")
    first_link = stage.link("jeanne.dupont@saint-aubin.example")
    resent = platform.resend_creation_link(pending.proof)
    stage.say(f"« Vous en envoyer un nouveau » → « {resent.message} »")
    stage.deliver()
    stage.refused(
        "Le premier lien",
        lambda: platform.create_password(first_link, PASSWORD, PASSWORD),
    )

    stage.title("Création du mot de passe")
    token = stage.link("jeanne.dupont@saint-aubin.example")
    stage.say(f"« Motdepasse » : {platform.check_password('Motdepasse').message}")
    stage.say(f"« {PASSWORD} » : {platform.check_password(PASSWORD).message}")
    created = platform.create_password(token, PASSWORD, PASSWORD)
    stage.say(f"✓ {created.message}")
    stage.refused(
        f"Connexion de {submitted.identifier} avant le jour J",
        lambda: platform.login(submitted.identifier, PASSWORD),
    )


def _first_days(stage: _Stage) -> None:
    platform, clock = stage.platform, stage.clock
    admin = "JDU000001"
    clock.advance(timedelta(days=8))
    stage.title("Jour J : 8 jours calendaires plus tard, l'accès s'ouvre")
    stage.say(f"Tâche planifiée : {sweep_summary(platform.sweep())}")
    stage.deliver()
    login = platform.login(admin, PASSWORD)
    stage.say(
        f"Connexion de {admin} : profil {login.profile_label}, compte valable "
        f"jusqu'au {login.expires_at.astimezone(PARIS):%d/%m/%Y}"
    )

    stage.title("Un agent rejoint l'établissement avec ses identifiants Net-Entreprises")
    stage.world.net_entreprises.register(
        siret="21330063500017", last_name="Martin", first_name="Paul", password="NE-secret-42"
    )
    signed = platform.sign_in_with_net_entreprises(
        NetEntreprisesCredentials(
            siret=COMMUNE, last_name="Martin", first_name="Paul", password="NE-secret-42"
        )
    )
    assert isinstance(signed, NetEntreprisesSignedIn)
    stage.say(
        f"Net-Entreprises reconnaît Paul Martin ; l'établissement {signed.designation} est "
        "déjà inscrit : "
        f"le formulaire crée un compte au profil {signed.profile_label}"
    )
    joined = platform.complete_net_entreprises(
        NetEntreprisesCompletion(
            ticket=signed.ticket,
            form=_net_entreprises_form(
                "Monsieur",
                "paul.martin@saint-aubin.example",
                "05 56 11 41 24",
                "Finances",
                address=SAINT_AUBIN,
            ),
        )
    )
    stage.say(f"« {joined.message} »")
    stage.deliver()

    stage.title("L'administratrice crée un compte utilisateur")
    user = platform.create_user(
        admin,
        _holder(
            "Madame",
            "Sophie",
            "Petit",
            "sophie.petit@saint-aubin.example",
            "05 56 11 41 25",
            "Comptabilité",
            address=SAINT_AUBIN,
        ),
    )
    stage.say(f"Pour Madame Sophie Petit : « {user.message} »")
    stage.deliver()
    created = platform.create_password(
        stage.link("sophie.petit@saint-aubin.example"), "Compta-2024!", "Compta-2024!"
    )
    stage.say(f"Madame Petit crée son mot de passe : « {created.message} »")
    platform.login(user.identifier, "Compta-2024!")

    stage.title("L'administratrice accorde « Remboursements FMIS » en modification")
    platform.set_right(admin, joined.identifier, FMIS_REFUNDS.code, AccessLevel.MODIFY)
    members = platform.list_members(admin)
    stage.say(
        "Nom | Prénom | N-E | Identifiant | Service | Profil | Statut | Expiration | Connexion"
    )
    for row in members.members:
        last = f"{row.last_login_at.astimezone(PARIS):%d/%m/%Y}" if row.last_login_at else "—"
        expires = f"{row.expires_on:%d/%m/%Y}" if row.expires_on else "—"
        stage.say(
            f"{row.last_name} | {row.first_name} | {'oui' if row.net_entreprises else 'non'} | "
            f"{row.identifier} | {row.service} | {row.profile} | {row.status} | {expires} | "
            f"{last}"
        )
    if members.warning:
        stage.say(f"⚠ {members.warning}")

    stage.title("Madame Petit ouvre « Mon établissement > Mes intervenants »")
    seen = platform.establishment_members(user.identifier)
    stage.say(seen.message)
    for contact in seen.administrators:
        role = "Administratrice" if contact.civility == "Madame" else "Administrateur"
        stage.say(
            f"{role} : {contact.formal_name} — {contact.service} — {contact.email} — "
            f"{contact.phone}"
        )
    stage.say(f"{len(seen.members)} intervenants listés, en lecture seule")
    stage.refused(
        "Madame Petit tente de s'accorder « Remboursements FMIS »",
        lambda: platform.set_right(
            user.identifier, user.identifier, FMIS_REFUNDS.code, AccessLevel.MODIFY
        ),
    )
    stage.title("Quelqu'un d'autre tente d'inscrire la commune")
    again = stage.step_one(COMMUNE, "FM330063")
    assert isinstance(again, EstablishmentAlreadyEnrolled)
    stage.say(f"Étape 1 : « {again.message} » Administrateurs : {', '.join(again.administrators)}")

    stage.title("Trois échecs de connexion bloquent le compte ; « Mot de passe oublié »")
    for number in range(1, 4):
        stage.refused(
            f"Essai {number} avec un mauvais mot de passe",
            lambda: platform.login(admin, "mauvais"),
        )
    stage.say(f"Mot de passe oublié : « {platform.request_password_reset(admin).message} »")
    stage.deliver()
    done = platform.reset_password(
        stage.link("jeanne.dupont@saint-aubin.example"), "Nouveau-2024!", "Nouveau-2024!"
    )
    stage.say(f"Nouveau mot de passe : « {done.message} »")
    platform.login(admin, "Nouveau-2024!")
    stage.say(f"Connexion de {admin} avec le nouveau mot de passe : réussie")

    stage.title("Identifiant oublié")
    recovered = platform.recover_identifier(
        IdentifierRecovery(
            siret=COMMUNE,
            last_name="Petit",
            first_name="Sophie",
            email="sophie.petit@saint-aubin.example",
        )
    )
    stage.say(f"SIRET, nom, prénom et courriel de Madame Petit → « {recovered.message} »")
    stage.refused(
        "Les mêmes avec un autre courriel",
        lambda: platform.recover_identifier(
            IdentifierRecovery(
                siret=COMMUNE,
                last_name="Petit",
                first_name="Sophie",
                email="s.petit@saint-aubin.example",
            )
        ),
    )


def _withdrawal_and_lapse(stage: _Stage) -> None:
    platform, clock = stage.platform, stage.clock
    stage.title("Le représentant légal annule une inscription (code du courrier)")
    libourne = stage.step_one(HOSPITAL, "FM330045")
    assert isinstance(libourne, EstablishmentNotEnrolled)
    pending = platform.register(
        ClassicRegistration(
            proof=libourne.proof,
            terms_accepted=True,
            holder=_holder(
                "Monsieur",
                "Luc",
                "Bernard",
                "luc.bernard@ch-libourne.example",
                "05 57 55 34 34",
                "Direction des affaires financières",
                address=AddressForm(
                    street="112 rue de la Marne", postal_code="33500", city="Libourne"
                ),
            ),
        )
    )
    stage.say(f"{libourne.designation} : inscription de {pending.identifier}, en attente")
    stage.deliver()
    code = stage.world.letters.sent[-1].withdrawal_code or ""
    typed = code.replace("-", " ").lower()
    withdrawn = platform.withdraw_registration(typed)
    stage.say(f"Le représentant légal saisit le code du courrier en minuscules, « {typed} » :")
    stage.say(f"« {withdrawn.message} »")
    stage.deliver()

    stage.title("Un lien de création jamais utilisé : 15 jours après, tout est effacé")
    clinic = stage.step_one(CLINIC, "FM552100")
    assert isinstance(clinic, EstablishmentNotEnrolled)
    lapsing = platform.register(
        ClassicRegistration(
            proof=clinic.proof,
            terms_accepted=True,
            holder=_holder(
                "Monsieur",
                "Marc",
                "Lambert",
                "marc.lambert@tilleuls.example",
                "04 78 60 21 00",
                "Ressources humaines",
                address=AddressForm(
                    street="3 allée des Tilleuls", postal_code="69003", city="Lyon"
                ),
            ),
        )
    )
    stage.say(f"{clinic.designation} : inscription de {lapsing.identifier}, jamais activée")
    platform.dispatch_notifications()
    clock.advance(timedelta(days=15, minutes=1))
    stage.say(
        f"15 jours plus tard ({clock.now().astimezone(PARIS):%d/%m/%Y}), tâche planifiée : "
        f"{sweep_summary(platform.sweep())}"
    )
    stage.say(f"Deuxième passage (sans effet) : {sweep_summary(platform.sweep())}")
    stage.refused(
        "Le lien de création expiré",
        lambda: platform.create_password(
            stage.link("marc.lambert@tilleuls.example"), "Tilleuls-2024!", "Tilleuls-2024!"
        ),
    )
    again = stage.step_one(CLINIC, "FM552100")
    stage.say(
        "L'établissement peut être inscrit à nouveau : "
        + ("oui" if isinstance(again, EstablishmentNotEnrolled) else "non")
    )


def _net_entreprises_administrator(stage: _Stage) -> None:
    platform = stage.platform
    stage.title("Inscription avec Net-Entreprises : administrateur tout de suite")
    stage.world.net_entreprises.register(
        siret=ABYMES, last_name="Jean-Baptiste", first_name="Marie", password="NE-Abymes-7"
    )
    stage.refused(
        "Un mauvais mot de passe Net-Entreprises",
        lambda: platform.sign_in_with_net_entreprises(
            NetEntreprisesCredentials(
                siret=ABYMES, last_name="Jean-Baptiste", first_name="Marie", password="faux"
            )
        ),
    )
    signed = platform.sign_in_with_net_entreprises(
        NetEntreprisesCredentials(
            siret=ABYMES, last_name="Jean-Baptiste", first_name="Marie", password="NE-Abymes-7"
        )
    )
    assert isinstance(signed, NetEntreprisesSignedIn)
    stage.say(
        f"L'établissement {signed.designation} n'est pas inscrit : le formulaire crée un compte "
        "au profil "
        f"{signed.profile_label}"
    )
    joined = platform.complete_net_entreprises(
        NetEntreprisesCompletion(
            ticket=signed.ticket,
            form=_net_entreprises_form(
                "Madame",
                "marie.jean-baptiste@abymes.example",
                "05 90 83 00 00",
                "Direction générale des services",
                address=AddressForm(
                    street="Rue Achille René-Boisneuf", postal_code="97139", city="Les Abymes"
                ),
            ),
        )
    )
    stage.say(f"« {joined.message} »")
    stage.say("L'établissement est inscrit dès maintenant, sans attendre 8 jours.")
    stage.deliver()


def _eighteen_months_later(stage: _Stage) -> None:
    platform, clock = stage.platform, stage.clock
    admin, user = "JDU000001", "SPE000001"
    clock.advance(timedelta(days=500))
    stage.title("Dix-sept mois après le jour J, l'administratrice se connecte")
    platform.login(admin, "Nouveau-2024!")
    stage.say(f"Connexion de {admin} : son compte repart pour 18 mois")
    clock.advance(timedelta(days=45))
    stage.title("Madame Petit ne s'est pas connectée depuis 18 mois")
    stage.say(f"Tâche planifiée : {sweep_summary(platform.sweep())}")
    stage.refused(f"Connexion de {user}", lambda: platform.login(user, "Compta-2024!"))
    platform.renew(admin, user)
    login = platform.login(user, "Compta-2024!")
    stage.say(
        f"L'administratrice renouvelle le compte ; connexion de {user} : réussie, compte "
        f"valable jusqu'au {login.expires_at.astimezone(PARIS):%d/%m/%Y}"
    )
