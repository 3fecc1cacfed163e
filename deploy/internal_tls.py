"""Certificates for TLS between the market's own components (OWASP ASVS V1.9.1).

    python deploy/internal_tls.py                     # deploy/certs/: postgres, redis, janus
    python deploy/internal_tls.py --out DIR --name 127.0.0.1

A private certificate authority of the deployment's own, and a certificate it signs
for each server the web processes, the worker, beat and Caddy talk to: PostgreSQL
(`sslmode=verify-full`), Redis (`rediss://`, `ssl_cert_reqs=required`) and Janus's API
(`JANUS_API_CA`, Caddy's `tls_trusted_ca_certs`), as deploy/compose.yaml connects to
them. Clients trust only this CA (its `ca.pem`), so a host on the network that is not
one of those servers cannot pose as one, and nothing between them reads the traffic.
The CA's key stays where this ran, never in a container. Run it as root, so that
Janus's key goes to the image's user. Renewing (runbook, "Rotate secrets") is running
this again, which keeps the CA and renews the servers' certificates unless --new-ca.
Made with the openssl command line, which every host and image here has.
"""

import argparse
import ipaddress
import os
import subprocess
import sys
import tempfile
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent
# Each server and the host names its clients dial (verify-full checks them). Janus runs
# on the host's network: the web processes and Caddy reach it by the host's name.
SERVERS = {
    "postgres": ["postgres"],
    "redis": ["redis"],
    "janus": ["host.docker.internal"],
}
# Janus runs as the image's own user (deploy/Dockerfile: `useradd --uid 10001`), not as
# root, so its key is made that user's (PostgreSQL and Redis copy theirs at start).
KEY_OWNERS = {"janus": 10001}
CA_DAYS = 3650
SERVER_DAYS = 825


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _alt_name(name: str) -> str:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return f"DNS:{name}"
    return f"IP:{name}"


def authority(out: Path, *, renew: bool) -> tuple[Path, Path]:
    """The deployment's CA (made once; again only when asked)."""
    key, cert = out / "ca.key", out / "ca.pem"
    if renew or not (key.exists() and cert.exists()):
        _openssl(
            *("req", "-x509", "-newkey", "rsa:3072", "-nodes", "-days", str(CA_DAYS)),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=Mesh Bazaar internal CA"),
            *("-addext", "basicConstraints=critical,CA:TRUE"),
            *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
        )
        key.chmod(0o600)
    return key, cert


def server_certificate(out: Path, ca: tuple[Path, Path], file_stem: str, names: list[str]) -> Path:
    """`file_stem`.pem and .key, valid for each of `names` (the host names clients
    dial: verify-full checks them)."""
    ca_key, ca_cert = ca
    key, cert = out / f"{file_stem}.key", out / f"{file_stem}.pem"
    with tempfile.TemporaryDirectory() as scratch:
        request, extensions = Path(scratch) / "request.csr", Path(scratch) / "extensions"
        extensions.write_text(
            f"subjectAltName={','.join(_alt_name(name) for name in names)}\n"
            "extendedKeyUsage=serverAuth\n"
            "basicConstraints=critical,CA:FALSE\n"
        )
        _openssl(
            *("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key)),
            *("-out", str(request), "-subj", f"/CN={names[0]}"),
        )
        _openssl(
            *("x509", "-req", "-in", str(request), "-CA", str(ca_cert), "-CAkey", str(ca_key)),
            *("-CAcreateserial", "-days", str(SERVER_DAYS), "-sha256"),
            *("-out", str(cert), "-extfile", str(extensions)),
        )
    key.chmod(0o600)
    return cert


def make(out: Path, *, names: list[str] | None = None, new_ca: bool = False) -> dict[str, Path]:
    """The CA and one certificate per server: by default compose's (`SERVERS`); with
    `names`, one certificate called `server` for those names."""
    out.mkdir(parents=True, exist_ok=True)
    ca = authority(out, renew=new_ca)
    made = {"ca": ca[1]}
    if names:
        made["server"] = server_certificate(out, ca, "server", names)
    else:
        for server, host_names in SERVERS.items():
            made[server] = server_certificate(out, ca, server, host_names)
            if server in KEY_OWNERS and os.geteuid() == 0:
                os.chown(out / f"{server}.key", KEY_OWNERS[server], -1)
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEPLOY / "certs")
    parser.add_argument(
        "--name", action="append", help="make one certificate, `server`, for these host names"
    )
    parser.add_argument("--new-ca", action="store_true", help="replace the CA too")
    args = parser.parse_args()
    made = make(args.out, names=args.name, new_ca=args.new_ca)
    for what, path in made.items():
        sys.stdout.write(f"{what}: {path}\n")


if __name__ == "__main__":
    main()
