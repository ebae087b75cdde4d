"""``liveexec keys``: approvers' signing keys and the trusted approvers file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from liveexec.cli._common import err, fail, group, out
from liveexec.errors import LiveexecError

__all__ = ["keys_app"]

keys_app = group(
    "Approvers' Ed25519 keys. A promotion decision counts for `liveexec live` only when "
    "signed by a key that the trusted approvers file of the live host lists "
    "($LIVEEXEC_TRUSTED_APPROVERS, else ~/.config/liveexec/trusted_approvers; one "
    "`NAME ed25519 PUBLIC_KEY` line per key). Keys and that file live outside the database, "
    "out of reach of whoever can write to it."
)


def _trusted_line(name: str, public_key: str) -> str:
    return f"{name} ed25519 {public_key}"


@keys_app.command("generate")
def keys_generate(
    name: Annotated[str, typer.Argument(help="The approver's name, as the trusted file lists.")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Where to write the private key (mode 0600; default $LIVEEXEC_SIGNING_KEY, "
            "else ~/.config/liveexec/approver.pem). Never overwritten.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create an approver's key pair: the private key is written (encrypted when
    $LIVEEXEC_SIGNING_KEY_PASSPHRASE is set), and the line to add to the trusted approvers file
    of each live host is printed."""
    from liveexec.promotion import (  # noqa: PLC0415 (cheap --help)
        APPROVER_NAME_PATTERN,
        default_key_path,
        generate_key,
    )

    if not APPROVER_NAME_PATTERN.fullmatch(name):
        err().print(
            f"[bold red]error:[/] approver name {name!r}: letters, digits and . _ @ + - only "
            "(at most 64)",
            highlight=False,
        )
        raise typer.Exit(2)
    try:
        signer = generate_key(out if out is not None else default_key_path())
    except LiveexecError as exc:
        raise fail(exc) from None
    console = err()
    console.print(f"private key written to {signer.path} (keep it; it signs as {name})")
    console.print(f"fingerprint {signer.fingerprint}")
    console.print("add this line to the trusted approvers file of each host that runs `live`:")
    typer.echo(_trusted_line(name, signer.public_key))


@keys_app.command("show")
def keys_show(
    name: Annotated[str, typer.Argument(help="The approver's name for the printed line.")],
    key: Annotated[
        Path | None,
        typer.Option("--key", help="The private key (default as `liveexec promote`)."),
    ] = None,
) -> None:
    """Print the trusted approvers line of an existing key."""
    from liveexec.promotion import default_key_path, load_signer  # noqa: PLC0415 (cheap --help)

    try:
        signer = load_signer(key if key is not None else default_key_path())
    except LiveexecError as exc:
        raise fail(exc) from None
    assert signer is not None  # a named path that is missing raises
    err().print(f"{signer.path}: fingerprint {signer.fingerprint}")
    typer.echo(_trusted_line(name, signer.public_key))


@keys_app.command("trusted")
def keys_trusted() -> None:
    """List the trusted approvers this host accepts signatures from."""
    from liveexec.promotion import fingerprint, read_trusted_approvers  # noqa: PLC0415

    try:
        trusted = read_trusted_approvers()
    except LiveexecError as exc:
        raise fail(exc) from None
    table = Table(title=f"Trusted approvers ({trusted.path})")
    table.add_column("approver")
    table.add_column("key fingerprint", overflow="fold")
    for name, keys in sorted(trusted.keys.items()):
        for public in sorted(keys):
            table.add_row(name, fingerprint(public))
    out().print(table)
    if not trusted.keys:
        err().print(
            f"nobody: {trusted.path} does not exist or lists no key; `liveexec live` refuses "
            "every config"
        )
