"""Steward elections: who may stand and vote, the tally, ops' approval, terms.

- Standing: a seller in good standing (KYC approved, selling for STEWARD_MIN_SELLING_DAYS,
  no active sanction) with a statement, until the election opens.
- Voting: sellers with a stall, one vote each while it is open (the unique index on
  (election, voter) refuses a second, also two sent at once); whom they chose is never
  shown. While open, only the turnout is shown (live), against the quorum.
- The result, once closed: quorum (QUORUM % of the active sellers voted) and a majority
  (more than half of the votes cast) for one candidate; a tie at the top, a missed quorum
  or no majority elects nobody. Ops approve a winner (`manage.py steward_approve`, an
  admin action): the winner joins the Stewards group for `term_days`.
- Terms end (hourly sweep) or ops revoke them; every step is audited.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from bazaar.errors import Conflict, Invalid, NotAllowed, NotFound
from governance.models import Role, StewardAction
from governance.selectors import sanction_active_q, user_is_ops
from governance.services import reason_clean, role_grant, role_revoke, steward_action_record
from notifications.models import Kind
from notifications.services import notify
from stalls.selectors import seller_profile_for_user, sellers_with_stall_count, stall_for_user

from .models import Candidacy, Election, StewardTerm, Vote

STATEMENT_LIMIT = 2000


# Who may do what


def standing_refusal(*, user) -> str:
    """Why `user` may not stand ("" when they may)."""
    seller = seller_profile_for_user(user=user)
    if seller is None:
        return "Only sellers can stand: open a stall first."
    if seller.kyc_status != "approved":
        return "Your identity check (KYC) must be approved before you can stand."
    days = settings.STEWARD_MIN_SELLING_DAYS
    if seller.created_at > timezone.now() - timedelta(days=days):
        return f"You can stand once you have been selling for {days} days."
    if user.chat_sanctions.filter(sanction_active_q(now=timezone.now())).exists():
        return "You cannot stand while a sanction on you is active."
    return ""


def voting_refusal(*, user) -> str:
    if not user.is_authenticated:
        return "Sign in to vote."
    if stall_for_user(user=user) is None:
        return "Only sellers with a stall vote for stewards."
    return ""


def election_phase(election: Election) -> str:
    now = timezone.now()
    if now < election.opens_at:
        return "standing"
    if now < election.closes_at:
        return "voting"
    return "approved" if election.approved_at else "closed"


# Writes


def _audit(actor, action, election: Election, reason: str, **detail) -> None:
    steward_action_record(
        actor=actor,
        action=action,
        target_kind="election",
        target_ref=election.public_id,
        target_label=election.title,
        reason=reason,
        detail=detail,
    )


@transaction.atomic
def election_create(*, actor, title: str, opens_at, closes_at, quorum_percent: int = 20):
    if not user_is_ops(user=actor):
        raise NotAllowed("Only ops open steward elections.")
    title = reason_clean(title, limit=120, asked="Name the election")
    if closes_at <= opens_at:
        raise Invalid("The election must close after it opens.")
    if not 1 <= quorum_percent <= 100:
        raise Invalid("The quorum is a share from 1 to 100 per cent.")
    election = Election.objects.create(
        title=title,
        opens_at=opens_at,
        closes_at=closes_at,
        quorum_percent=quorum_percent,
        created_by=actor,
    )
    _audit(actor, StewardAction.Action.ELECTION_OPEN, election, f"Opened “{title}”.")
    return election


def candidacy_stand(*, user, election: Election, statement: str) -> Candidacy:
    """Stand with a statement; standing again returns the first candidacy."""
    existing = Candidacy.objects.filter(election=election, user=user).first()
    if existing is not None:
        return existing
    if election_phase(election) != "standing":
        raise Conflict("Standing closed when voting opened.")
    refusal = standing_refusal(user=user)
    if refusal:
        raise NotAllowed(refusal)
    statement = statement.strip()
    if not statement:
        raise Invalid("Write a statement: voters read it.")
    if len(statement) > STATEMENT_LIMIT:
        raise Invalid(f"Keep the statement under {STATEMENT_LIMIT} characters.")
    try:
        with transaction.atomic():
            return Candidacy.objects.create(election=election, user=user, statement=statement)
    except IntegrityError:
        return Candidacy.objects.get(election=election, user=user)


def vote_cast(*, voter, election: Election, candidacy_public_id: str) -> Vote:
    """One vote each: a second (also one sent at the same moment) is refused."""
    refusal = voting_refusal(user=voter)
    if refusal:
        raise NotAllowed(refusal)
    if election_phase(election) != "voting":
        raise Conflict("This election is not open for voting.")
    candidacy = Candidacy.objects.filter(election=election, public_id=candidacy_public_id).first()
    if candidacy is None:
        raise Invalid("Choose one of the candidates.")
    if candidacy.user_id == voter.pk:
        raise Invalid("Vote for someone else: you cannot vote for yourself.")
    try:
        with transaction.atomic():
            return Vote.objects.create(election=election, voter=voter, candidacy=candidacy)
    except IntegrityError as error:
        raise Conflict("You have already voted in this election.") from error


@dataclass(frozen=True)
class Tally:
    votes: int
    eligible: int
    quorum_needed: int
    counts: list[tuple[Candidacy, int]]  # empty while voting: secret until the close
    closed: bool

    @property
    def quorum_met(self) -> bool:
        return self.votes >= self.quorum_needed

    @property
    def majority_needed(self) -> int:
        return self.votes // 2 + 1

    @property
    def tie(self) -> bool:
        return len(self.counts) > 1 and self.counts[0][1] == self.counts[1][1]

    @property
    def winner(self) -> Candidacy | None:
        if not self.closed or not self.quorum_met or not self.counts or self.tie:
            return None
        leader, votes = self.counts[0]
        return leader if votes >= self.majority_needed else None

    @property
    def outcome(self) -> str:
        if not self.closed:
            return "Voting is open; the tallies are secret until it closes."
        if not self.quorum_met:
            return f"No result: {self.votes} voted, the quorum was {self.quorum_needed}."
        if self.tie:
            return "No result: a tie for the most votes. Ops will call a new election."
        if self.winner is None:
            return f"No result: nobody won a majority ({self.majority_needed} votes)."
        return f"@{self.winner.user.handle} won with {self.counts[0][1]} of {self.votes} votes."


def election_tally(election: Election) -> Tally:
    """Turnout against the quorum (live), and the counts once voting has closed."""
    eligible = sellers_with_stall_count()
    quorum_needed = max(1, -(-eligible * election.quorum_percent // 100))
    votes = election.votes.count()
    closed = election_phase(election) in ("closed", "approved")
    counts = []
    if closed:
        candidacies = list(election.candidacies.select_related("user"))
        by_candidate = dict.fromkeys((c.pk for c in candidacies), 0)
        for candidacy_id in election.votes.values_list("candidacy_id", flat=True):
            by_candidate[candidacy_id] += 1
        counts = sorted(
            ((c, by_candidate[c.pk]) for c in candidacies), key=lambda pair: (-pair[1], pair[0].pk)
        )
    return Tally(votes, eligible, quorum_needed, counts, closed)


@transaction.atomic
def election_approve(*, actor, election_public_id: str) -> StewardTerm:
    """Ops confirm a closed election's winner: the steward role for `term_days`."""
    if actor is not None and not user_is_ops(user=actor):
        raise NotAllowed("Only ops approve election results.")
    election = Election.objects.select_for_update().filter(public_id=election_public_id).first()
    if election is None:
        raise NotFound("No election has that address.")
    if election.approved_at is not None:
        raise Conflict("That result was approved already.")
    if election_phase(election) != "closed":
        raise Conflict("Voting has not closed yet.")
    winner = election_tally(election).winner
    if winner is None:
        raise Conflict(election_tally(election).outcome)
    now = timezone.now()
    election.approved_by, election.approved_at, election.winner = actor, now, winner.user
    election.save(update_fields=["approved_by", "approved_at", "winner"])
    term = StewardTerm.objects.create(
        user=winner.user,
        election=election,
        starts_at=now,
        ends_at=now + timedelta(days=election.term_days),
    )
    role_grant(user=winner.user, role=Role.STEWARD, granted_by=actor)
    _audit(
        actor,
        StewardAction.Action.ELECTION_APPROVE,
        election,
        election_tally(election).outcome,
        winner=winner.user.public_id,
        term_ends=term.ends_at.isoformat(),
    )
    notify(
        winner.user,
        Kind.STEWARD_ELECTION,
        title=f"You are a steward until {term.ends_at:%d %b %Y}",
        url=reverse("stewards:election", args=[election.public_id]),
        body=f"Ops approved the result of “{election.title}”. Welcome to the console.",
    )
    return term


