"""The letter to the legal representative (M2), in French, as printed and as shown in
plain text by adapters that do not lay out their own."""

from __future__ import annotations

from datetime import timedelta

from ..domain.notifications import LetterKind, LetterNotification
from .rendering import local_date

__all__ = ["letter_text"]


def letter_text(
    n: LetterNotification, *, withdrawal_url: str | None, withdrawal_code: str | None = None
) -> str:
    """Rule M2: who registered, when, and (classic path) how to withdraw within 8 days."""
    lines = [
        "Madame, Monsieur,",
        "",
        f"Le {local_date(n.registered_at)}, {n.applicant_name} ({n.applicant_function}, "
        f"{n.applicant_email}) a demandé l'inscription de l'établissement {n.designation} "
        f"(SIRET {n.siret}) à la Plateforme Employeurs Publics (PEP's), et sa désignation comme "
        "administrateur des comptes de l'établissement.",
    ]
    if n.kind is LetterKind.CLASSIC_ENROLMENT and n.withdrawal_deadline is not None:
        lines += [
            "",
            "Si vous n'êtes pas d'accord avec cette inscription, vous pouvez l'annuler jusqu'au "
            f"{local_date(n.withdrawal_deadline - timedelta(seconds=1))} inclus en vous rendant "
            f"à l'adresse suivante : {withdrawal_url}",
            # P4: the code alone on its line, so that no wrapping can cut it.
            *(
                ["et en saisissant le code de désinscription :", withdrawal_code]
                if withdrawal_code
                else []
            ),
            "Sans retour de votre part dans ce délai de 8 jours calendaires, l'inscription sera "
            "validée, les Conditions Générales d'Utilisation tacitement acceptées, et le "
            "demandeur aura la qualité d'administrateur pour le compte de l'établissement.",
        ]
    else:
        lines += [
            "",
            "Cette inscription a été effectuée avec des identifiants Net-Entreprises ; elle est "
            "effective dès à présent.",
        ]
    lines += ["", "Nous vous prions d'agréer l'expression de nos salutations distinguées."]
    return "\n".join(lines)
