"""A person's words for a device, from its User-Agent: "Firefox on Windows". Enough to
tell one's phone from one's laptop on the sessions page; nothing else is kept."""

import re

# Order matters: Edge and Opera say Chrome too, Chrome says Safari, iOS says Mac OS X.
_BROWSERS = (
    ("Edge", re.compile(r"Edg(e|A|iOS)?/")),
    ("Opera", re.compile(r"OPR/|Opera")),
    ("Samsung Internet", re.compile(r"SamsungBrowser/")),
    ("Firefox", re.compile(r"Firefox/|FxiOS/")),
    ("Chrome", re.compile(r"Chrome/|CriOS/|Chromium/")),
    ("Safari", re.compile(r"Safari/")),
)
_SYSTEMS = (
    ("iPhone", re.compile(r"iPhone")),
    ("iPad", re.compile(r"iPad")),
    ("Android", re.compile(r"Android")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("Windows", re.compile(r"Windows")),
    ("macOS", re.compile(r"Mac OS X|Macintosh")),
    ("Linux", re.compile(r"Linux")),
)


def _first(patterns, user_agent: str, otherwise: str) -> str:
    return next((name for name, pattern in patterns if pattern.search(user_agent)), otherwise)


def device_described(user_agent: str) -> str:
    browser = _first(_BROWSERS, user_agent, "A browser")
    system = _first(_SYSTEMS, user_agent, "")
    return f"{browser} on {system}" if system else browser
