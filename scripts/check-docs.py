#!/usr/bin/env python3
"""Checks the documentation's links and the README's quick start (stdlib only).

- Every relative link and image in README.md, docs/*.md, weights/README.md and
  scripts/gpu/README.md resolves to an existing file or directory; a `#anchor` into a markdown
  file (or the same file) names one of its headings, slugged as GitHub does.
- README.md has at most 200 lines.
- Every command in the README's quick-start code block(s) names something that exists: a script
  it calls exists and is executable; `cargo run ... -- SUBCOMMAND [SUBCOMMAND] --flags` uses
  subcommands the clap front end declares (`#[derive(Subcommand)]` enums in src/options.rs and
  src/cli/*.rs) and flags their argument structs declare; `--features` names features of
  Cargo.toml.

Usage: python3 scripts/check-docs.py   (exit status 1 with a list of problems, 0 when clean)
"""
import glob
import os
import re
import shlex
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_README_LINES = 200
DOCS = ["README.md", "weights/README.md", "scripts/gpu/README.md"] + sorted(
    os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))
# Where the clap front end is declared (subcommand enums, argument structs); the structs they
# flatten (e.g. NetSource) may live anywhere under src/.
CLAP_SOURCES = ["src/options.rs", "src/cli/*.rs", "src/**/*.rs"]

problems = []


def problem(where, what):
    problems.append(f"{where}: {what}")


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


# ---------------------------------------------------------------------------------------------
# Markdown: code, headings, links


FENCE = re.compile(r"^\s*(```|~~~)")


def prose_lines(text, blank_code=True):
    """(line number, line) outside fenced code blocks, inline code spans blanked unless
    blank_code is false."""
    inside = False
    for n, line in enumerate(text.split("\n"), 1):
        if FENCE.match(line):
            inside = not inside
            continue
        if not inside:
            yield n, re.sub(r"`[^`]*`", lambda m: " " * len(m.group(0)), line) if blank_code else line


def code_blocks(text):
    """(first line number, [lines]) of every fenced code block."""
    blocks, current, start = [], None, 0
    for n, line in enumerate(text.split("\n"), 1):
        if FENCE.match(line):
            if current is None:
                current, start = [], n + 1
            else:
                blocks.append((start, current))
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def github_slug(heading):
    """GitHub's anchor for a heading: the rendered text, lower-cased, punctuation dropped,
    spaces to hyphens."""
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # images → alt text
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links → their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"(^|\s)_+|_+(\s|$)", r"\1\2", text)  # _emphasis_, not snake_case
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)  # \w is Unicode-aware: keeps letters of every script
    return text.replace(" ", "-")


