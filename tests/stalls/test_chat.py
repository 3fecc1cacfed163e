"""Chat rules: what is accepted, what is refused, what is held, and who sees what."""

import pytest
from django.urls import reverse

from bazaar.errors import Invalid, NotAllowed, RateLimited
from governance.models import Role
from governance.services import role_grant
from stalls.models import ChatMessage
from stalls.room.chat import chat_message_delete, chat_message_release, chat_post
from stalls.room.document import document_snapshot


def chat_ids(stall):
    return [entry["id"] for entry in document_snapshot(stall_id=stall.pk)["chat"]]


@pytest.mark.django_db
def test_an_accepted_message_is_stored_and_written_into_the_document(stall, make_user):
    buyer = make_user("talker")
    message = chat_post(user=buyer, stall=stall, text="  Is the lamp still here?  ")
    assert message.text == "Is the lamp still here?"
    assert message.status == "visible"
    [entry] = document_snapshot(stall_id=stall.pk)["chat"]
    assert entry["id"] == message.public_id
    assert entry["author"] == "talker" and entry["text"] == "Is the lamp still here?"
    assert "status" not in entry


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "error", "code"),
    [("   ", Invalid, "empty"), ("x" * 501, Invalid, "too_long")],
)
def test_bad_messages_are_refused_and_nothing_is_stored(stall, make_user, text, error, code):
    with pytest.raises(error) as refused:
        chat_post(user=make_user("typo"), stall=stall, text=text)
    assert refused.value.code == code
    assert not ChatMessage.objects.exists()
    assert chat_ids(stall) == []


@pytest.mark.django_db
def test_a_message_of_exactly_500_characters_is_accepted(stall, make_user):
    assert chat_post(user=make_user("verbose"), stall=stall, text="y" * 500).status == "visible"


@pytest.mark.django_db
def test_guests_cannot_chat(stall):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotAllowed) as refused:
        chat_post(user=AnonymousUser(), stall=stall, text="hi")
    assert refused.value.code == "auth_required"


@pytest.mark.django_db
def test_a_sender_is_limited_to_five_messages_in_ten_seconds(stall, make_user):
    chatty = make_user("chatty")
    for number in range(5):
        chat_post(user=chatty, stall=stall, text=f"message {number}")
    with pytest.raises(RateLimited, match="at most 5 messages every 10 seconds"):
        chat_post(user=chatty, stall=stall, text="one too many")
    assert ChatMessage.objects.filter(author=chatty).count() == 5
    chat_post(user=make_user("patient"), stall=stall, text="others still can")


@pytest.mark.django_db
def test_mentions_resolve_to_people_known_in_the_stall(stall, make_user):
    make_user("stranger")
    regular = make_user("regular")
    chat_post(user=regular, stall=stall, text="hello")
    message = chat_post(
        user=make_user("asker"),
        stall=stall,
        text=f"@REGULAR and @{stall.seller.user.handle}, not @stranger nor @nobody",
    )
    assert message.mentions == sorted(["regular", stall.seller.user.handle])


@pytest.mark.django_db
def test_a_banned_word_holds_the_message_for_review(stall, make_user):
    from governance.services import banned_word_add

    steward = make_user("steward")
    role_grant(user=steward, role=Role.STEWARD)
    banned_word_add(word="scoundrel", added_by=steward)
    rude = chat_post(user=make_user("rude"), stall=stall, text="You s.c.o.u.n.d.r.e.l!")
    assert rude.status == "held"
    assert chat_ids(stall) == []

    chat_message_release(message=rude, actor=steward)
    assert chat_ids(stall) == [rude.public_id]
    chat_message_delete(message=rude, actor=steward)
    assert chat_ids(stall) == []
    rude.refresh_from_db()
    assert rude.status == "deleted" and rude.moderated_by == steward


