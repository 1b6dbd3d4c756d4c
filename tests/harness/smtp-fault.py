#!/usr/bin/python3
"""An SMTP server for the mailer's tests that fails on request.

Run with Debian's Python (/usr/bin/python3), which sees python3-aiosmtpd:

    smtp-fault.py --port PORT --maildir DIR [--data-delay SECONDS]

RCPT TO decides the answer by the local part of the address:

    tempfail...    451 (temporary) every time
    tempfailN-...  451 for the first N tries of that address, then OK
    permfail...    550 (permanent)
    anything else  accepted

Each accepted message is stored unchanged, as the client sent it, in
its own file under DIR/new/ (a Maildir), so a test can count arrivals
and read the exact bytes.  --data-delay makes every DATA take that long
before it is accepted, so a test can signal a mailer mid-send.
SIGTERM or SIGINT stops the server.
"""

import argparse
import asyncio
import mailbox
import os
import re
import signal

from aiosmtpd.smtp import SMTP

TEMPFAIL_COUNTED = re.compile(r"^tempfail(\d+)-")


class FaultHandler:
    """Answers RCPT TO by the rules above and stores what it accepts."""

    def __init__(self, maildir, data_delay):
        # Maildir(create=True) makes the subdirectories only when the
        # directory itself is new; a test may have made it already.
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(maildir, sub), exist_ok=True)
        self.box = mailbox.Maildir(maildir, create=False)
        self.data_delay = data_delay
        self.tries = {}

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        local = address.split("@", 1)[0].lower()
        counted = TEMPFAIL_COUNTED.match(local)
        if counted:
            seen = self.tries.get(address.lower(), 0) + 1
            self.tries[address.lower()] = seen
            if seen <= int(counted.group(1)):
                return "451 4.3.0 Try again later (test %d)" % seen
        elif local.startswith("tempfail"):
            return "451 4.3.0 Try again later"
        elif local.startswith("permfail"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_delay > 0:
            await asyncio.sleep(self.data_delay)
        self.box.add(envelope.original_content or envelope.content)
        return "250 OK: stored"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--data-delay", type=float, default=0.0)
    args = parser.parse_args()

    handler = FaultHandler(args.maildir, args.data_delay)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(handler, hostname="smtp-fault", decode_data=False),
        host=args.host, port=args.port, reuse_address=True))
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    try:
        loop.run_forever()
    finally:
        # Open client connections are simply dropped with the process.
        server.close()


if __name__ == "__main__":
    main()
