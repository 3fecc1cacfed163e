"""bench/_history.py catches what it is there to catch: a planted loss, a falling high
bid, a wrong winner, a retry told something else, versions out of order."""

from bench._history import Answer, StoredBid, check_history, history_ok


def clean():
    answers = [
        Answer("ann", "k1", True, bid_id="B1", amount_cents=100, version=2, message="lead"),
        Answer("bob", "k2", False, code="bid_too_low", message="low"),
        Answer("bob", "k3", True, bid_id="B2", amount_cents=200, version=3, message="lead"),
        Answer("bob", "k3", True, bid_id="B2", amount_cents=200, version=3, message="lead"),
    ]
    stored = [StoredBid("B1", "ann", 100, True), StoredBid("B2", "bob", 200, True)]
    return answers, stored


def test_a_clean_history_passes():
    answers, stored = clean()
    assert history_ok(check_history(answers, stored, "bob", 200))


def test_a_planted_loss_is_caught():
    answers, stored = clean()
    violations = check_history(answers, stored[:1], "ann", 100)
    assert violations["lost"] == ["B2"] and not history_ok(violations)


def test_a_falling_high_bid_and_a_wrong_winner_are_caught():
    answers, stored = clean()
    stored = [*stored, StoredBid("B3", "cat", 150, True)]
    violations = check_history(answers, stored, "cat", 150)
    assert violations["falling"] == [(200, 150)]
    assert violations["wrong_winner"] == [(("cat", 150), ("bob", 200))]


def test_a_retry_told_something_else_and_versions_out_of_order_are_caught():
    answers, stored = clean()
    answers[3] = Answer("bob", "k3", False, code="already_leading", message="leading")
    answers.append(Answer("ann", "k4", True, bid_id="B1", amount_cents=100, version=5))
    violations = check_history(answers, stored, "bob", 200)
    assert ("bob", "k3") in violations["retry_differs"]
    assert violations["version_order"] == [((3, 200), (5, 100))]
