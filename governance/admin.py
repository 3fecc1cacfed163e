from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.admin import UserAdmin
from bazaar.errors import DomainError

from .admin_access import OpsReadOnlyAdmin, ReadsRecorded, StewardReadOnlyAdmin
from .models import BannedWord, ChatSanction, RoleGrant, StewardAction
from .selectors import sanction_active_q, user_is_steward
from .services import (
    banned_word_add,
    banned_word_check,
    banned_word_remove,
    banned_word_rename,
    sanction_impose,
    sanction_impose_check,
    sanction_lift,
)


@admin.register(RoleGrant)
class RoleGrantAdmin(OpsReadOnlyAdmin):
    list_display = ["user", "role", "granted_by", "granted_at"]
    list_filter = ["role"]
    search_fields = ["user__handle"]


class ActorForm(forms.ModelForm):
    """A form that saves through a service on behalf of `actor` (set per request by
    the admin's get_form). The admin's own save_model then has nothing left to do."""

    actor = None

    def save(self, commit=True):
        # clean() ran the service's checks; a race lost since then raises a DomainError,
        # which DomainErrorMiddleware shows as a page with its message.
        saved = self.save_through_service()
        self.instance = saved
        self.save_m2m = lambda: None
        return saved

    def save_through_service(self):
        raise NotImplementedError


class ServiceSavedAdmin(admin.ModelAdmin):
    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def save_model(self, request, obj, form, change):
        """Saved already, by the form's service call."""

    def save_related(self, request, form, formsets, change):
        """No related objects; the service saved everything."""


# Banned words


class BannedWordForm(ActorForm):
    class Meta:
        model = BannedWord
        fields = ["word"]
        help_texts = {
            "word": "One word, letters only. Case, accents, leetspeak (4ss, sh1t), repeated "
            "letters and spelled-out forms (f.u.c.k) are matched automatically; only "
            "whole words match.",
        }

    def clean_word(self):
        banned_word = self.instance if self.instance.pk else None
        try:
            return banned_word_check(word=self.cleaned_data["word"], banned_word=banned_word)
        except DomainError as error:
            raise ValidationError(error.message) from error

    def save_through_service(self):
        word = self.cleaned_data["word"]
        if self.instance.pk:
            return banned_word_rename(banned_word=self.instance, word=word, renamed_by=self.actor)
        return banned_word_add(word=word, added_by=self.actor)


@admin.register(BannedWord)
class BannedWordAdmin(ServiceSavedAdmin):
    """Stewards and ops keep the list; every change goes through a service, which
    refreshes the chat's matcher once it commits."""

    form = BannedWordForm
    fields = ["word"]
    list_display = ["word", "created_by", "created_at"]
    list_select_related = ["created_by"]
    search_fields = ["word"]

    def has_module_permission(self, request):
        return request.user.is_active and user_is_steward(user=request.user)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_delete_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def delete_model(self, request, obj):
        banned_word_remove(banned_word=obj, removed_by=request.user)

    def delete_queryset(self, request, queryset):
        for banned_word in queryset:
            banned_word_remove(banned_word=banned_word, removed_by=request.user)


# Chat sanctions

DURATIONS = {
    "15m": ("15 minutes", timedelta(minutes=15)),
    "1h": ("1 hour", timedelta(hours=1)),
    "1d": ("24 hours", timedelta(days=1)),
    "7d": ("7 days", timedelta(days=7)),
    "30d": ("30 days", timedelta(days=30)),
    "lifted": ("Until lifted", None),
}


