"""Mail backends for tests (`settings.EMAIL_BACKEND = "tests.mail.MailServerAway"`)."""


class MailServerAway:
    """A mail server that is down: every send fails as a refused connection would."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionError("mail server away")
