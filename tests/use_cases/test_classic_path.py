"""The classic path: step 1, the form, submission, password creation, day J, withdrawal."""

from __future__ import annotations

from datetime import date

import pytest

from peps_onboarding import (
    AccessNotYetOpenError,
    AccountBlockedError,
    AccountState,
    CaptchaFailedError,
    ClassicRegistration,
    EnrolmentState,
    EstablishmentAlreadyEnrolled,
    EstablishmentAlreadyEnrolledError,
    EstablishmentClosedError,
    EstablishmentIdentification,
    EstablishmentNotEnrolled,
    Identifier,
    InvalidCredentialsError,
    LetterKind,
    LinkNoLongerValidError,
    Platform,
    RegistrationInProgressError,
    RegistrationPending,
    Siret,
    StepOneRequiredError,
    TransitionNotAllowedError,
    UnknownEstablishmentError,
    ValidationError,
)
from peps_onboarding.testing import (
    COMMUNE,
    COMMUNE_CONTRACT,
    HOSPITAL,
    HOSPITAL_CONTRACT,
    PASSWORD,
    Journey,
    address_form,
    holder_form,
    step_one_proof,
)
from peps_onboarding.testing.journeys import CLINIC, CLINIC_CONTRACT, CLOSED, CLOSED_CONTRACT


def identify(platform: Platform, siret: str, contract: str, captcha: str = "trombone") -> object:
    return platform.identify_establishment(
        EstablishmentIdentification(siret=siret, contract_number=contract, captcha_response=captcha)
    )


def enrolment_state(journey: Journey, siret: str = COMMUNE) -> EnrolmentState:
    enrolment = journey.world.database.enrolments.get(Siret.parse(siret))
    return enrolment.state if enrolment else EnrolmentState.NOT_ENROLLED


# --- step 1 ---------------------------------------------------------------------------


@pytest.mark.rule("C1", "E1")
def test_step_one_accepts_a_siret_typed_with_spaces_or_dots(platform: Platform) -> None:
    """E1: « 213 300 635 00017 » and « 213.300.635.00017 » are the same SIRET."""
    for typed in ("213 300 635 00017", "213.300.635.00017", " 21330063500017 "):
        result = identify(platform, typed, COMMUNE_CONTRACT)
        assert isinstance(result, EstablishmentNotEnrolled)
        assert (result.siret, result.designation) == (COMMUNE, "Commune de Saint-Aubin-de-Médoc")


@pytest.mark.rule("C1", "E1")
def test_step_one_reports_every_missing_or_malformed_field_at_once(platform: Platform) -> None:
    """C1: SIRET, contract and security check are all required; E1 key checked."""
    with pytest.raises(ValidationError) as error:
        identify(platform, "21330063500018", "", "")
    assert set(error.value.fields) == {"siret", "numero_contrat", "controle_securite"}
    assert error.value.messages["siret"] == "Ce numéro SIRET n'est pas valide."
    assert error.value.fields["numero_contrat"].code == "required"


@pytest.mark.rule("C1")
def test_a_failed_security_check_reveals_nothing_about_the_establishment(
    platform: Platform,
) -> None:
    """C1: the same error for a known and an unknown establishment."""
    for siret, contract in ((COMMUNE, COMMUNE_CONTRACT), (HOSPITAL, "WRONG1")):
        with pytest.raises(CaptchaFailedError) as error:
            identify(platform, siret, contract, "agrafeuse")
        assert error.value.code == "captcha.failed"
        assert siret not in str(error.value)


@pytest.mark.rule("E2")
def test_a_wrong_pair_gets_one_generic_error(platform: Platform) -> None:
    """E2: wrong contract, contract of another SIRET, unknown SIRET: the same error."""
    messages = set()
    for siret, contract in (
        (COMMUNE, "FM999999"),
        (COMMUNE, HOSPITAL_CONTRACT),
        ("26690002600102", COMMUNE_CONTRACT),
        ("18002002600019", "FM330063"),
    ):
        with pytest.raises(UnknownEstablishmentError) as error:
            identify(platform, siret, contract)
        messages.add(error.value.text)
    assert messages == {UnknownEstablishmentError.message}
    assert "SIRET et à ce numéro de contrat" in UnknownEstablishmentError.message


