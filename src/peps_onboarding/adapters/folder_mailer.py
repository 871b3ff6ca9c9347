"""A :class:`~peps_onboarding.ports.Mailer` that writes each e-mail as an ``.eml`` file.

For the demo, for staging environments, and for hosts whose mail leaves through another
system that collects files. The message is the very MIME message the SMTP mailer would
send (same headers, same Message-ID), written atomically: a reader never sees half a file.
"""

from __future__ import annotations

import os
import tempfile
from email.utils import formatdate
from pathlib import Path

from attrs import field, frozen

from ..domain.errors import NotificationDeliveryError
from ..domain.notifications import EmailMessage
from .smtp import SmtpMailer, SmtpSettings

__all__ = ["FolderMailer"]


@frozen
class FolderMailer:
    """Writes ``<message_id>.eml`` into ``folder``; a retry rewrites the same file."""

    folder: Path
    sender_address: str = field(
        default="ne-pas-repondre@plateforme-employeurs.example", kw_only=True
    )
    file_mode: int = field(default=0o600, kw_only=True)  # e-mails carry link tokens

    def send(self, message: EmailMessage) -> None:
        composer = SmtpMailer(
            SmtpSettings(
                host="localhost", port=25, security="none", sender_address=self.sender_address
            )
        )
        mime = composer.compose(message, date=formatdate(localtime=False, usegmt=True))
        name = "".join(c for c in message.message_id if c.isalnum() or c in "-_") or "message"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(descriptor, "wb") as out:
                    out.write(mime.as_bytes())
                    out.flush()
                    os.fsync(out.fileno())
                os.chmod(temporary, self.file_mode)
                os.replace(temporary, self.folder / f"{name}.eml")
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as error:
            raise NotificationDeliveryError(f"écriture impossible : {error.strerror}") from None

    def paths(self) -> list[Path]:
        return sorted(self.folder.glob("*.eml"))
