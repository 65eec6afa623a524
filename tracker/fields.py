"""Strict shared types for API shapes and import rows."""

from typing import Annotated

from pydantic import StringConstraints

# PostgreSQL text rejects NUL; every stored string goes through this.
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]
Ars = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
Ags = Annotated[str, StringConstraints(pattern=r"^\d{8}$")]
LeikaKey = Annotated[str, StringConstraints(pattern=r"^\d{14}$")]

ARS_PATTERN = r"^\d{12}$"
AGS_PATTERN = r"^\d{8}$"
ARS_OR_AGS_PATTERN = r"^(\d{8}|\d{12})$"
LEIKA_KEY_PATTERN = r"^\d{14}$"
# The OZG-ID format is not officially confirmed (DOMAIN.md 1.3): all known ones are 5-digit numbers.
OZG_ID_PATTERN = r"^[0-9A-Za-z]{1,20}$"