@pytest.mark.rule("E4", "E2")
def test_the_classic_path_gates_on_the_contract_whatever_the_legal_category(
    platform: Platform,
) -> None:
    """E4: a private clinic (5710) with an FMIS contract can register; a closed one cannot."""
    assert isinstance(identify(platform, CLINIC, CLINIC_CONTRACT), EstablishmentNotEnrolled)
    with pytest.raises(EstablishmentClosedError):
        identify(platform, CLOSED, CLOSED_CONTRACT)


@pytest.mark.rule("C2", "R7")
def test_already_enrolled_shows_the_first_three_administrators_names_only(
    journey: Journey,
) -> None:
    """C2/R7: names of the first three administrators, all on request; no e-mail or phone."""
    admin = journey.enrolled_administrator()
    for first, last in (("Mathieu", "Roy"), ("Cécile", "Noël"), ("Laure", "Abadie")):
        user = journey.active_user(admin, first, last)
        journey.platform.promote(admin, user)
    result = journey.identify()
    assert isinstance(result, EstablishmentAlreadyEnrolled)
    assert result.message == (
        "L'établissement est déjà inscrit. Vous ne pouvez pas effectuer son inscription."
    )
    assert result.administrators == ("Jeanne Dupont", "Mathieu Roy", "Cécile Noël")
    assert result.administrator_count == 4
    everyone = journey.platform.administrators(journey.proof())
    assert everyone == ("Jeanne Dupont", "Mathieu Roy", "Cécile Noël", "Laure Abadie")
    shown = repr(result) + repr(everyone)
    assert "@" not in shown
    assert "05 56" not in shown
    assert "0556" not in shown


@pytest.mark.rule("R7", "C10")
def test_administrator_names_need_a_pair_that_passed_step_one(platform: Platform) -> None:
    """R7, C10: a wrong pair gets no proof, and without one no name is shown."""
    with pytest.raises(UnknownEstablishmentError):
        identify(platform, COMMUNE, HOSPITAL_CONTRACT)
    with pytest.raises(StepOneRequiredError):
        platform.administrators("")


# --- steps 2 and 3 --------------------------------------------------------------------


@pytest.mark.rule("C4")
def test_every_wrong_field_of_the_form_is_reported_together_and_nothing_is_stored(
    journey: Journey,
) -> None:
    """C4: all field errors at once; nothing stored when any field is wrong."""
    bad = holder_form(
        civility="Docteur",
        last_name="",
        first_name="J3anne",
        email="jeanne@",
        email_confirmation="autre@employeur.example",
        phone="06 12 34 56 78",
        service_function="",
        address=address_form(street="", postal_code="3300", city=""),
    )
    with pytest.raises(ValidationError) as error:
        journey.platform.register(
            ClassicRegistration(proof=journey.proof(), holder=bad, terms_accepted=False)
        )
    assert set(error.value.fields) == {
        "civilite",
        "nom",
        "prenom",
        "courriel",
        "confirmation_courriel",
        "telephone",
        "service_fonction",
        "voie",
        "code_postal",
        "ville",
        "cgu",
    }
    assert "06, 07 et 08" in error.value.messages["telephone"]
    db = journey.world.database
    assert (db.enrolments, db.accounts, db.links, db.events, db.outbox) == ({}, {}, {}, [], {})


@pytest.mark.rule("C4")
def test_the_confirmation_must_equal_the_email(platform: Platform) -> None:
    """C4: « confirmation du courriel » must equal « courriel »."""
    with pytest.raises(ValidationError) as error:
        platform.register(
            ClassicRegistration(
                proof=step_one_proof(platform, COMMUNE, COMMUNE_CONTRACT),
                holder=holder_form(email_confirmation="other@employeur.example"),
                terms_accepted=True,
            )
        )
    assert set(error.value.fields) == {"confirmation_courriel"}


