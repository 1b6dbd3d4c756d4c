#!/usr/bin/python3
"""Prints the token of the newest verification mail to an address.

    mail-token.py MAILDIR ADDRESS

The sink stores each message as a file in MAILDIR/new; the text part
may be quoted-printable or base64, so it is decoded before the token
is looked for.  Exits 1 when no such mail has arrived yet.
"""
import email
import email.policy
import os
import re
import sys


def main():
    maildir, to = sys.argv[1], sys.argv[2].lower()
    new = os.path.join(maildir, "new")
    best = None
    for name in os.listdir(new):
        path = os.path.join(new, name)
        with open(path, "rb") as f:
            msg = email.message_from_binary_file(f,
                                                 policy=email.policy.default)
        if str(msg.get("To", "")).lower().find(to) < 0:
            continue
        part = msg.get_body(preferencelist=("plain",))
        if part is None:
            continue
        m = re.search(r"/verify-email#token=([A-Za-z0-9_-]+)",
                      part.get_content())
        if m is None:
            continue
        mtime = os.path.getmtime(path)
        if best is None or mtime > best[0]:
            best = (mtime, m.group(1))
    if best is None:
        return 1
    print(best[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
