"""Every frame type a consumer sends or accepts, and every error code a socket can
answer with, is documented in docs/protocol.md."""

import inspect
import re
from pathlib import Path

from bazaar.errors import DomainError, RateLimited
from governance.models import ChatSanction
from offers.consumers import OfferRoomConsumer
from stalls.room.chat import chat_post

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = (ROOT / "docs" / "protocol.md").read_text()
DOCUMENTED = set(re.findall(r"`([a-z_]+)`", PROTOCOL))
CONSUMERS = [
    ROOT / "stalls" / "room" / "consumers.py",
    ROOT / "market" / "consumers.py",
    ROOT / "auctions" / "consumers.py",
    ROOT / "notifications" / "consumers.py",
    ROOT / "offers" / "consumers.py",
]
# Frames encoded once for a whole group, outside the consumers.
PREBUILT_FRAMES = [
    ROOT / "stalls" / "room" / "document.py",
    ROOT / "stalls" / "room" / "cursors.py",
    ROOT / "offers" / "ladder.py",
    ROOT / "auctions" / "frames.py",
    ROOT / "bazaar" / "fanout.py",
    ROOT / "notifications" / "frames.py",
]


def _source(path: Path) -> str:
    return path.read_text()


def sent_frame_types() -> set[str]:
    """`"type": "…"` literals without a dot (dotted ones are channel-layer events),
    and the market broadcasts' payloads, which the market socket forwards as they are."""
    found = set()
    for path in CONSUMERS + PREBUILT_FRAMES:
        found |= set(re.findall(r'"type":\s*"([a-z_]+)"', _source(path)))
    for path in [ROOT / "stalls" / "services.py", ROOT / "stalls" / "room" / "visitors.py"]:
        found |= set(re.findall(r'"payload":\s*\{\s*"type":\s*"([a-z_]+)"', _source(path)))
    return found


def accepted_frame_types() -> set[str]:
    """What the stall socket's consumer (as routed: with offers) handles."""
    return set(OfferRoomConsumer.frame_handlers)


def socket_error_codes() -> set[str]:
    codes = set()
    for path in CONSUMERS:
        codes |= set(re.findall(r'_error\(\s*"([a-z_]+)"', _source(path)))
        codes |= set(re.findall(r'"code":\s*"([a-z_]+)"', _source(path)))
    codes |= set(re.findall(r'code="([a-z_]+)"', inspect.getsource(chat_post)))
    codes |= {RateLimited.code} | {kind.value for kind in ChatSanction.Kind}
    return codes


def test_the_scan_finds_what_it_should():
    assert {"welcome", "doc", "chat_ack", "cursors", "section_changed", "stall_live", "batch"} <= (
        sent_frame_types()
    )
    assert accepted_frame_types() == {"chat", "cursor", "ping", "offer"}
    assert "offer_ack" in sent_frame_types()
    assert {"auth_required", "rate_limited", "read_only_document"} <= socket_error_codes()


def test_every_sent_frame_type_is_documented():
    assert sent_frame_types() - DOCUMENTED == set()


def test_every_accepted_frame_type_is_documented():
    assert accepted_frame_types() - DOCUMENTED == set()


def test_every_error_code_is_documented():
    assert socket_error_codes() - DOCUMENTED == set()


def test_domain_errors_have_codes():
    assert DomainError("x").code == "invalid"