@pytest.mark.rule("C4")
@pytest.mark.parametrize(
    "phone",
    ["0556114123", "05.56.11.41.23", "+33 5 56 11 41 23", "09 70 80 93 29", "0590 12 34 56"],
)
def test_french_fixed_lines_are_accepted(platform: Platform, phone: str) -> None:
    """C4: geographic 01–05, 09 (VoIP) and overseas numbers; +33 and separators."""
    result = platform.register(
        ClassicRegistration(
            proof=step_one_proof(platform, COMMUNE, COMMUNE_CONTRACT),
            holder=holder_form(phone=phone),
            terms_accepted=True,
        )
    )
    assert Identifier.parse(result.identifier)


@pytest.mark.rule("C4")
def test_optional_address_fields_may_be_left_empty_and_the_form_can_be_resubmitted(
    platform: Platform,
) -> None:
    """C4: « Précédent » keeps what was typed: step 1 data travel with the command."""
    holder = holder_form(
        address=address_form(address_complement="", identification_complement="", locality="")
    )
    command = ClassicRegistration(
        proof=step_one_proof(platform, COMMUNE, COMMUNE_CONTRACT),
        holder=holder,
        terms_accepted=False,
    )
    with pytest.raises(ValidationError):
        platform.register(command)
    from attrs import evolve

    assert platform.register(evolve(command, terms_accepted=True)).siret == COMMUNE


@pytest.mark.rule("C5", "A1", "E3")
def test_submission_makes_the_establishment_pending_and_shows_the_identifier(
    journey: Journey,
) -> None:
    """C5: PENDING, account « En attente d'activation », identifier, access date J+8."""
    result = journey.register()
    assert result.identifier == "JDU000001"
    assert result.identifier_spelled == "J, D, U, zéro, zéro, zéro, zéro, zéro, un"
    assert result.access_from == date(2024, 3, 21)
    assert enrolment_state(journey) is EnrolmentState.PENDING
    account = journey.world.database.accounts[Identifier.parse(result.identifier)]
    assert account.state is AccountState.PENDING_ACTIVATION
    assert account.state.label == "En attente d'activation"


@pytest.mark.rule("C5", "M1", "M2")
def test_submission_sends_the_creation_email_and_a_letter_to_the_legal_representative(
    journey: Journey,
) -> None:
    """C5/M2: a 15-day password-creation e-mail, and a letter with the withdrawal procedure."""
    journey.register()
    mail = journey.mails_to("jeanne.dupont@employeur.example")[0]
    assert mail.subject == "Vous pouvez créer votre mot de passe"
    assert "vous avez 15 jours pour le créer" in mail.text
    assert "JDU000001" in mail.text
    letter = journey.world.letters.sent[0]
    assert letter.kind is LetterKind.CLASSIC_ENROLMENT
    assert letter.recipient_name == "Madame Christine Lefèvre"
    assert letter.recipient_address[-1] == "33160 ST AUBIN DE MEDOC"  # NF Z10-011 (C4)
    assert "Madame Jeanne Dupont" in letter.text
    assert "13/03/2024" in letter.text
    assert "jusqu’au 20/03/2024 inclus" in letter.text
    assert "\n\nMadame la Maire,\n\n" in letter.text
    # P4: a short code, typed on the page of a URL that does not carry it.
    assert letter.withdrawal_code and letter.withdrawal_code not in (letter.withdrawal_url or "")
    assert (letter.withdrawal_url or "").endswith("/desinscription")


@pytest.mark.rule("C3")
def test_a_pending_establishment_offers_a_new_link_that_replaces_the_old_one(
    journey: Journey,
) -> None:
    """C3: « en cours d'inscription »; « Vous en envoyer un nouveau » voids the old link."""
    journey.register()
    old = journey.last_token("jeanne.dupont@employeur.example")
    result = journey.identify()
    assert isinstance(result, RegistrationPending)
    assert result.message == "Votre établissement est en cours d'inscription."
    resent = journey.platform.resend_creation_link(journey.proof())
    assert resent.sent
    new = journey.last_token("jeanne.dupont@employeur.example")
    assert new != old
    with pytest.raises(LinkNoLongerValidError):
        journey.platform.create_password(old, PASSWORD, PASSWORD)
    journey.platform.create_password(new, PASSWORD, PASSWORD)
    assert not journey.platform.resend_creation_link(journey.proof()).sent


