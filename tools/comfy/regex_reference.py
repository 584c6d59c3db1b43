#!/usr/bin/env python3
"""Reference table for ComfyUI's RegexMatch, RegexExtract and RegexReplace (comfy_extras/nodes_string.py), computed with
Python's own `re`. Each case restates the node's rule in a few lines of our own: RegexMatch is re.search with the three
flags (an re.error reads as False), RegexExtract's four modes over re.search / re.findall / re.finditer joined with "\n"
(an re.error reads as ""), RegexReplace is re.sub with count (an error is the node's error). A group that took no part
in the match is None in Python, which no string node can pass on: recorded as an error.

Usage: /usr/bin/python3 tools/comfy/regex_reference.py > tests/FlowDiffusion.Comfy.Tests/TestData/regex/reference.json
       /usr/bin/python3 tools/comfy/regex_reference.py --rare-case   (the characters PythonRegex.RareCase lists)
"""
import json, re, sys

def flags_of(i, m, s):
    return (re.IGNORECASE if i else 0) | (re.MULTILINE if m else 0) | (re.DOTALL if s else 0)

def match(string, pattern, i=True, m=False, s=False):
    try:
        return re.search(pattern, string, flags_of(i, m, s)) is not None
    except re.error:
        return False

def extract(string, pattern, mode, i=True, m=False, s=False, group_index=1):
    f = flags_of(i, m, s)
    try:
        if mode == "First Match":
            found = re.search(pattern, string, f)
            return found.group(0) if found else ""
        if mode == "All Matches":
            every = re.findall(pattern, string, f)
            return "\n".join(e[0] if isinstance(e, tuple) else e for e in every)
        if mode == "First Group":
            found = re.search(pattern, string, f)
            if found and len(found.groups()) >= group_index:
                value = found.group(group_index)
                if value is None:
                    raise TypeError("group did not take part")
                return value
            return ""
        parts = []
        for found in re.finditer(pattern, string, f):
            if found.groups() and len(found.groups()) >= group_index:
                parts.append(found.group(group_index))
        if any(p is None for p in parts):
            raise TypeError("group did not take part")
        return "\n".join(parts)
    except re.error:
        return ""

def replace(string, pattern, repl, i=True, m=False, s=False, count=0):
    return re.sub(pattern, repl, string, count=count, flags=flags_of(i, m, s))

