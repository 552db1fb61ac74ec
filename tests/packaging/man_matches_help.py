#!/usr/bin/env python3
"""stasis(8) and --help must never drift: every command that `stasis --help`
lists has a section in the man page, and every option that `stasis <command>
--help` shows (and every subcommand of `stasis image --help`) appears in that
command's section. Both come from the option tables; this proves the wiring.

    man_matches_help.py STASIS MAN_PAGE
"""
import os
import re
import subprocess
import sys


def run(*args):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout


def main():
    stasis, page = sys.argv[1], sys.argv[2]
    env = dict(os.environ, MANWIDTH="200")
    text = subprocess.run(["man", "-l", page], capture_output=True, text=True, env=env, timeout=30).stdout
    text = re.sub(r".\x08", "", text)  # overstrike (bold, underline)
    text = text.replace("\u2010", "-").replace("\u2212", "-")  # groff's hyphens
    sections = {}  # command -> its text in COMMANDS
    m = re.search(r"^COMMANDS\n(.*?)^COMMON OPTIONS\n", text, re.M | re.S)
    if not m:
        print("man page has no COMMANDS ... COMMON OPTIONS", file=sys.stderr)
        return 1
    for part in re.split(r"^   (?=\S)", m.group(1), flags=re.M)[1:]:
        name, _, body = part.partition("\n")
        sections[name.strip()] = body
    common = text[m.end():]

    passed = failed = 0

    def expect(cond, what):
        nonlocal passed, failed
        if cond:
            passed += 1
        else:
            failed += 1
            print(f"FAILED: {what}", file=sys.stderr)

    rc, top = run(stasis, "--help")
    expect(rc == 0, "stasis --help exits 0")
    commands = re.findall(r"^  (\S+) ", top.split("commands:", 1)[-1], re.M)
    expect(commands, "stasis --help lists commands")
    for c in commands:
        expect(c in sections, f"man page has a section for `{c}`")
        rc, help_text = run(stasis, c, "--help")
        expect(rc == 0, f"stasis {c} --help exits 0")
        body = sections.get(c, "")
        if c == "image":
            for sub in re.findall(r"stasis image (\w+)", help_text):
                expect(f"stasis image {sub}" in body, f"man page documents `stasis image {sub}`")
            continue
        own, _, shared = help_text.partition("common options:")
        for opt in sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", own))):
            expect(opt in body, f"man page section `{c}` documents {opt}")
        for opt in sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", shared))):
            expect(opt in common, f"man page COMMON OPTIONS documents {opt}")
        for short in sorted(set(re.findall(r"^  (-[A-Za-z]),", own, re.M))):
            expect(short in body, f"man page section `{c}` documents {short}")
    print(f"man page against --help: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
