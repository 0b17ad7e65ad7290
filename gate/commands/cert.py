"""``gate cert show FILE``: the filing form's values (公钥, 签名MD5, SHA-1) from a certificate, keystore or profile.

A keystore's password comes from a prompt (no echo) or from the environment variable named by ``--password-env``,
never from an argument: arguments are visible to every user of the machine (``ps``) and stay in shell histories.
"""

from __future__ import annotations

import json
import os

import click

from gate.errors import UsageError


@click.group("cert")
def cert() -> None:
    """Filing values from certificates before there is a package."""


@cert.command("show")
@click.argument("path", type=click.Path(dir_okay=False, path_type=str))
@click.option("--password-env", metavar="VAR",
              help="Read the keystore password from this environment variable (default: prompt without echo).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object (the signers in the shape of gate features).")
def show(path: str, password_env: str | None, as_json: bool) -> int:
    """Print 公钥 / 签名MD5 / SHA-1 of a PEM/DER certificate, PKCS#7 bundle, JKS or PKCS#12 keystore, or an iOS
    .mobileprovision, in the form `gate features` prints them for a package. Exit 0, or 4 when the file cannot be
    read (wrong password, not a certificate file)."""
    from gate.extract.certfile import MAX_CERTIFICATE_FILE_BYTES, CertificateFileError, needs_password, \
        read_certificate_file

    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CERTIFICATE_FILE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}", code="file_unreadable") from None
    password = None
    if needs_password(data):
        password = _password(password_env, path)
    try:
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


def _password(variable: str | None, path: str) -> str:
    if variable:
        value = os.environ.get(variable)
        if value is None:
            raise UsageError(f"--password-env {variable}: the variable is not set", code="password_missing")
        return value
    try:
        return click.prompt(f"Keystore password for {path}", hide_input=True, err=True)
    except click.exceptions.Abort:
        raise
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

