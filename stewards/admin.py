from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse

from bazaar.errors import DomainError
from governance.admin import ActorForm, ServiceSavedAdmin
from governance.admin_access import OpsReadOnlyAdmin

from .elections import election_approve, election_create, steward_term_end
from .models import Election, StewardTerm


class ElectionForm(ActorForm):
    class Meta:
        model = Election
        fields = ["title", "opens_at", "closes_at", "quorum_percent"]

    def clean(self):
        cleaned = super().clean()
        opens, closes = cleaned.get("opens_at"), cleaned.get("closes_at")
        if opens and closes and closes <= opens:
            raise ValidationError("The election must close after it opens.")
        return cleaned

    def save_through_service(self):
        return election_create(actor=self.actor, **self.cleaned_data)


@admin.register(Election)
class ElectionAdmin(ServiceSavedAdmin, OpsReadOnlyAdmin):
    """Ops call elections (the add form calls the service) and approve results."""

    form = ElectionForm
    list_display = ["title", "opens_at", "closes_at", "quorum_percent", "winner", "approved_at"]
    actions = ["approve_result"]

    def has_add_permission(self, request):
        return self.has_module_permission(request)

    def has_approve_permission(self, request):
        return self.has_module_permission(request)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["title", "opens_at", "closes_at", "quorum_percent"]
        return ["title", "opens_at", "closes_at", "quorum_percent", "winner", "approved_at"]

    @admin.action(
        description="Approve the result (the winner becomes a steward)", permissions=["approve"]
    )
    def approve_result(self, request, queryset):
        for election in queryset:
            try:
                term = election_approve(actor=request.user, election_public_id=election.public_id)
            except DomainError as error:
                self.message_user(request, f"{election}: {error.message}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"@{term.user.handle} is a steward until {term.ends_at:%d %b %Y}.",
                    messages.SUCCESS,
                )


class RevokeForm(forms.Form):
    reason = forms.CharField(max_length=500, help_text="Kept in the record of steward actions.")


@admin.register(StewardTerm)
class StewardTermAdmin(OpsReadOnlyAdmin):
    list_display = ["user", "election", "starts_at", "ends_at", "ended_at", "end_reason"]
    actions = ["revoke"]

    def has_revoke_permission(self, request):
        return self.has_module_permission(request)

    @admin.action(description="Revoke: end the term now…", permissions=["revoke"])
    def revoke(self, request, queryset):
        form = RevokeForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            for term in queryset:
                steward_term_end(term=term, actor=request.user, reason=form.cleaned_data["reason"])
            self.message_user(request, f"Ended {queryset.count()} term(s).", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Revoke stewards",
            "terms": queryset,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "stewards/revoke.html", context)