def anchors(rel, cache={}):
    if rel not in cache:
        seen, result = {}, set()
        for _, line in prose_lines(read(rel), blank_code=False):
            m = re.match(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$", line)
            if not m:
                continue
            slug = github_slug(m.group(2))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            result.add(slug if count == 0 else f"{slug}-{count}")
        # Explicit HTML anchors.
        result |= set(re.findall(r'<a\s+(?:name|id)="([^"]+)"', read(rel)))
        cache[rel] = result
    return cache[rel]


# Inline links and images: [text](target "title") / ![alt](target); reference definitions.
INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFDEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")


def check_links(rel):
    text = read(rel)
    if '"' in rel:
        return
    base = os.path.dirname(rel)
    for n, line in prose_lines(text):
        targets = [m.group(1) for m in INLINE.finditer(line)]
        m = REFDEF.match(line)
        if m:
            targets.append(m.group(1))
        for target in targets:
            where = f"{rel}:{n}"
            if not target:
                problem(where, "empty link target")
                continue
            if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("//"):
                continue  # http:, https:, mailto: … — not checked offline
            path, _, anchor = target.partition("#")
            if path:
                resolved = os.path.normpath(os.path.join(base, path))
                if resolved.startswith(".."):
                    problem(where, f"link {target!r} leaves the repository")
                    continue
                if not os.path.exists(os.path.join(ROOT, resolved)):
                    problem(where, f"link {target!r}: {resolved} does not exist")
                    continue
            else:
                resolved = rel
            if anchor:
                if not resolved.endswith(".md"):
                    continue  # anchors into source files (line numbers) are not checked
                if os.path.isdir(os.path.join(ROOT, resolved)):
                    problem(where, f"link {target!r}: an anchor into a directory")
                elif anchor not in anchors(resolved):
                    problem(where, f"link {target!r}: no heading with anchor #{anchor} in {resolved}")


# ---------------------------------------------------------------------------------------------
# The clap front end: subcommands and their flags


def kebab(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).lower()


def clap_sources():
    files = []
    for pattern in CLAP_SOURCES:
        files += [f for f in sorted(glob.glob(os.path.join(ROOT, pattern), recursive=True)) if f not in files]
    return {os.path.relpath(f, ROOT): open(f, encoding="utf-8").read() for f in files}


def braced_body(text, start):
    """The text between the `{` at or after `start` and its matching `}`."""
    open_at = text.index("{", start)
    depth = 0
    for i in range(open_at, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[open_at + 1:i]
    return text[open_at + 1:]


def attr_names(attrs, key):
    """Values of `key = "…"` / `key = […]` in #[command(…)] / #[arg(…)] attributes."""
    names = re.findall(key + r'\s*=\s*"([^"]+)"', attrs)
    for group in re.findall(key + r"\s*=\s*\[([^\]]*)\]", attrs):
        names += re.findall(r'"([^"]+)"', group)
    return names


def items(body):
    """(attributes, declaration) for each field or variant of a struct/enum body: attributes
    joined (a multi-line `#[…]` included), doc comments and comments dropped."""
    attrs, pending, depth = "", "", 0
    for line in body.split("\n"):
        stripped = re.sub(r"^\s*//.*$", "", line).strip()
        if depth > 0 or stripped.startswith("#["):
            pending += " " + stripped
            depth = pending.count("[") - pending.count("]")
            if depth <= 0:
                attrs, pending, depth = attrs + pending, "", 0
            continue
        if stripped:
            yield attrs, stripped
            attrs = ""


def has_long(attrs):
    """Whether an #[arg(…)] attribute has `long` (strings blanked, so a help text cannot fool it)."""
    no_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', attrs)
    return any(re.search(r"\blong\b", a) for a in re.findall(r"#\[\s*arg\s*\((.*?)\)\s*\]", no_strings))


def parse_clap(sources):
    """{enum name: {subcommand: (payload type path or None, is_nested, file)}} and
    {struct name: [(file, [flags], [flattened type paths])]} (a name may be declared in several
    files: `nets::ExportArgs` and `train::ExportArgs`)."""
    enums, structs = {}, {}
    for rel, text in sources.items():
        for m in re.finditer(r"#\[derive\(([^)]*)\)\][^{;]*?\benum\s+(\w+)", text):
            if "Subcommand" not in m.group(1):
                continue
            variants = {}
            for attrs, decl in items(braced_body(text, m.end())):
                v = re.match(r"(\w+)\s*(?:\(\s*([\w:]+)\s*\))?\s*,?", decl)
                if not v:
                    continue
                explicit = attr_names(attrs, r"\bname")
                names = (explicit or [kebab(v.group(1))]) + attr_names(attrs, r"\balias") \
                    + attr_names(attrs, r"\baliases") + attr_names(attrs, r"\bvisible_alias")
                nested = re.search(r"#\[\s*command\s*\([^\]]*\bsubcommand\b", attrs) is not None
                for name in names:
                    variants[name] = (v.group(2), nested, rel)
            enums[m.group(2)] = variants
        for m in re.finditer(r"#\[derive\(([^)]*)\)\][^{;]*?\bstruct\s+(\w+)", text):
            if not re.search(r"\b(Args|Parser)\b", m.group(1)):
                continue
            flags, flattened = [], []
            for attrs, decl in items(braced_body(text, m.end())):
                f = re.match(r"(?:pub(?:\([^)]*\))?\s+)?(\w+)\s*:\s*([\w:<>, ]+)", decl)
                if not f:
                    continue
                field, ty = f.group(1), f.group(2)
                if re.search(r"#\[\s*command\s*\([^\]]*\bflatten\b", attrs):
                    flattened.append(ty.strip().rstrip(","))
                elif has_long(attrs):
                    long_names = re.findall(r'\blong\s*=\s*"([^"]+)"', attrs) or [field.replace("_", "-")]
                    flags += long_names + attr_names(attrs, r"\balias") + attr_names(attrs, r"\baliases") \
                        + attr_names(attrs, r"\bvisible_alias")
            structs.setdefault(m.group(2), []).append((rel, flags, flattened))
    return enums, structs


def top_level_enum(sources, enums):
    for text in sources.values():
        for m in re.finditer(r"#\[derive\(([^)]*)\)\][^{;]*?\bstruct\s+(\w+)", text):
            if "Parser" not in m.group(1):
                continue
            body = braced_body(text, m.end())
            sub = re.search(r"#\[command\(\s*subcommand\s*\)\]\s*(?:pub\s+)?\w+\s*:\s*([\w:]+)", body)
            if sub:
                return sub.group(1).split("::")[-1]
    return None


def resolve(structs, path, from_file):
    """The declaration of type `path` (`Name`, `module::Name`, `crate::…::Name`) used in
    `from_file`: the one in the file the module path names, else in the same file, else the only
    one."""
    name = path.split("::")[-1]
    candidates = structs.get(name, [])
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    modules = [m for m in path.split("::")[:-1] if m not in ("crate", "self", "super", "vdiff")]
    if modules:
        for c in candidates:
            stem = os.path.splitext(c[0])[0]
            if stem.endswith("/" + "/".join(modules)) or stem.endswith("/" + modules[-1]):
                return c
    for c in candidates:
        if c[0] == from_file:
            return c
    return None


def all_flags(structs, path, from_file, seen=None):
    seen = seen or set()
    decl = resolve(structs, path, from_file)
    if decl is None:
        return None  # declared nowhere this script reads, or ambiguous: do not judge the flags
    if (decl[0], path) in seen:
        return set()
    seen.add((decl[0], path))
    rel, flags, flattened = decl
    result = set(flags) | {"help"}
    for inner in flattened:
        more = all_flags(structs, inner, rel, seen)
        if more is None:
            return None  # a flattened struct we cannot see: do not judge the flags
        result |= more
    return result


def cargo_features():
    text = read("Cargo.toml")
    m = re.search(r"^\[features\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    return set(re.findall(r"^([\w-]+)\s*=", m.group(1), re.M)) if m else set()


# ---------------------------------------------------------------------------------------------
# The README's quick start


def quick_start_blocks(text):
    """Code blocks under the README's quick-start heading (up to the next heading of the same
    or a higher level)."""
    lines = text.split("\n")
    start = level = None
    for i, line in enumerate(lines):
        m = re.match(r"^(#{1,6})\s+(.*)", line)
        if m and start is None and re.search(r"quick\s*start", m.group(2), re.I):
            start, level = i, len(m.group(1))
        elif m and start is not None and len(m.group(1)) <= level:
            return [(s + start, b) for s, b in code_blocks("\n".join(lines[start:i]))]
    if start is None:
        return None
    return [(s + start, b) for s, b in code_blocks("\n".join(lines[start:]))]


def commands(block):
    """Logical command lines of a shell block: comments dropped, continuations joined."""
    joined, current = [], ""
    for line in block:
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        if current.strip():
            joined.append(current.strip())
        current = ""
    if current.strip():
        joined.append(current.strip())
    return joined


def check_command(where, line, enums, structs, top, features):
    try:
        words = shlex.split(line, comments=True)
    except ValueError as e:
        problem(where, f"cannot parse {line!r}: {e}")
        return
    if not words:
        return
    # Leading VAR=value assignments.
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        words = words[1:]
    if not words:
        return
    exe = words[0]
    if "/" in exe:
        path = os.path.join(ROOT, exe)
        if not os.path.isfile(path):
            problem(where, f"{exe} does not exist")
        elif not os.access(path, os.X_OK):
            problem(where, f"{exe} is not executable")
        return
    if exe in ("python3", "bash", "sh") and len(words) > 1 and not words[1].startswith("-"):
        if not os.path.isfile(os.path.join(ROOT, words[1])):
            problem(where, f"{words[1]} does not exist")
        return
    if exe != "cargo":
        return
    if len(words) < 2 or words[1] != "run":
        return
    cargo_args, rest = (words[2:words.index("--")], words[words.index("--") + 1:]) if "--" in words else (words[2:], [])
    for i, arg in enumerate(cargo_args):
        value = None
        if arg in ("--features", "-F") and i + 1 < len(cargo_args):
            value = cargo_args[i + 1]
        elif arg.startswith("--features="):
            value = arg.split("=", 1)[1]
        if value is not None:
            for feat in re.split(r"[ ,]+", value):
                if feat and feat not in features:
                    problem(where, f"cargo feature {feat!r} is not in Cargo.toml's [features]")
    if "--example" in cargo_args or "--bin" in cargo_args and "vdiff" not in cargo_args:
        return
    if top is None:
        problem(where, "no clap Parser with a subcommand found in " + ", ".join(CLAP_SOURCES[:2]))
        return
    if not rest:
        problem(where, "`cargo run` without `-- SUBCOMMAND`")
        return
    enum, args_struct, path = top, None, []
    positional = [w for w in rest]
    while positional:
        word = positional[0]
        variants = enums.get(enum, {})
        if word not in variants:
            problem(where, f"`{' '.join(path + [word])}` is not a subcommand (known: "
                    f"{', '.join(sorted(variants))})")
            return
        path.append(word)
        positional = positional[1:]
        payload, nested, enum_file = variants[word]
        if nested:
            enum = payload.split("::")[-1] if payload else None
            if not positional or positional[0].startswith("-"):
                problem(where, f"`{' '.join(path)}` needs a subcommand ({', '.join(sorted(enums.get(enum, {})))})")
                return
            continue
        args_struct = payload
        break
    if args_struct is None:
        return
    known = all_flags(structs, args_struct, enum_file)
    if known is None:
        return  # its arguments live somewhere this script does not read
    for word in positional:
        if word.startswith("--"):
            flag = word[2:].split("=", 1)[0]
            if flag not in known:
                problem(where, f"`{' '.join(path)}` has no flag --{flag}")


# ---------------------------------------------------------------------------------------------


def main():
    for rel in DOCS:
        if not os.path.exists(os.path.join(ROOT, rel)):
            problem(rel, "missing")
            continue
        check_links(rel)

    readme = read("README.md")
    n_lines = len(readme.rstrip("\n").split("\n"))
    if n_lines > MAX_README_LINES:
        problem("README.md", f"{n_lines} lines, more than {MAX_README_LINES}")

    sources = clap_sources()
    enums, structs = parse_clap(sources)
    top = top_level_enum(sources, enums)
    features = cargo_features()
    blocks = quick_start_blocks(readme)
    if blocks is None:
        problem("README.md", "no quick-start section (a heading with 'Quick start')")
    elif not blocks:
        problem("README.md", "the quick-start section has no code block")
    else:
        checked = 0
        for start, block in blocks:
            for cmd in commands(block):
                line_no = start + next((i for i, l in enumerate(block) if l.strip() and cmd.startswith(l.strip().rstrip("\\").strip())), 0)
                check_command(f"README.md:{line_no}", cmd, enums, structs, top, features)
                checked += 1
        print(f"quick start: {checked} commands checked "
              f"(subcommands from {top or '?'}: {', '.join(sorted(enums.get(top, {})))})")

    print(f"links: {len(DOCS)} files checked; README.md: {n_lines} lines")
    if problems:
        print(f"\n{len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print("docs OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