@pytest.mark.rule("C3", "E6")
def test_registering_again_is_refused_while_pending_and_once_enrolled(journey: Journey) -> None:
    """E6: one enrolment per establishment; C3/C2 outcomes for a second attempt."""
    journey.register()
    with pytest.raises(RegistrationInProgressError):
        journey.register(holder=holder_form("Paul", "Martin"))
    journey.create_password("jeanne.dupont@employeur.example")
    journey.later(days=8)
    journey.platform.sweep()
    with pytest.raises(EstablishmentAlreadyEnrolledError):
        journey.register(holder=holder_form("Paul", "Martin"))


# --- password creation and day J ------------------------------------------------------


@pytest.mark.rule("C7", "A3")
def test_creating_the_password_activates_the_account_and_says_from_when(
    journey: Journey,
) -> None:
    """C7: « Actif », and the confirmation gives day J as JJ/MM/AAAA."""
    submitted = journey.register()
    token = journey.last_token("jeanne.dupont@employeur.example")
    created = journey.platform.create_password(token, PASSWORD, PASSWORD)
    assert created.message == (
        "Votre mot de passe a bien été créé. Vous pourrez accéder à l'ensemble des services de "
        "la Plateforme Employeurs Publics à compter du 21/03/2024."
    )
    assert not created.access_open
    account = journey.world.database.accounts[Identifier.parse(submitted.identifier)]
    assert account.state is AccountState.ACTIVE
    assert account.password_hash and PASSWORD not in account.password_hash
    assert account.password_hash.startswith("$argon2id$")


@pytest.mark.rule("C8")
def test_login_before_day_j_is_refused_with_the_opening_date(journey: Journey) -> None:
    """C8: refused, and says from which date it will work."""
    submitted = journey.register()
    journey.create_password("jeanne.dupont@employeur.example")
    journey.later(days=7, hours=13)  # 20/03 22:30 UTC, 23:30 in Paris: still 20/03
    with pytest.raises(AccessNotYetOpenError) as error:
        journey.platform.login(submitted.identifier, PASSWORD)
    assert error.value.access_from == date(2024, 3, 21)
    assert "à compter du 21/03/2024" in error.value.text


@pytest.mark.rule("C8", "M1")
def test_on_day_j_access_opens_and_the_applicant_is_told(journey: Journey) -> None:
    """C8: ENROLLED on day J; e-mail « Vous pouvez maintenant accéder à la plateforme »."""
    submitted = journey.register()
    journey.create_password("jeanne.dupont@employeur.example")
    journey.later(days=8)
    assert journey.platform.sweep().access_opened == 1
    assert enrolment_state(journey) is EnrolmentState.ENROLLED
    last = journey.mails_to("jeanne.dupont@employeur.example")[-1]
    assert last.subject == "Vous pouvez maintenant accéder à la plateforme"
    assert "Vous avez inscrit depuis le 13/03/2024" in last.text
    assert journey.platform.login(submitted.identifier, PASSWORD).profile == "administrator"


@pytest.mark.rule("C8", "T1")
def test_login_on_day_j_opens_access_even_before_the_sweep(journey: Journey) -> None:
    """C8/T1: enforced when used, not only by the sweep."""
    submitted = journey.register()
    journey.create_password("jeanne.dupont@employeur.example")
    journey.later(days=8)
    assert journey.platform.login(submitted.identifier, PASSWORD).identifier == "JDU000001"
    assert enrolment_state(journey) is EnrolmentState.ENROLLED
    assert journey.platform.sweep().access_opened == 0


@pytest.mark.rule("C8")
def test_a_password_created_after_day_j_opens_access_at_once(journey: Journey) -> None:
    """C8: created after day J → access opens at once."""
    submitted = journey.register()
    journey.later(days=10)
    token = journey.last_token("jeanne.dupont@employeur.example")
    created = journey.platform.create_password(token, PASSWORD, PASSWORD)
    assert created.access_open
    assert enrolment_state(journey) is EnrolmentState.ENROLLED
    journey.platform.login(submitted.identifier, PASSWORD)


