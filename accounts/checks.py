"""Deploy checks for the parts `accounts` owns (`manage.py check --deploy`; a
production server refuses to start on an error: `bazaar.deploy`)."""

from django.conf import settings
from django.core.checks import Error, Tags, register

PEPPER_MIN_LENGTH = 32


@register(Tags.security, deploy=True)
def passwords_peppered(app_configs, **kwargs) -> list[Error]:
    """Without a pepper, a stolen copy of the users table is all an offline guesser
    needs (accounts.hashers)."""
    peppers = settings.PASSWORD_PEPPERS
    if not peppers:
        problem = "PASSWORD_PEPPERS is not set"
    elif any(len(key) < PEPPER_MIN_LENGTH for key in peppers.values()):
        problem = f"every pepper needs at least {PEPPER_MIN_LENGTH} random characters"
    elif settings.PASSWORD_HASHERS[0] != "accounts.hashers.PepperedPBKDF2PasswordHasher":
        problem = "new passwords would not be hashed with the pepper"
    else:
        return []
    return [
        Error(
            f"Passwords need a pepper kept outside the database: {problem}.",
            hint="Set PASSWORD_PEPPERS=k1=<48 random characters> (python -c 'import "
            "secrets; print(secrets.token_urlsafe(36))'); to rotate, put a new id first: "
            "k2=<new>,k1=<old>.",
            id="accounts.E001",
        )
    ]