CASES = [
    # RegexMatch
    ("match", dict(string="a Red ball", pattern="red")),
    ("match", dict(string="a Red ball", pattern="red", i=False)),
    ("match", dict(string="line1\nline2", pattern="^line2$")),
    ("match", dict(string="line1\nline2", pattern="^line2$", m=True)),
    ("match", dict(string="a\nb", pattern="a.b")),
    ("match", dict(string="a\nb", pattern="a.b", s=True)),
    ("match", dict(string="abc\n", pattern=r"abc\Z")),
    ("match", dict(string="abc\n", pattern=r"abc$")),
    ("match", dict(string="abc", pattern=r"\Aabc\Z")),
    ("match", dict(string="x", pattern="(unclosed")),
    ("match", dict(string="x", pattern=r"\q")),
    ("match", dict(string="ab", pattern=r"(?<=a+)b")),
    ("match", dict(string="ab", pattern=r"(?<=a)b")),
    ("match", dict(string="a{,2}", pattern=r"^a{,2}$")),
    ("match", dict(string="aa", pattern=r"^a{,2}$")),
    ("match", dict(string="a{}", pattern=r"^a{}$")),
    ("match", dict(string="a{1", pattern=r"^a{1$")),
    ("match", dict(string="x", pattern=r"*x")),
    ("match", dict(string="x", pattern=r"x**")),
    ("match", dict(string="", pattern=r"\B")),
    ("match", dict(string=" ", pattern=r"\B")),
    ("match", dict(string="\x1c", pattern=r"\s")),
    ("match", dict(string="\u00b2", pattern=r"\w")),
    ("match", dict(string="\u0301", pattern=r"\w")),
    ("match", dict(string="\u203f", pattern=r"\w")),
    ("match", dict(string="\u0663", pattern=r"\d")),
    ("match", dict(string="\u00e9", pattern=r"\w")),
    ("match", dict(string="x\u0301", pattern=r"x\b")),
    ("match", dict(string="-]", pattern=r"^[a-z-[]]$")),
    ("match", dict(string="b", pattern=r"^[a-z-[aeiou]]$")),
    ("match", dict(string="b]", pattern=r"^[a-z-[aeiou]]$")),
    ("match", dict(string="A", pattern=r"(?-i:a)")),
    ("match", dict(string="A", pattern=r"(?i)a", i=False)),
    ("match", dict(string="abab", pattern=r"^(ab)\1$")),
    ("match", dict(string="abab", pattern=r"^(?P<x>ab)(?P=x)$")),
    ("match", dict(string="x", pattern=r"(?P<x>a)(?P<x>b)")),
    ("match", dict(string="1a", pattern=r"[\d-z]")),
    ("match", dict(string="\t", pattern=r"[^\S]")),
    ("match", dict(string="a", pattern=r"[^\W\d]")),
    ("match", dict(string="5", pattern=r"[^\W\d]")),
    ("match", dict(string="é", pattern=r"É")),
    ("match", dict(string="A", pattern="\\x41\\u0041\\101", i=False)),
    ("match", dict(string="\u00df", pattern="SS")),
    ("match", dict(string="\u00c9COLE", pattern="\u00e9cole")),
    ("match", dict(string="Ab", pattern=r"^(?i:a)b$", i=False)),
    ("match", dict(string="AB", pattern=r"^(?i:a)b$", i=False)),
    ("match", dict(string="a\nb", pattern=r"a(?s:.)b")),
    ("match", dict(string="a\nb", pattern=r"(?m)^b")),
    ("match", dict(string="b", pattern=r"a|(?i)b")),
    ("match", dict(string="\n", pattern=r"[^a]")),
    ("match", dict(string="a foo.", pattern=r"\bfoo\b")),
    ("match", dict(string="afoo", pattern=r"\bfoo\b")),
    ("match", dict(string="x", pattern=r"(?<!a)x")),
    # RegexExtract
    ("extract", dict(string="\u0661\u0662 and 34", pattern=r"\d+", mode="All Matches")),
    ("extract", dict(string="a\n", pattern=r"$", mode="All Matches", m=True)),
    ("extract", dict(string="foobar foobaz", pattern=r"foo(?=baz)\w+", mode="First Match")),
    ("extract", dict(string="aaaa", pattern=r"a+?", mode="All Matches")),
    ("extract", dict(string="aaaa", pattern=r"a{2,3}", mode="First Match")),
    ("extract", dict(string="ab", pattern=r"(a)|b", mode="All Matches")),
    ("extract", dict(string="k=1, j=2", pattern=r"(?P<key>\w)=(?P<value>\d)", mode="All Groups", group_index=2)),
    ("extract", dict(string="a red ball, a blue cube", pattern=r"a (\w+) (\w+)", mode="First Match")),
    ("extract", dict(string="a red ball, a blue cube", pattern=r"a (\w+) (\w+)", mode="All Matches")),
    ("extract", dict(string="a red ball, a blue cube", pattern=r"a \w+ \w+", mode="All Matches")),
    ("extract", dict(string="a red ball, a blue cube", pattern=r"a (\w+) \w+", mode="All Matches")),
    ("extract", dict(string="a red ball, a blue cube", pattern=r"a (\w+) (\w+)", mode="First Group", group_index=2)),
    ("extract", dict(string="a red ball, a blue cube", pattern=r"a (\w+) (\w+)", mode="First Group", group_index=0)),
    ("extract", dict(string="a red ball, a blue cube", pattern=r"a (\w+) (\w+)", mode="First Group", group_index=3)),
    ("extract", dict(string="a red ball, a blue cube", pattern=r"a (?P<colour>\w+) (\w+)", mode="All Groups", group_index=2)),
    ("extract", dict(string="a red ball, a blue cube", pattern=r"a \w+", mode="All Groups", group_index=0)),
    ("extract", dict(string="no colour here", pattern=r"(red|blue)", mode="First Match")),
    ("extract", dict(string="no colour here", pattern=r"(red|blue)", mode="All Groups")),
    ("extract", dict(string="ab", pattern=r"(x)?b", mode="First Group")),
    ("extract", dict(string="ab", pattern=r"(x)?(b)", mode="All Matches")),
    ("extract", dict(string="abc", pattern=r"x*", mode="All Matches")),
    ("extract", dict(string="two words", pattern=r"^|\w+", mode="All Matches")),
    ("extract", dict(string="a1\nb2\nc3", pattern=r"^\w", mode="All Matches", m=True)),
    ("extract", dict(string="a\n", pattern=r"^", mode="All Matches", m=True)),
    ("extract", dict(string="RED red", pattern=r"red", mode="All Matches")),
    ("extract", dict(string="x", pattern=r"(", mode="All Matches")),
    ("extract", dict(string="<a>\n<b>", pattern=r"<.*>", mode="First Match", s=True)),
    ("extract", dict(string="<a>\n<b>", pattern=r"<.*?>", mode="All Matches", s=True)),
    # RegexReplace
    ("replace", dict(string="a red red ball", pattern=r"red", repl="blue")),
    ("replace", dict(string="ab", pattern=r"(a)|b", repl=r"[\1]")),
    ("replace", dict(string="ab", pattern=r"b", repl=r"<\g<0>>")),
    ("replace", dict(string="a b", pattern=r"\s", repl=r"\t")),
    ("replace", dict(string="aaa", pattern=r"a", repl="b", count=2)),
    ("replace", dict(string="one two", pattern=r"(?P<a>\w+) (?P<b>\w+)", repl=r"\g<b> \g<a>")),
    ("replace", dict(string="a red red ball", pattern=r"red", repl="blue", count=1)),
    ("replace", dict(string="a RED ball", pattern=r"red", repl="blue", i=False)),
    ("replace", dict(string="abc", pattern=r"x*", repl="-")),
    ("replace", dict(string="abxd", pattern=r"x*", repl="-")),
    ("replace", dict(string="abxd", pattern=r"x*", repl="-", count=2)),
    ("replace", dict(string="a red ball", pattern=r"(\w+) (\w+) (\w+)", repl=r"\3 \2 \1")),
    ("replace", dict(string="a red ball", pattern=r"(?P<c>red)", repl=r"[\g<c>|\g<1>|\g<0>]")),
    ("replace", dict(string="a red ball", pattern=r"red", repl=r"$0 costs $1 \\ \& \n")),
    ("replace", dict(string="a red ball", pattern=r"(r)(e)(d)", repl=r"\10")),
    ("replace", dict(string="red", pattern=r"(x)?red", repl=r"[\1]")),
    ("replace", dict(string="red", pattern=r"red", repl=r"\101\0")),
    ("replace", dict(string="line1\nline2", pattern=r"^", repl="> ", m=True)),
    ("replace", dict(string="a.b.c", pattern=r"\.", repl="", count=1)),
    ("replace", dict(string="abc", pattern=r"\b", repl="|")),
    ("replace", dict(string="a red ball", pattern=r"red", repl=r"\2")),
    ("replace", dict(string="a red ball", pattern=r"red", repl=r"\q")),
    ("replace", dict(string="a red ball", pattern=r"(red", repl="x")),
    ("replace", dict(string="a red ball", pattern=r"red", repl=r"\g<nope>")),
]

