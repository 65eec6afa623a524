"""The OZG catalogue: Themenfelder, Lebenslagen, OZG-Leistungen and their LeiKa-Leistungen."""
