"""gpg-agent, asked directly for signatures over one Assuan connection per process.

gpg itself signs by sending the agent a key's keygrip and a digest (SIGKEY, SETHASH,
PKSIGN); the agent answers with the signature's values and the secret key never leaves
it. Doing the same from Python saves starting gpg for every signature: `openpgp` builds
the packet around the values.

A connection is never shared between processes: one made before a fork is left to the
process that made it, and a forked worker opens its own on first use.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sitegen.sign import openpgp

CONNECT_TIMEOUT = 10.0  # seconds; an agent that stops answering is a failure, never a hang
# OpenPGP's hash algorithm IDs, as SETHASH names them.
_HASH_OPTION = {8: "--hash=sha256", 9: "--hash=sha384", 10: "--hash=sha512"}


class AgentError(Exception):
    """The agent cannot be reached, or refused; the caller signs through gpg instead."""


def agent_socket(home: Path) -> Path:
    """Where gpg-agent listens for `home` (gpgconf knows the rules, e.g. /run/user/<uid>)."""
    try:
        done = subprocess.run(["gpgconf", "--homedir", str(home), "--list-dirs", "agent-socket"],
                              capture_output=True, check=False, timeout=CONNECT_TIMEOUT,
                              env={**os.environ, "LC_ALL": "C"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AgentError(f"cannot run gpgconf: {exc}") from None
    path = done.stdout.decode("utf-8", "replace").strip()
    if done.returncode != 0 or not path:
        raise AgentError("gpgconf does not know the agent's socket")
    return Path(path)


class AgentSigner:
    """Detached and clear signatures by a key gpg-agent holds, in the bytes gpg writes."""

    def __init__(self, agent_key: AgentKey, key: openpgp.SigningKey):
        self.agent_key = agent_key
        self.key = key

    def sign_detached(self, data: bytes, created: int) -> str:
        pending = openpgp.pending_signature(self.key, openpgp.BINARY, created, data)
        return openpgp.armored(pending.packet(self.agent_key.sign(pending)))

    def clearsign(self, text: str, created: int) -> str:
        pending = openpgp.pending_signature(self.key, openpgp.TEXT, created, openpgp.canonical_text(text))
        signature = openpgp.armored(pending.packet(self.agent_key.sign(pending)))
        return openpgp.clearsigned(text, self.key, signature)


@dataclass(frozen=True)
class KeyState:
    """What the agent says of one secret key (KEYINFO)."""

    on_disk: bool  # False: on a smartcard, or unknown to this agent
    protected: bool  # by a passphrase
    cached: bool  # its passphrase is in the agent's cache

    @property
    def signs_unattended(self) -> bool:
        return self.on_disk and (not self.protected or self.cached)


class AgentKey:
    """A secret key gpg-agent holds, by keygrip: signs digests, in whatever process uses it."""

    def __init__(self, socket_path: Path, keygrip: str):
        self._connection: AgentConnection | None = None
        self._pid: int | None = None  # the process that made _connection
        if not re.fullmatch(r"[0-9A-F]{40}", keygrip):
            raise AgentError(f"{keygrip!r} is not a keygrip")
        self.socket_path = socket_path
        self.keygrip = keygrip

    def state(self) -> KeyState:
        _, status = self._connected().command(f"KEYINFO {self.keygrip}")
        # KEYINFO <keygrip> <type> <serialno> <idstr> <cached> <protection> <fpr> <ttl> <flags>
        fields = next((s.split() for s in status if s.startswith("KEYINFO ")), [])
        if len(fields) < 7:
            raise AgentError(f"gpg-agent does not hold the secret key {self.keygrip}")
        return KeyState(on_disk=fields[2] == "D", protected=fields[6] == "P", cached=fields[5] == "1")

    def sign(self, pending: openpgp.PendingSignature) -> list[int]:
        """The key's values for `pending`'s digest: [s] for RSA, [r, s] for EdDSA."""
        option = _HASH_OPTION.get(pending.key.hash_algorithm)
        if option is None:
            raise AgentError(f"hash algorithm {pending.key.hash_algorithm} is not supported")
        connection = self._connected()
        connection.command(f"SETHASH {option} {pending.digest.hex().upper()}")
        return signature_values(connection.command("PKSIGN")[0], pending.key.public_key_algorithm)

    def close(self) -> None:
        """Close this process's end. Closing a forked copy of a connection is safe: the
        descriptor goes, the socket and the conversation the parent holds on it stay."""
        if self._connection is not None:
            self._connection.close()
        self._connection = self._pid = None

    def __del__(self) -> None:
        self.close()

    def _connected(self) -> AgentConnection:
        if self._pid != os.getpid():
            # A connection made before a fork belongs to the parent: talking on it from
            # here would mix two conversations. The child lets go of its copy and opens
            # its own.
            self.close()
        if self._connection is None:
            connection = AgentConnection(self.socket_path)
            try:
                # Never ask anyone for a passphrase: fail at once instead (no pinentry hang).
                connection.command("OPTION pinentry-mode=cancel")
                connection.command(f"SIGKEY {self.keygrip}")
            except AgentError:
                connection.close()
                raise
            self._connection, self._pid = connection, os.getpid()
        return self._connection

    def __getstate__(self) -> dict:
        # Pickled (a spawned worker): the receiving process connects for itself.
        return {**self.__dict__, "_connection": None, "_pid": None}


class AgentConnection:
    """One Assuan session with gpg-agent."""

    def __init__(self, path: Path):
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._socket.settimeout(CONNECT_TIMEOUT)
        try:
            self._socket.connect(str(path))
        except OSError as exc:
            self._socket.close()
            raise AgentError(f"no gpg-agent at {path} ({exc.strerror or exc})") from None
        self._replies = self._socket.makefile("rb")
        self._await_reply()  # the greeting

    def command(self, line: str) -> tuple[bytes, list[str]]:
        """Send one command; its data and status lines once the agent says OK."""
        try:
            self._socket.sendall(line.encode("utf-8") + b"\n")
        except OSError as exc:
            raise AgentError(f"gpg-agent went away ({exc.strerror or exc})") from None
        return self._await_reply()

    def close(self) -> None:
        self._replies.close()
        self._socket.close()

    def _await_reply(self) -> tuple[bytes, list[str]]:
        data, status = bytearray(), []
        while True:
            try:
                line = self._replies.readline()
            except OSError as exc:
                raise AgentError(f"gpg-agent did not answer ({exc.strerror or exc})") from None
            if not line.endswith(b"\n"):
                raise AgentError("gpg-agent closed the connection")
            line = line[:-1]
            if line == b"OK" or line.startswith(b"OK "):
                return bytes(data), status
            if line.startswith(b"ERR "):
                raise AgentError(f"gpg-agent: {line[4:].decode('utf-8', 'replace')}")
            if line.startswith(b"D "):
                data += _unescape(line[2:])
            elif line.startswith(b"S "):
                status.append(line[2:].decode("utf-8", "replace"))
            elif line.startswith(b"INQUIRE "):
                # Only a passphrase or PIN is ever asked for: sitegen has none to give.
                try:
                    self._socket.sendall(b"CAN\n")
                except OSError as exc:
                    raise AgentError(f"gpg-agent went away ({exc.strerror or exc})") from None


def signature_values(sexp: bytes, public_key_algorithm: int) -> list[int]:
    """The integers of gpg-agent's (sig-val (rsa (s ..))) or (sig-val (eddsa (r ..) (s ..)))."""
    parsed = _parse_sexp(sexp)
    if not (isinstance(parsed, list) and len(parsed) == 2 and parsed[0] == b"sig-val"
            and isinstance(parsed[1], list) and parsed[1]):
        raise AgentError("gpg-agent's signature is not a sig-val")
    algorithm, *parameters = parsed[1]
    values = {p[0]: p[1] for p in parameters if isinstance(p, list) and len(p) == 2
              and isinstance(p[0], bytes) and isinstance(p[1], bytes)}
    names = {openpgp.RSA: (b"rsa", [b"s"]), openpgp.EDDSA: (b"eddsa", [b"r", b"s"])}
    expected, wanted = names.get(public_key_algorithm, (None, []))
    if algorithm != expected or any(name not in values for name in wanted):
        raise AgentError(f"gpg-agent made a {algorithm!r} signature, not what the key needs")
    return [int.from_bytes(values[name], "big") for name in wanted]


def _unescape(data: bytes) -> bytes:
    """Assuan data lines escape '%', CR and LF as %XX."""
    return re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes([int(m[1], 16)]), data)


def _parse_sexp(data: bytes):
    """A canonical S-expression: nested lists of byte strings ("(3:abc(1:x))")."""
    stack: list[list] = [[]]
    i = 0
    while i < len(data):
        char = data[i:i + 1]
        if char == b"(":
            stack.append([])
            i += 1
        elif char == b")" and len(stack) > 1:
            done = stack.pop()
            stack[-1].append(done)
            i += 1
        elif char.isdigit():
            colon = data.find(b":", i)
            if colon < 0 or not data[i:colon].isdigit() or colon + 1 + int(data[i:colon]) > len(data):
                raise AgentError("gpg-agent's answer is not an S-expression")
            length = int(data[i:colon])
            stack[-1].append(data[colon + 1:colon + 1 + length])
            i = colon + 1 + length
        else:
            raise AgentError("gpg-agent's answer is not an S-expression")
    if len(stack) != 1 or len(stack[0]) != 1:
        raise AgentError("gpg-agent's answer is not one S-expression")
    return stack[0][0]