@pytest.mark.rule("C8")
def test_day_j_without_a_password_does_not_open_access(journey: Journey) -> None:
    """C8: access needs the password; the sweep waits for it."""
    journey.register()
    journey.later(days=9)
    assert journey.platform.sweep().access_opened == 0
    assert enrolment_state(journey) is EnrolmentState.PENDING


@pytest.mark.rule("C6", "E3")
def test_an_unused_link_expires_after_fifteen_days_and_the_registration_starts_again(
    journey: Journey,
) -> None:
    """C6: account deleted, establishment NOT_ENROLLED, « Ce lien n'est plus valide »."""
    submitted = journey.register()
    token = journey.last_token("jeanne.dupont@employeur.example")
    journey.later(days=14, hours=23)
    assert journey.platform.sweep().accounts_deleted == 0
    journey.later(hours=1)
    report = journey.platform.sweep()
    assert (report.accounts_deleted, report.registrations_lapsed) == (1, 1)
    assert enrolment_state(journey) is EnrolmentState.NOT_ENROLLED
    account = journey.world.database.accounts[Identifier.parse(submitted.identifier)]
    assert account.state is AccountState.DELETED
    with pytest.raises(LinkNoLongerValidError) as error:
        journey.platform.create_password(token, PASSWORD, PASSWORD)
    assert error.value.text == "Ce lien n'est plus valide."
    assert isinstance(journey.identify(), EstablishmentNotEnrolled)
    assert journey.register(holder=holder_form("Paul", "Martin")).identifier == "PMA000001"


@pytest.mark.rule("C6", "T1")
def test_an_expired_link_used_before_the_sweep_still_lapses_the_registration(
    journey: Journey,
) -> None:
    """C6/T1: the deadline is enforced at use too."""
    journey.register()
    token = journey.last_token("jeanne.dupont@employeur.example")
    journey.later(days=15)
    with pytest.raises(LinkNoLongerValidError):
        journey.platform.create_password(token, PASSWORD, PASSWORD)
    assert enrolment_state(journey) is EnrolmentState.NOT_ENROLLED
    assert journey.platform.sweep().total == 0


@pytest.mark.rule("C6")
def test_an_invalid_link_lists_the_establishments_administrators(journey: Journey) -> None:
    """C6: « Ce lien n'est plus valide » with the administrators (if any)."""
    admin = journey.enrolled_administrator()
    created = journey.platform.create_user(admin, holder_form("Luc", "Moreau"))
    token = journey.last_token("luc.moreau@employeur.example")
    journey.later(days=16)
    with pytest.raises(LinkNoLongerValidError) as error:
        journey.platform.create_password(token, PASSWORD, PASSWORD)
    assert error.value.administrators == ("Jeanne Dupont",)
    account = journey.world.database.accounts[Identifier.parse(created.identifier)]
    assert account.state is AccountState.DELETED


# --- withdrawal ------------------------------------------------------------------------


@pytest.mark.rule("C9", "M1")
def test_the_legal_representative_withdraws_with_the_code_of_the_letter(
    journey: Journey,
) -> None:
    """C9: pending account closed, NOT_ENROLLED, applicant told by e-mail."""
    submitted = journey.register()
    code = journey.withdrawal_code_in_letter(COMMUNE)
    journey.later(days=3)
    assert journey.platform.withdraw_registration(code).siret == COMMUNE
    assert enrolment_state(journey) is EnrolmentState.NOT_ENROLLED
    account = journey.world.database.accounts[Identifier.parse(submitted.identifier)]
    assert account.state is AccountState.DELETED
    last = journey.mails_to("jeanne.dupont@employeur.example")[-1]
    assert last.subject == "L'inscription de votre établissement a été annulée"
    assert (
        "Cette annulation a été demandée par le représentant légal de l'établissement."
    ) in last.text
    events = [e for e in journey.platform.history(COMMUNE) if e.kind == "registration_withdrawn"]
    assert events[0].actor == "legal_representative"
    with pytest.raises(LinkNoLongerValidError):
        journey.platform.withdraw_registration(code)