def run(node, args):
    a = dict(args)
    try:
        if node == "match":
            value = match(a.pop("string"), a.pop("pattern"), **a)
        elif node == "extract":
            value = extract(a.pop("string"), a.pop("pattern"), a.pop("mode"), **a)
        else:
            value = replace(a.pop("string"), a.pop("pattern"), a.pop("repl"), **a)
        return {"value": value}
    except (re.error, IndexError, TypeError) as e:
        return {"error": type(e).__name__ + ": " + str(e)}

if sys.argv[1:] == ["--rare-case"]:
    # Cased characters whose simple lower and upper mappings do not lead back to them, and the pairs re._casefix adds that
    # are not such: where re's case-insensitive partners differ from .NET's (PythonRegex.RareCase).
    import _sre
    def upper(c):
        u = chr(c).upper()
        return ord(u) if len(u) == 1 else c
    rare = [c for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF and _sre.unicode_iscased(c)
            and _sre.unicode_tolower(upper(c)) != c and upper(_sre.unicode_tolower(c)) != c]
    print(" ".join("%04X" % c for c in rare + [0x390, 0x1FD3, 0x3B0, 0x1FE3, 0xFB05, 0xFB06]))
    sys.exit(0)

out = {"python": sys.version.split()[0], "cases": []}
for node, args in CASES:
    case = {"node": node, "string": args["string"], "pattern": args["pattern"],
            "case_insensitive": args.get("i", True), "multiline": args.get("m", False), "dotall": args.get("s", False)}
    if node == "extract":
        case["mode"] = args["mode"]
        case["group_index"] = args.get("group_index", 1)
    if node == "replace":
        case["replace"] = args["repl"]
        case["count"] = args.get("count", 0)
    case.update(run(node, args))
    out["cases"].append(case)
json.dump(out, sys.stdout, indent=1, ensure_ascii=True)
sys.stdout.write("\n")
