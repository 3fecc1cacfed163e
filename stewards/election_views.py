"""Steward election pages: the list, one election (candidates, statements, live
turnout, the result after the close), standing and voting."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from bazaar.errors import DomainError

from .elections import (
    candidacy_stand,
    election_get,
    election_phase,
    election_tally,
    elections_recent,
    standing_refusal,
    vote_cast,
    voted,
    voting_refusal,
)


@require_GET
def election_list(request: HttpRequest) -> HttpResponse:
    return render(request, "stewards/elections.html", {"elections": elections_recent()})


def _context(request: HttpRequest, election, **extra) -> dict:
    user = request.user
    signed_in = user.is_authenticated
    stands = signed_in and election.candidacies.filter(user=user).exists()
    return {
        "election": election,
        "phase": election_phase(election),
        "candidacies": list(election.candidacies.select_related("user")),
        "tally": election_tally(election),
        "voted": voted(user=user, election=election),
        "voting_refusal": voting_refusal(user=user),
        "standing_refusal": standing_refusal(user=user) if signed_in else "Sign in to stand.",
        "stands": stands,
        **extra,
    }


@require_GET
def election_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    election = election_get(public_id=public_id)
    template = "stewards/_turnout.html" if request.htmx else "stewards/election.html"
    return render(request, template, _context(request, election))


def _answer(request, election, action, done: str):
    try:
        action()
    except DomainError as error:
        context = _context(
            request, election, error=error, statement=request.POST.get("statement", "")
        )
        return render(request, "stewards/election.html", context, status=error.status)
    messages.success(request, done)
    return redirect("stewards:election", election.public_id)


@login_required
@require_POST
def stand(request: HttpRequest, public_id: str) -> HttpResponse:
    election = election_get(public_id=public_id)
    return _answer(
        request,
        election,
        lambda: candidacy_stand(
            user=request.user, election=election, statement=request.POST.get("statement", "")
        ),
        "You are standing. Voters read your statement when voting opens.",
    )


@login_required
@require_POST
def vote(request: HttpRequest, public_id: str) -> HttpResponse:
    election = election_get(public_id=public_id)
    return _answer(
        request,
        election,
        lambda: vote_cast(
            voter=request.user,
            election=election,
            candidacy_public_id=request.POST.get("candidate", ""),
        ),
        "Your vote is in. It stays secret; the tallies show when voting closes.",
    )
