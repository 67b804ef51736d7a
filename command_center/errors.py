"""Errors services raise that the API turns into clear answers (see drf.exception_handler)."""


class Refused(Exception):
    """Well-formed but not doable as asked: the API answers 400 with the message under `field`."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message
