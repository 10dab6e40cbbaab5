#!/usr/bin/env python3
"""Generates the connector benchmark's inputs: a WhatsApp Android export of N lines and a
Gmail-Takeout-like mbox of about N MiB. Deterministic (fixed seed), standard library only.

usage: generate.py whatsapp LINES OUT.txt
       generate.py mbox MIB OUT.mbox
"""

import base64
import datetime as dt
import random
import sys


def whatsapp(lines: int, out: str) -> None:
    rnd = random.Random(1)
    names = ["Maya Lindqvist", "Inês"]
    words = ("climbing purple roof tonight pastéis de nata ferry Styrsö Pimenta vet "
             "run 1:54:08 bridge Alcântara flat keys sardines 🧗 ❤️ ok sure").split()
    t = dt.datetime(2024, 1, 1, 8, 0)
    written = 0
    messages = 0
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        while written < lines:
            t += dt.timedelta(minutes=rnd.randint(1, 3))
            body = " ".join(rnd.choice(words) for _ in range(rnd.randint(3, 18)))
            f.write(f"{t:%d/%m/%Y}, {t:%H:%M} - {names[messages % 2]}: {body}\n")
            written += 1
            messages += 1
            if messages % 10 == 0 and written < lines:
                f.write(" ".join(rnd.choice(words) for _ in range(8)) + "\n")
                written += 1
    print(messages)


def mbox(mib: int, out: str) -> None:
    rnd = random.Random(2)
    target = mib << 20
    words = ("the purple roof at Bloco Alcantara is still there and the ferry from Saltholmen "
             "leaves at 13:40 so do not be late for the wedding on Styrso this Saturday").split()
    attachment = base64.encodebytes(bytes(rnd.getrandbits(8) for _ in range(60_000))).decode()
    size = 0
    n = 0
    t = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    with open(out, "wb") as f:
        while size < target:
            n += 1
            t += dt.timedelta(minutes=7)
            date = t.strftime("%a, %d %b %Y %H:%M:%S +0000")
            sep = t.strftime("%a %b %d %H:%M:%S +0000 %Y")
            paragraphs = "\n\n".join(
                " ".join(rnd.choice(words) for _ in range(rnd.randint(20, 60)))
                for _ in range(rnd.randint(2, 8)))
            thread = 1700000000000000000 + (n // 3) * 3
            head = (f"From {1700000000000000000 + n}@xxx {sep}\n"
                    f"X-GM-THRID: {thread}\n"
                    f"X-Gmail-Labels: Inbox,Opened\n"
                    f"MIME-Version: 1.0\n"
                    f"Date: {date}\n"
                    f"Message-ID: <bench-{n}@example.org>\n"
                    f"Subject: =?UTF-8?Q?Mensagem_n=C2=BA_{n}?=\n"
                    f"From: =?UTF-8?Q?Jo=C3=A3o_{n % 97}?= <joao{n % 97}@example.org>\n"
                    f"To: maya.lindqvist@gmail.com\n")
            kind = n % 10
            if kind < 5:
                body = ("Content-Type: text/plain; charset=\"UTF-8\"\n"
                        "Content-Transfer-Encoding: quoted-printable\n\n"
                        + paragraphs.replace("Alcantara", "Alc=C3=A2ntara")
                        + "\n>From the archive\n")
            elif kind < 8:
                b = "b" + str(n)
                body = (f"Content-Type: multipart/alternative; boundary=\"{b}\"\n\n"
                        f"--{b}\nContent-Type: text/plain; charset=UTF-8\n\n{paragraphs}\n"
                        f"--{b}\nContent-Type: text/html; charset=UTF-8\n\n<div><p>"
                        + paragraphs.replace("\n\n", "</p><p>") + f"</p></div>\n--{b}--\n")
            elif kind < 9:
                body = ("Content-Type: text/plain; charset=ISO-8859-1\n"
                        "Content-Transfer-Encoding: 8bit\n\n"
                        + paragraphs.replace("Styrso", "Styrs\u00f6") + "\n")
            else:
                b = "m" + str(n)
                body = (f"Content-Type: multipart/mixed; boundary=\"{b}\"\n\n"
                        f"--{b}\nContent-Type: text/plain; charset=UTF-8\n\n{paragraphs}\n"
                        f"--{b}\nContent-Type: application/pdf; name=\"doc{n}.pdf\"\n"
                        f"Content-Disposition: attachment; filename=\"doc{n}.pdf\"\n"
                        f"Content-Transfer-Encoding: base64\n\n{attachment}--{b}--\n")
            encoding = "latin-1" if kind == 8 else "utf-8"
            data = (head + body + "\n").encode(encoding)
            f.write(data)
            size += len(data)
    print(n)


if __name__ == "__main__":
    what, amount, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    {"whatsapp": whatsapp, "mbox": mbox}[what](amount, out)