@transaction.atomic
def steward_term_end(*, term: StewardTerm, actor=None, reason: str) -> StewardTerm:
    """End a term now: revoked by ops (actor) or over (actor None, from the sweep)."""
    if actor is not None and not user_is_ops(user=actor):
        raise NotAllowed("Only ops revoke stewards.")
    reason = reason_clean(reason, asked="Say why the term ends")
    term = StewardTerm.objects.select_for_update().get(pk=term.pk)
    if term.ended_at is not None:
        return term
    term.ended_at, term.ended_by, term.end_reason = timezone.now(), actor, reason
    term.save(update_fields=["ended_at", "ended_by", "end_reason"])
    still_serving = StewardTerm.objects.filter(user=term.user, ended_at__isnull=True).exclude(
        pk=term.pk
    )
    if not still_serving.exists():
        role_revoke(user=term.user, role=Role.STEWARD)
    steward_action_record(
        actor=actor,
        action=StewardAction.Action.STEWARD_REVOKE,
        target_kind="user",
        target_ref=term.user.public_id,
        target_label=f"@{term.user.handle}",
        reason=reason,
        detail={"term": term.public_id, "revoked": actor is not None},
    )
    return term


def steward_terms_end_due() -> int:
    """Hourly: end the terms whose time is up."""
    due = StewardTerm.objects.filter(ended_at__isnull=True, ends_at__lte=timezone.now())
    ended = 0
    for term in due.select_related("user"):
        steward_term_end(term=term, reason="The term ended.")
        ended += 1
    return ended


def election_get(*, public_id: str) -> Election:
    election = Election.objects.filter(public_id=public_id).first()
    if election is None:
        raise NotFound("No election has that address.")
    return election


def elections_recent(limit: int = 20) -> list[Election]:
    return list(Election.objects.all()[:limit])


def voted(*, user, election: Election) -> bool:
    return user.is_authenticated and election.votes.filter(voter=user).exists()