@pytest.mark.django_db
def test_a_released_message_takes_its_place_in_id_order(stall, make_user):
    from governance.services import banned_word_add

    steward = make_user("steward")
    role_grant(user=steward, role=Role.STEWARD)
    banned_word_add(word="scoundrel", added_by=steward)
    held = chat_post(user=make_user("early"), stall=stall, text="scoundrel")
    later = chat_post(user=make_user("late"), stall=stall, text="later")
    chat_message_release(message=held, actor=steward)
    assert chat_ids(stall) == [held.public_id, later.public_id]


@pytest.mark.django_db
def test_only_stewards_moderate(stall, make_user):
    message = chat_post(user=make_user("poster"), stall=stall, text="hi")
    with pytest.raises(NotAllowed):
        chat_message_delete(message=message, actor=stall.seller.user)


@pytest.mark.django_db
def test_muted_users_are_refused_with_the_reason(stall, make_user):
    from governance.services import sanction_impose

    steward = make_user("steward")
    role_grant(user=steward, role=Role.STEWARD)
    noisy = make_user("noisy")
    sanction_impose(
        user=noisy,
        kind="mute",
        reason="spamming",
        stall=stall,
        duration=None,
        imposed_by=steward,
    )
    with pytest.raises(NotAllowed, match="spamming") as refused:
        chat_post(user=noisy, stall=stall, text="let me talk")
    assert refused.value.code == "mute"
    assert not ChatMessage.objects.exists()


@pytest.mark.django_db
def test_scroll_back_pages_through_older_messages_with_own_held_ones(client, stall, make_user):
    from governance.services import banned_word_add

    steward = make_user("steward")
    role_grant(user=steward, role=Role.STEWARD)
    banned_word_add(word="scoundrel", added_by=steward)
    poster = make_user("poster")
    ids = []
    for number in range(4):
        ids.append(
            chat_post(user=make_user(f"talker{number}"), stall=stall, text=f"m{number}").public_id
        )
    held = chat_post(user=poster, stall=stall, text="scoundrel").public_id
    url = reverse("stalls:chat_history", args=[stall.public_id])

    page = client.get(url, {"before": held}).json()
    assert [m["id"] for m in page["messages"]] == ids[::-1]
    assert page["more"] is False
    assert held not in [m["id"] for m in client.get(url).json()["messages"]]
    client.force_login(poster)
    mine = client.get(url).json()["messages"]
    assert mine[0]["id"] == held and mine[0]["status"] == "held"
    assert client.get(url, {"before": "nonsense"}).status_code == 400


@pytest.mark.django_db
def test_stewards_work_the_moderation_queue_in_the_admin(client, stall, make_user):
    from governance.services import banned_word_add

    steward = make_user("steward")
    role_grant(user=steward, role=Role.STEWARD)
    banned_word_add(word="scoundrel", added_by=steward)
    held = chat_post(user=make_user("rude"), stall=stall, text="scoundrel!")
    client.force_login(steward)
    queue = client.get(reverse("admin:stalls_chatmessage_changelist"), {"status__exact": "held"})
    assert queue.status_code == 200 and "scoundrel!" in queue.content.decode()
    client.post(
        reverse("admin:stalls_chatmessage_changelist"),
        {"action": "release", "_selected_action": [held.pk]},
    )
    assert chat_ids(stall) == [held.public_id]
    client.post(
        reverse("admin:stalls_chatmessage_changelist"),
        {"action": "delete_messages", "_selected_action": [held.pk]},
    )
    assert chat_ids(stall) == []


@pytest.mark.django_db
def test_a_long_document_log_is_compacted_by_the_task(
    stall, make_user, monkeypatch, django_capture_on_commit_callbacks
):
    from stalls.models import StallDocument
    from stalls.room import document

    monkeypatch.setattr(document, "COMPACT_AFTER", 3)
    with django_capture_on_commit_callbacks(execute=True):
        for number in range(3):
            chat_post(user=make_user(f"poster{number}"), stall=stall, text=f"n{number}")
    assert StallDocument.objects.get(stall=stall).epoch == 2
    assert [e["text"] for e in document_snapshot(stall_id=stall.pk)["chat"]] == ["n0", "n1", "n2"]