@pytest.mark.rule("C9")
def test_the_applicant_withdraws_with_the_link_of_the_creation_email(journey: Journey) -> None:
    """C9: the applicant can withdraw too, even after creating the password."""
    journey.register()
    journey.create_password("jeanne.dupont@employeur.example")
    mail = journey.mails_to("jeanne.dupont@employeur.example")[0]
    url = mail.text.split("utilisez ce lien : ")[1].split()[0]
    journey.platform.withdraw_registration(url.split("jeton=")[1])
    assert enrolment_state(journey) is EnrolmentState.NOT_ENROLLED
    with pytest.raises(InvalidCredentialsError):
        journey.platform.login("JDU000001", PASSWORD)  # deleted: unknown to login
    assert [e.actor for e in journey.platform.history(COMMUNE)][-2:] == ["JDU000001"] * 2


@pytest.mark.rule("C9")
def test_withdrawal_is_impossible_once_access_opened(journey: Journey) -> None:
    """C9: « until access opens »: the code is void on day J."""
    journey.register()
    code = journey.withdrawal_code_in_letter(COMMUNE)
    journey.create_password("jeanne.dupont@employeur.example")
    journey.later(days=8)
    journey.platform.sweep()
    with pytest.raises(LinkNoLongerValidError):
        journey.platform.withdraw_registration(code)
    assert enrolment_state(journey) is EnrolmentState.ENROLLED


@pytest.mark.rule("C5")
def test_a_second_establishment_gets_its_own_registration(journey: Journey) -> None:
    """C5: registrations are per establishment."""
    journey.register()
    other = journey.register(HOSPITAL, HOSPITAL_CONTRACT, holder=holder_form("Luc", "Bernard"))
    assert other.identifier == "LBE000001"
    assert enrolment_state(journey, HOSPITAL) is EnrolmentState.PENDING


@pytest.mark.rule("C6", "T1", "C3")
def test_a_lapsed_registration_is_not_revived_before_the_sweep(journey: Journey) -> None:
    """T1: past 15 days, step 1, « Vous en envoyer un nouveau » and a new registration all
    see the registration lapsed, even if the sweep has not run."""
    journey.register()
    journey.later(days=15)
    assert isinstance(journey.identify(), EstablishmentNotEnrolled)
    assert enrolment_state(journey) is EnrolmentState.NOT_ENROLLED
    with pytest.raises(TransitionNotAllowedError):
        journey.platform.resend_creation_link(journey.proof())
    assert journey.register(holder=holder_form("Paul", "Martin")).identifier == "PMA000001"
    assert journey.platform.sweep().total == 0


@pytest.mark.rule("C8")
def test_a_blocked_applicant_still_gets_access_on_day_j_and_keeps_the_reset_link(
    journey: Journey,
) -> None:
    """C8: password created and not withdrawn suffice; blocking is a separate matter."""
    submitted = journey.register()
    journey.create_password("jeanne.dupont@employeur.example")
    journey.later(days=8)
    for _ in range(3):
        with pytest.raises((InvalidCredentialsError, AccountBlockedError)):
            journey.platform.login(submitted.identifier, "Wrong-pass1")
    journey.platform.request_password_reset(submitted.identifier)
    token = journey.last_token("jeanne.dupont@employeur.example")
    journey.platform.sweep()
    assert enrolment_state(journey) is EnrolmentState.ENROLLED
    journey.platform.reset_password(token, "Nouveau-mdp2", "Nouveau-mdp2")
    journey.platform.login(submitted.identifier, "Nouveau-mdp2")


@pytest.mark.rule("C8", "A7", "T1")
def test_a_sweep_that_comes_very_late_still_opens_access(journey: Journey) -> None:
    """T1: day J passed long ago with no sweep: access opens, with a fresh 18 months."""
    submitted = journey.register()
    journey.create_password("jeanne.dupont@employeur.example")
    journey.later(days=600)
    report = journey.platform.sweep()
    assert (report.access_opened, report.accounts_expired) == (1, 0)
    journey.platform.login(submitted.identifier, PASSWORD)
