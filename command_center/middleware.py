"""Language: Chinese unless the person chose otherwise with the switcher.

Django's LocaleMiddleware follows the browser's Accept-Language, so an English-configured browser would
get English pages. Here the default language is the deployment's (`LANGUAGE_CODE`, zh-hans) and only the
switcher's cookie changes it.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class DefaultLanguageMiddleware(LocaleMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