class ChatSanctionAddForm(ActorForm):
    handle = forms.CharField(label="User", help_text="The user's handle.")
    duration = forms.ChoiceField(
        choices=[(key, label) for key, (label, _) in DURATIONS.items()], initial="1h"
    )

    class Meta:
        model = ChatSanction
        fields = ["kind", "stall", "reason"]

    def clean_handle(self):
        users = get_user_model()._default_manager
        try:
            return users.get_by_natural_key(self.cleaned_data["handle"].strip())
        except users.model.DoesNotExist as error:
            raise ValidationError("No user has that handle.") from error

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("handle") is not None:
            try:
                sanction_impose_check(user=cleaned["handle"], imposed_by=self.actor)
            except DomainError as error:
                raise ValidationError(error.message) from error
        return cleaned

    def save_through_service(self):
        data = self.cleaned_data
        return sanction_impose(
            user=data["handle"],
            kind=data["kind"],
            reason=data["reason"],
            stall=data["stall"],
            duration=DURATIONS[data["duration"]][1],
            imposed_by=self.actor,
        )


class SanctionStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("lifted", "Lifted"), ("ended", "Ended")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(sanction_active_q(now=now))
        if self.value() == "lifted":
            return queryset.filter(lifted_at__isnull=False)
        if self.value() == "ended":
            return queryset.filter(lifted_at__isnull=True, ends_at__lte=now)
        return queryset


@admin.register(ChatSanction)
class ChatSanctionAdmin(ServiceSavedAdmin, StewardReadOnlyAdmin):
    """Stewards look, impose (the add form calls the service) and lift (an action);
    sanctions are never edited or deleted."""

    add_form = ChatSanctionAddForm
    add_fields = ["handle", "kind", "stall", "duration", "reason"]
    fields = [
        "user",
        "kind",
        "stall",
        "reason",
        "starts_at",
        "ends_at",
        "created_by",
        "lifted_at",
        "lifted_by",
    ]
    autocomplete_fields = ["stall"]
    list_display = ["user", "kind", "where", "reason", "starts_at", "ends_at", "state"]
    list_filter = [SanctionStateFilter, "kind"]
    list_select_related = ["user", "stall"]
    search_fields = ["user__handle", "reason"]
    actions = ["lift_sanctions"]

    def has_add_permission(self, request):
        return self.has_module_permission(request)

    def has_lift_permission(self, request):
        return self.has_module_permission(request)

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, change, **kwargs)

    @admin.display(description="where")
    def where(self, sanction: ChatSanction) -> str:
        return str(sanction.stall) if sanction.stall_id else "Whole market"

    @admin.display(description="state")
    def state(self, sanction: ChatSanction) -> str:
        now = timezone.now()
        if sanction.lifted_at is not None:
            return "Lifted"
        if sanction.ends_at is not None and sanction.ends_at <= now:
            return "Ended"
        if sanction.starts_at > now:
            return "Scheduled"
        return "Active"

    @admin.action(description="Lift selected sanctions", permissions=["lift"])
    def lift_sanctions(self, request, queryset):
        lifted = 0
        for sanction in queryset.select_related("user"):
            try:
                sanction_lift(sanction=sanction, lifted_by=request.user)
            except DomainError as error:
                self.message_user(request, f"{sanction}: {error.message}", messages.ERROR)
            else:
                lifted += 1
        if lifted:
            self.message_user(request, f"Lifted {lifted} sanction(s).", messages.SUCCESS)


# People's accounts: accounts' admin, with looks at emails on the stewards' record.
# Registered again here because accounts sits below governance and cannot record.
admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class UserReadsRecordedAdmin(ReadsRecorded, UserAdmin):
    pass


# The stewards' own record


@admin.register(StewardAction)
class StewardActionAdmin(OpsReadOnlyAdmin):
    """Every steward action, with who and why: ops watch the stewards here."""

    list_display = ["created_at", "actor", "action", "target_kind", "target_label", "reason"]
    list_filter = ["action", "target_kind"]
    list_select_related = ["actor"]
    search_fields = ["actor__handle", "target_ref", "target_label", "reason"]
    date_hierarchy = "created_at"
    fields = [
        "public_id",
        "created_at",
        "actor",
        "action",
        "target_kind",
        "target_ref",
        "target_label",
        "reason",
        "detail",
    ]
