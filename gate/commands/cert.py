"""``gate cert show FILE``: the filing form's values (公钥, 签名MD5, SHA-1) from a certificate, keystore or profile.

A keystore's password comes from a prompt (no echo) or from the environment variable named by ``--password-env``,
never from an argument: arguments are visible to every user of the machine (``ps``) and stay in shell histories.
"""

from __future__ import annotations

import json
import os
import sys

import click

from gate.errors import UsageError


@click.group("cert")
def cert() -> None:
    """Filing values from certificates before there is a package."""


@cert.command("show")
@click.argument("path", type=click.Path(path_type=str))
@click.option("--password-env", metavar="VAR",
              help="Read the keystore password from this environment variable (default: prompt without echo).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object (the signers in the shape of gate features).")
def show(path: str, password_env: str | None, as_json: bool) -> int:
    """Print 公钥 / 签名MD5 / SHA-1 of a PEM/DER certificate, PKCS#7 bundle, JKS or PKCS#12 keystore, or an iOS
    .mobileprovision, in the form `gate features` prints them for a package. Exit 0; 4 when the file cannot be
    read (missing, a directory, wrong password, not a certificate file); 2 when a keystore's password is not given."""
    from gate.extract.certfile import (
        MAX_CERTIFICATE_FILE_BYTES,
        CertificateFileError,
        needs_password,
        read_certificate_file,
    )

    try:
        data = _read(path, MAX_CERTIFICATE_FILE_BYTES + 1)
        password = _password(password_env, path) if needs_password(data) else None
        found = read_certificate_file(data, password=password)
    except CertificateFileError as exc:
        if as_json:
            click.echo(json.dumps({"path": path, "problems": [exc.as_dict()]}, ensure_ascii=False))
        else:
            click.echo(f"== {path}\n  PROBLEM [{exc.code}] {exc.message}")
        return 4
    if as_json:
        click.echo(json.dumps({"path": path, **found.as_dict()}, ensure_ascii=False))
    else:
        click.echo(render(path, found))
    return 0


def _read(path: str, limit: int) -> bytes:
    """The file's bytes; a file that cannot be read is a problem of the file (exit 4, as in ``gate features``)."""
    from gate.extract.certfile import CertificateFileError

    try:
        with open(path, "rb") as handle:
            return handle.read(limit)
    except FileNotFoundError:
        raise CertificateFileError(f"{path} does not exist", code="file_not_found") from None
    except IsADirectoryError:
        raise CertificateFileError(f"{path} is a directory, not a certificate file", code="file_is_directory") from None
    except OSError as exc:
        raise CertificateFileError(f"cannot read {path}: {exc.strerror}", code="file_unreadable") from None


def _password(variable: str | None, path: str) -> str:
    if variable:
        value = os.environ.get(variable)
        if value is None:
            raise UsageError(f"--password-env {variable}: the variable is not set", code="password_missing")
        return value
    # Without a terminal getpass would warn and fall back to echoing: read the first line of standard input instead
    # (a pipe), and with nothing there say what works.
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise UsageError(f"{path} is a keystore and no password was given: pipe it on standard input, run on a "
                             "terminal, or give --password-env VAR (a variable that holds it)", code="password_missing")
        return line.rstrip("\r\n")
    try:
        return click.prompt(f"Keystore password for {path}", hide_input=True, err=True)
    except (EOFError, OSError):
        raise UsageError("no keystore password: give --password-env VAR or run on a terminal",
                         code="password_missing") from None


def render(path: str, found) -> str:
    """The filing-form block of ``gate features`` (gate.extract.signing.form), for a certificate file."""
    from gate.extract.signing.form import filing_form_lines

    lines = [f"== {path}", f"  kind: {found.kind}"]
    for key, value in found.details.items():
        lines.append(f"  {key}: {', '.join(value) if isinstance(value, list) else value}")
    names = [name for name, _ in found.signers]
    if any(names):
        lines.append(f"  entries: {', '.join(name or '-' for name in names)}")
    lines.append("  filing form (备案信息):")
    form = filing_form_lines(found.identifier, [signer for _, signer in found.signers])
    if found.kind == "mobileprovision":  # the iOS form asks for the Bundle ID where Android's asks for 包名
        form[0] = f"Bundle ID: {found.identifier or '-'}"
    elif found.identifier is None:
        form = form[1:]  # no package yet: 包名 comes from the build, not from the certificate
    lines.extend(f"    {line}" for line in form)
    return "\n".join(lines)

