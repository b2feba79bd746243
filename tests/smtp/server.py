"""A real SMTP server for the delivery tests (aiosmtpd, from PyPI).

Usage: server.py PORT DIR [--reject ADDRESS]... [--stall ADDRESS]... [--auth USER:PASSWORD]
                 [--hold SECONDS]

Listens on 127.0.0.1:PORT and writes every message it accepts to DIR as <n>-<recipient>.eml
(one file per recipient). A recipient given with --reject is refused at RCPT with a permanent
550 reply. A message to a recipient given with --stall is taken in whole after DATA and then
never answered (nor written): the server stalls before its final reply. With --auth, a client
must log in (AUTH PLAIN or LOGIN, over plain text: a local test server) with that user and
password. With --hold, the server keeps each message for that long after writing it and before
answering 250. Prints "ready" once it listens; stops on SIGTERM.
"""

import argparse
import asyncio
import itertools
import pathlib
import signal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class Keep:
    def __init__(self, directory: pathlib.Path, reject: set[str], stall: set[str], hold: float):
        self.directory = directory
        self.reject = reject
        self.stall = stall
        self.hold = hold
        self.counter = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if any(recipient.lower() in self.stall for recipient in envelope.rcpt_tos):
            await asyncio.Event().wait()  # never set: no final reply, ever
        for recipient in envelope.rcpt_tos:
            name = "%04d-%s.eml" % (next(self.counter), recipient)
            (self.directory / name).write_bytes(envelope.original_content)
        if self.hold:
            await asyncio.sleep(self.hold)
        return "250 2.0.0 accepted"


def authenticator(user: str, password: str):
    def check(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        return AuthResult(success=ok)

    return check


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("directory", type=pathlib.Path)
    parser.add_argument("--reject", action="append", default=[])
    parser.add_argument("--stall", action="append", default=[])
    parser.add_argument("--auth")
    parser.add_argument("--hold", type=float, default=0.0)
    args = parser.parse_args()
    args.directory.mkdir(parents=True, exist_ok=True)
    handler = Keep(args.directory, {a.lower() for a in args.reject},
                   {a.lower() for a in args.stall}, args.hold)
    options = {}
    if args.auth:
        user, password = args.auth.split(":", 1)
        options = dict(auth_required=True, auth_require_tls=False,
                       authenticator=authenticator(user, password))
    controller = Controller(handler, hostname="127.0.0.1", port=args.port, **options)
    controller.start()
    print("ready", flush=True)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.run_until_complete(stop.wait())
    controller.stop()


if __name__ == "__main__":
    main()
