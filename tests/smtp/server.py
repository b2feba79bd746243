"""A real SMTP server for the delivery tests (aiosmtpd, from PyPI).

Usage: server.py PORT DIR [--reject ADDRESS]...

Listens on 127.0.0.1:PORT and writes every message it accepts to DIR as <n>-<recipient>.eml
(one file per recipient). A recipient given with --reject is refused at RCPT with a permanent
550 reply. Prints "ready" once it listens; stops on SIGTERM.
"""

import argparse
import asyncio
import itertools
import pathlib
import signal

from aiosmtpd.controller import Controller


class Keep:
    def __init__(self, directory: pathlib.Path, reject: set[str]):
        self.directory = directory
        self.reject = reject
        self.counter = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        for recipient in envelope.rcpt_tos:
            name = "%04d-%s.eml" % (next(self.counter), recipient)
            (self.directory / name).write_bytes(envelope.original_content)
        return "250 2.0.0 accepted"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("directory", type=pathlib.Path)
    parser.add_argument("--reject", action="append", default=[])
    args = parser.parse_args()
    args.directory.mkdir(parents=True, exist_ok=True)
    handler = Keep(args.directory, {a.lower() for a in args.reject})
    controller = Controller(handler, hostname="127.0.0.1", port=args.port)
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
