"""Reports from the market's people, and appeals against sanctions: what comes in, and
how a steward's decision goes out (an audit row, and a notice to the person)."""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from bazaar.errors import Conflict, Invalid, NotAllowed, NotFound
from notifications.models import Kind
from notifications.services import notify

from .models import ChatSanction, Report, SanctionAppeal, StewardAction
from .selectors import sanction_active_q, user_is_ops
from .services import reason_clean, require_steward, sanction_lift, steward_action_record

DETAILS_LIMIT = Report._meta.get_field("details").max_length


@dataclass(frozen=True)
class ReportTarget:
    """What is reported, as the app that owns it describes it."""

    kind: Report.TargetKind
    ref: str
    label: str
    url: str
    owner: object | None  # the user the target belongs to (the seller, the author)


def report_create(*, reporter, target: ReportTarget, reason: str, details: str) -> Report:
    """File a report; a second report of the same thing while the first is open returns
    the first (a double click, a retry), whatever its words."""
    if not reporter.is_authenticated:
        raise NotAllowed("Sign in to report something.")
    if target.owner is not None and target.owner.pk == reporter.pk:
        raise Invalid("You cannot report yourself or your own things.")
    if reason not in Report.Reason.values:
        raise Invalid("Choose what is wrong from the list.")
    details = " ".join((details or "").split())
    if len(details) > DETAILS_LIMIT:
        raise Invalid(f"Keep the details under {DETAILS_LIMIT} characters.")
    if reason == Report.Reason.OTHER and not details:
        raise Invalid("Say what is wrong: “Something else” needs a few words.")
    existing = _open_report(reporter, target)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Report.objects.create(
                reporter=reporter,
                target_kind=target.kind,
                target_ref=target.ref,
                target_label=target.label[:200],
                target_url=target.url[:300],
                target_owner=target.owner,
                reason=reason,
                details=details,
            )
    except IntegrityError:
        # The same report, sent twice at once: the other request's row is the answer.
        return _open_report(reporter, target)


def _open_report(reporter, target: ReportTarget) -> Report | None:
    return Report.objects.filter(
        reporter=reporter,
        target_kind=target.kind,
        target_ref=target.ref,
        status=Report.Status.OPEN,
    ).first()


@transaction.atomic
def report_decide(*, report: Report, actor, acted: bool, outcome: str) -> Report:
    """Close a report: `acted` (something was done) or dismissed. `outcome` is what
    the reporter reads."""
    require_steward(actor, "decide reports")
    outcome = reason_clean(outcome, asked="Say what was done: the reporter reads it")
    report = Report.objects.select_for_update().get(pk=report.pk)
    if report.status != Report.Status.OPEN:
        raise Conflict(f"That report was already closed ({report.get_status_display()}).")
    report.status = Report.Status.RESOLVED if acted else Report.Status.DISMISSED
    report.outcome = outcome
    report.resolved_by = actor
    report.resolved_at = timezone.now()
    report.save(update_fields=["status", "outcome", "resolved_by", "resolved_at"])
    steward_action_record(
        actor=actor,
        action=StewardAction.Action.REPORT_RESOLVE
        if acted
        else StewardAction.Action.REPORT_DISMISS,
        target_kind=report.target_kind,
        target_ref=report.target_ref,
        target_label=report.target_label,
        reason=outcome,
        detail={"report": report.public_id, "reason": report.reason},
    )
    verdict = "acted on" if acted else "looked at; no action was needed"
    notify(
        report.reporter,
        Kind.REPORT_RESOLVED,
        title=f"Your report about “{report.target_label[:80]}” was {verdict}",
        url=report.target_url or reverse("stewards:my_reports"),
        body=f"The steward's note: {outcome}",
    )
    return report


# Appeals


def sanction_for_user(*, user, public_id: str) -> ChatSanction:
    """One of the person's own sanctions; anyone else's is 404, as if missing."""
    sanction = (
        ChatSanction.objects.select_related("stall").filter(user=user, public_id=public_id).first()
    )
    if sanction is None:
        raise NotFound("No sanction of yours has that address.")
    return sanction


def appeal_create(*, user, sanction: ChatSanction, text: str) -> SanctionAppeal:
    """Appeal an active sanction once. A repeat (a double click) returns the appeal."""
    if sanction.user_id != user.pk:
        raise NotFound("No sanction of yours has that address.")
    existing = SanctionAppeal.objects.filter(sanction=sanction).first()
    if existing is not None:
        return existing
    if not ChatSanction.objects.filter(sanction_active_q(now=timezone.now()), pk=sanction.pk):
        raise Conflict("That sanction is over: there is nothing to appeal.")
    text = reason_clean(
        text,
        limit=SanctionAppeal._meta.get_field("text").max_length,
        asked="Say why the sanction should be lifted",
    )
    try:
        with transaction.atomic():
            return SanctionAppeal.objects.create(sanction=sanction, text=text)
    except IntegrityError:
        return SanctionAppeal.objects.get(sanction=sanction)


@transaction.atomic
def appeal_decide(*, appeal: SanctionAppeal, actor, grant: bool, answer: str) -> SanctionAppeal:
    """Grant (the sanction is lifted) or deny. The steward who imposed the sanction
    does not judge its appeal; ops may."""
    require_steward(actor, "decide appeals")
    answer = reason_clean(answer, asked="Give your answer: the person reads it")
    appeal = (
        SanctionAppeal.objects.select_for_update()
        .select_related("sanction__user")
        .get(pk=appeal.pk)
    )
    sanction = appeal.sanction
    if sanction.created_by_id == actor.pk and not user_is_ops(user=actor):
        raise NotAllowed("Another steward decides the appeal of a sanction you imposed.")
    if appeal.status != SanctionAppeal.Status.PENDING:
        raise Conflict(f"That appeal was already decided ({appeal.get_status_display()}).")
    appeal.status = SanctionAppeal.Status.GRANTED if grant else SanctionAppeal.Status.DENIED
    appeal.answer = answer
    appeal.decided_by = actor
    appeal.decided_at = timezone.now()
    appeal.save(update_fields=["status", "answer", "decided_by", "decided_at"])
    if grant:
        sanction_lift(sanction=sanction, lifted_by=actor, reason=f"Appeal granted: {answer}")
    steward_action_record(
        actor=actor,
        action=StewardAction.Action.APPEAL_GRANT if grant else StewardAction.Action.APPEAL_DENY,
        target_kind="user",
        target_ref=sanction.user.public_id,
        target_label=f"@{sanction.user.handle}",
        reason=answer,
        detail={"appeal": appeal.public_id, "sanction": sanction.pk},
    )
    notify(
        sanction.user,
        Kind.APPEAL_DECIDED,
        title="Your appeal was granted: the sanction is lifted"
        if grant
        else "Your appeal was denied: the sanction stands",
        url=reverse("stewards:my_sanctions"),
        body=f"The steward's answer: {answer}",
    )
    return appeal
