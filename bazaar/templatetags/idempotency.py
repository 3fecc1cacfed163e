from django import template
from django.utils.html import format_html

from bazaar.idempotency import FIELD, new_key

register = template.Library()


@register.simple_tag
def idempotency_field() -> str:
    """A hidden input with a fresh key: one per rendered form, resent on retries."""
    return format_html('<input type="hidden" name="{}" value="{}">', FIELD, new_key())
