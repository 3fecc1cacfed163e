"""Review forms: they parse input; reviews.services holds the rules."""

from django import forms

from .models import STARS_MAX, STARS_MIN
from .services import TEXT_MAX_LENGTH

STAR_WORDS = {5: "Excellent", 4: "Good", 3: "All right", 2: "Poor", 1: "Bad"}


class ReviewForm(forms.Form):
    stars = forms.TypedChoiceField(
        label="Your rating",
        coerce=int,
        choices=[(n, STAR_WORDS[n]) for n in range(STARS_MAX, STARS_MIN - 1, -1)],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how many stars."},
    )
    text = forms.CharField(
        label="Your review",
        max_length=TEXT_MAX_LENGTH,
        help_text="How was the item, the packing, the seller? Shown on the stall's page "
        "with your handle.",
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Write a few words for your review."},
    )


class ReplyForm(forms.Form):
    """One per review on a page: the review's id in the field ids keeps them unique."""

    reply = forms.CharField(
        label="Your answer",
        max_length=TEXT_MAX_LENGTH,
        help_text="Shown under the review. You can answer once.",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write a few words for your answer."},
    )

    def __init__(self, *args, review, **kwargs):
        super().__init__(*args, auto_id=f"id_%s_{review.public_id}", **kwargs)
