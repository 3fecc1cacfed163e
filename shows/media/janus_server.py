"""Run Janus for the embedded market: write its configuration from settings, then
become the `janus` process. `bazaar.run` starts this beside the web server when the
binary is installed (`python -m shows.media.janus_server`); tests and the bench call
`config_write` and start Janus themselves.
"""

import logging
import os
import shutil
import signal
import socket
import sys
from pathlib import Path

log = logging.getLogger(__name__)

PLUGINS = "/usr/lib/x86_64-linux-gnu/janus"
KEEP = {"libjanus_videoroom.so", "libjanus_http.so"}


def _disabled(folder: str) -> str:
    """Every plugin, transport and logger but VideoRoom and HTTP: less to load, less to
    expose, and no error at start for a logger's configuration we have no use for."""
    path = Path(PLUGINS) / folder
    names = sorted(p.name for p in path.glob("libjanus_*.so")) if path.is_dir() else []
    return ",".join(name for name in names if name not in KEEP)


def config_write(
    folder: Path,
    *,
    token_secret: str,
    http_port: int,
    http_interface: str = "",
    ice_enforce_list: str = "",
    rtp_port_range: str = "20000-40000",
    tls_cert: str = "",
    tls_key: str = "",
) -> Path:
    """Write janus.jcfg and its VideoRoom and HTTP files into `folder`; the main file's
    path. With `tls_cert` and `tls_key` the API is served over HTTPS only, on the same
    port (deploy/compose.yaml: the web processes and Caddy reach it across the host's
    bridge)."""
    folder.mkdir(parents=True, exist_ok=True)
    nat = f'\tice_enforce_list = "{ice_enforce_list}"\n' if ice_enforce_list else ""
    (folder / "janus.jcfg").write_text(
        "general: {\n"
        f'\tconfigs_folder = "{folder}"\n'
        f'\tplugins_folder = "{PLUGINS}/plugins"\n'
        f'\ttransports_folder = "{PLUGINS}/transports"\n'
        f'\tevents_folder = "{PLUGINS}/events"\n'
        f'\tloggers_folder = "{PLUGINS}/loggers"\n'
        "\tdebug_level = 3\n"
        "\ttoken_auth = true\n"
        f'\ttoken_auth_secret = "{token_secret}"\n'
        "\tsession_timeout = 60\n"
        "}\n"
        f'media: {{\n\trtp_port_range = "{rtp_port_range}"\n}}\n'
        f"nat: {{\n\tnice_debug = false\n{nat}}}\n"
        f'plugins: {{\n\tdisable = "{_disabled("plugins")}"\n}}\n'
        f'transports: {{\n\tdisable = "{_disabled("transports")}"\n}}\n'
        f'loggers: {{\n\tdisable = "{_disabled("loggers")}"\n}}\n'
        "events: {\n\tbroadcast = false\n}\n"
    )
    (folder / "janus.plugin.videoroom.jcfg").write_text(
        "general: {\n\tstring_ids = true\n\tlock_rtp_forward = true\n}\n"
    )
    if tls_cert:
        interface = f'\tsecure_ip = "{http_interface}"\n' if http_interface else ""
        listen = f"\thttp = false\n\thttps = true\n\tsecure_port = {http_port}\n{interface}"
        certificates = (
            f'certificates: {{\n\tcert_pem = "{tls_cert}"\n\tcert_key = "{tls_key}"\n}}\n'
        )
    else:
        interface = f'\tip = "{http_interface}"\n' if http_interface else ""
        listen = f"\thttp = true\n\tport = {http_port}\n{interface}\thttps = false\n"
        certificates = ""
    (folder / "janus.transport.http.jcfg").write_text(
        "general: {\n"
        '\tjson = "plain"\n\tbase_path = "/janus"\n'
        f"{listen}"
        "}\n"
        "admin: {\n\tadmin_http = false\n}\n"
        f"{certificates}"
    )
    return folder / "janus.jcfg"


def _port_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def janus_argv(config: Path, binary: str = "janus") -> list[str]:
    return [binary, "-C", str(config), "-F", str(config.parent)]


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bazaar.settings.local")
    import django

    django.setup()
    from django.conf import settings

    from shows.media.janus import token_secret

    binary = shutil.which(settings.JANUS_BINARY)
    if binary is None:
        log.error("%s is not installed: no live video", settings.JANUS_BINARY)
        return 1
    if _port_taken(settings.JANUS_HTTP_PORT):
        # Exiting would have the supervisor restart us until it stops the whole market:
        # say why there is no video, and wait to be stopped with everything else.
        log.error(
            "port %s is taken (another Janus?): no live video from this market; "
            "set JANUS_HTTP_PORT to another port",
            settings.JANUS_HTTP_PORT,
        )
        signal.pause()
        return 0
    config = config_write(
        Path(settings.JANUS_CONFIG_DIR),
        token_secret=token_secret(),
        http_port=settings.JANUS_HTTP_PORT,
        http_interface=settings.JANUS_HTTP_INTERFACE,
        ice_enforce_list=settings.JANUS_ICE_ENFORCE_LIST,
        tls_cert=settings.JANUS_TLS_CERT,
        tls_key=settings.JANUS_TLS_KEY,
    )
    os.execv(binary, janus_argv(config, binary))  # noqa: S606


if __name__ == "__main__":
    sys.exit(main())
