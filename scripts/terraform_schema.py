#!/usr/bin/env python3
"""Write tests/terraform/provider_schemas.json: the argument schemas of the providers terraform/
pins.

There is no terraform binary here (and no registry to download providers from), so the schema of
each resource and data source type (arguments, nested blocks, required/optional/computed,
conflicts) is read from the providers' own Go source, where it is declared:

- SDKv2 resources: the ``map[string]*schema.Schema`` of the ``*schema.Resource`` the registered
  factory returns (``Required``/``Optional``/``Computed``, ``Elem: &schema.Resource{...}`` for a
  nested block, ``MinItems``/``MaxItems``, ``ConflictsWith``/``ExactlyOneOf``/...);
- Plugin Framework resources: ``Attributes``/``Blocks`` of the ``schema.Schema`` their ``Schema``
  method sets (block sizes from ``listvalidator.SizeAtLeast``/``SizeAtMost``/``IsRequired``,
  conflicts from ``*validator.ConflictsWith(path...)``).

The schema literals call helpers (``tftags.TagsSchema()``, ``framework.IDAttribute()``, shared
``xxxSchema()`` functions, closures), so the script evaluates them with a small interpreter of the
Go subset schema code is written in (composite literals, calls, closures, assignments, returns)
rather than pattern-matching text. What a provider adds outside the schema is added here the way
the provider does it: ``region`` on every type registered with region override (AWS provider 6),
SDKv2's implicit ``id``, and ``timeouts`` blocks.

Why the Go source and not the docs (website/docs/r/*.html.markdown): the docs are prose written
by hand, list nested blocks loosely and drift from the code; the schema maps are what the provider
validates configurations against.

Snapshots (read with git, no work tree needed):
- ``--aws``: a git directory of either hashicorp/terraform-provider-aws itself, or of
  lonegunmanb/terraform-provider-aws-index, which holds the provider's Go source at a release
  tag split one declaration per file (``index/internal/**/func.X.goindex``), about 45 MB
  against the provider repository's 900 MB. Its commits are tagged with the provider version
  they index.
- ``--archive``: a git directory of hashicorp/terraform-provider-archive.

Read each provider at the lowest and the newest version of the range terraform/ pins (one
``--*-rev`` each): a configuration must hold for both, and an argument added within the range
is refused at its lowest version.

    .venv/bin/python scripts/terraform_schema.py \\
        --aws /work/.mirror/lonegunmanb+terraform-provider-aws-index/repo \\
        --aws-rev v6.0.0 --aws-rev v6.58.0 \\
        --archive /work/.mirror/hashicorp+terraform-provider-archive/repo \\
        --archive-rev v2.4.0 --archive-rev v2.8.0

(a bare clone serves: ``git clone --bare https://github.com/<owner>/<name>``). About two minutes
a version on a quiet machine.

Output (one type per line, sorted, so a regeneration diffs by type): per provider and version its
provenance and ``resources``/``data_sources``: type -> block, where a block is
``{"attributes": {name: mode}, "blocks": {name: {"min": n, "max": n, ...block}}}`` and mode is
``required``, ``optional``, ``computed`` (read-only) or ``optional+computed``; ``conflicts``,
``exactly_one_of``, ``at_least_one_of`` and ``required_with`` hold groups of sibling names where
the provider declares them, ``deprecated`` the deprecated ones. With ``--types used`` (the
default) only the types terraform/ uses are written (``--terraform`` adds another tree's);
``--types all`` writes every type (about 2.3 MB a version). The script exits 1 when a type
terraform/ uses is missing or has a part it could not evaluate.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "tests" / "terraform" / "provider_schemas.json"
TERRAFORM = REPO / "terraform"

SDK_SCHEMA = "github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
FW_SCHEMAS = (
    "github.com/hashicorp/terraform-plugin-framework/resource/schema",
    "github.com/hashicorp/terraform-plugin-framework/datasource/schema",
)
AWS_NAMES = "github.com/hashicorp/terraform-provider-aws/names"


class SchemaError(RuntimeError):
    """The source could not be read as the script expects (the message says where)."""


# --------------------------------------------------------------------------- snapshot reading


class Snapshot:
    """The files of one commit of a git directory (bare or not), read with ``git cat-file``."""

    def __init__(self, git_dir: Path, rev: str):
        self.git_dir = git_dir
        self.commit = self._git("rev-parse", f"{rev}^{{commit}}").strip()
        listing = self._git("ls-tree", "-r", "-z", self.commit)
        self.blobs: dict[str, str] = {}
        for entry in listing.split("\0"):
            if entry:
                meta, path = entry.split("\t", 1)
                _, kind, sha = meta.split()
                if kind == "blob":
                    self.blobs[path] = sha
        self._cat = subprocess.Popen(
            ["git", f"--git-dir={git_dir}", "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def _git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", f"--git-dir={self.git_dir}", *args], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise SchemaError(f"git {' '.join(args)} in {self.git_dir}: {done.stderr.strip()}")
        return done.stdout

    def read(self, path: str) -> str:
        sha = self.blobs[path]
        assert self._cat.stdin and self._cat.stdout
        self._cat.stdin.write(sha.encode() + b"\n")
        self._cat.stdin.flush()
        header = self._cat.stdout.readline().split()
        data = self._cat.stdout.read(int(header[2]) + 1)[:-1]
        return data.decode("utf-8", errors="replace")

    def exists(self, path: str) -> bool:
        return path in self.blobs

    def commit_date(self) -> str:
        return self._git("log", "-1", "--format=%cI", self.commit).strip()

    def tags(self) -> list[str]:
        return self._git("tag", "--points-at", self.commit).split()


# --------------------------------------------------------------------------- Go lexer

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r]+)
  | (?P<nl>\n)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<raw>`[^`]*`)
  | (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<char>'(?:[^'\\\n]|\\.)+')
  | (?P<num>0[xX][0-9a-fA-F_]+|(?:\d[\d_]*\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)i?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\.\.\.|<<=|>>=|&\^=|&&|\|\||<-|\+\+|--|==|!=|<=|>=|:=|\+=|-=|\*=|/=|%=|&=
          |\|=|\^=|<<|>>|&\^|[-+*/%&|^<>=!()\[\]{},;.:~])
    """,
    re.VERBOSE | re.DOTALL,
)
_SEMI_AFTER = {")", "]", "}", "++", "--"}
_SEMI_KEYWORDS = {"break", "continue", "fallthrough", "return"}


@dataclass(frozen=True)
class Tok:
    kind: str  # ident, str, num, char, op
    value: str


def tokenize(text: str, where: str) -> list[Tok]:
    """Go tokens, with the semicolons Go's lexer inserts at line ends."""
    tokens: list[Tok] = []
    pos = 0

    def semicolon() -> None:
        if tokens:
            last = tokens[-1]
            if (
                last.kind in ("str", "num", "char")
                or (last.kind == "ident")
                or (last.kind == "op" and last.value in _SEMI_AFTER)
            ):
                tokens.append(Tok("op", ";"))

    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise SchemaError(f"{where}: cannot tokenize at {text[pos : pos + 30]!r}")
        kind = m.lastgroup
        value = m.group()
        pos = m.end()
        if kind == "ws":
            continue
        if kind == "nl" or (kind == "comment" and "\n" in value):
            semicolon()
            continue
        if kind == "comment":
            continue
        if kind == "raw":
            tokens.append(Tok("str", value[1:-1].replace("\r", "")))
        elif kind == "str":
            tokens.append(Tok("str", ast.literal_eval(value)))
        elif kind == "ident" and value in _SEMI_KEYWORDS:
            tokens.append(Tok("ident", value))
        else:
            tokens.append(Tok(kind, value))
    semicolon()
    return tokens


# --------------------------------------------------------------------------- Go AST (subset)


@dataclass
class Node:
    pass


@dataclass
class Lit(Node):
    value: Any


@dataclass
class Name(Node):
    name: str


@dataclass
class Selector(Node):
    target: Node
    name: str


@dataclass
class Call(Node):
    func: Node
    args: list[Node]
    spread: bool = False


@dataclass
class Index(Node):
    target: Node
    index: list[Node]


@dataclass
class Unary(Node):
    op: str
    operand: Node


@dataclass
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass
class TypeExpr(Node):
    """A type written where a value is expected (``[]string``, ``map[string]*schema.Schema``)."""

    text: str
    elem: str  # the element type of a slice or map, "" otherwise
    name: Node | None = None  # a named type: its Name/Selector


@dataclass
class Composite(Node):
    type: Node | None  # None: the type is elided (inside a slice or map literal)
    elements: list[tuple[Node | None, Node]]


@dataclass
class FuncLit(Node):
    params: list[str]
    body: list[Tok]
    file: GoFile


@dataclass
class Opaque(Node):
    """Something the parser skipped (a type assertion, a slice expression)."""

    text: str


_PRECEDENCE = {
    "||": 1,
    "&&": 2,
    "==": 3,
    "!=": 3,
    "<": 3,
    "<=": 3,
    ">": 3,
    ">=": 3,
    "+": 4,
    "-": 4,
    "|": 4,
    "^": 4,
    "*": 5,
    "/": 5,
    "%": 5,
    "<<": 5,
    ">>": 5,
    "&": 5,
    "&^": 5,
}
_CLOSERS = {"(": ")", "[": "]", "{": "}"}


class Parser:
    """Recursive descent over Go tokens: expressions, and the statements schema helpers use."""

    def __init__(self, tokens: list[Tok], file: GoFile, where: str):
        self.toks = tokens
        self.pos = 0
        self.file = file
        self.where = where
        self.no_composite = 0  # >0 while parsing an if/for/switch header

    # -- token helpers
    def peek(self, offset: int = 0) -> Tok:
        i = self.pos + offset
        return self.toks[i] if i < len(self.toks) else Tok("eof", "")

    def at(self, value: str) -> bool:
        t = self.peek()
        return t.kind in ("op", "ident") and t.value == value

    def take(self) -> Tok:
        t = self.peek()
        self.pos += 1
        return t

    def expect(self, value: str) -> Tok:
        if not self.at(value):
            t = self.peek()
            raise SchemaError(f"{self.where}: expected {value!r}, found {t.value!r}")
        return self.take()

    def skip_balanced(self) -> None:
        """Skip one bracketed group starting at the current ( [ or {."""
        depth = 0
        while True:
            t = self.take()
            if t.kind == "eof":
                raise SchemaError(f"{self.where}: unbalanced brackets")
            if t.kind == "op" and t.value in _CLOSERS:
                depth += 1
            elif t.kind == "op" and t.value in (")", "]", "}"):
                depth -= 1
                if depth == 0:
                    return

    # -- types
    def parse_type(self) -> str:
        """A type, as text (only its spelling matters here)."""
        t = self.peek()
        if self.at("*"):
            self.take()
            return "*" + self.parse_type()
        if self.at("["):
            if self.peek(1).value == "]":
                self.pos += 2
                return "[]" + self.parse_type()
            start = self.pos
            self.skip_balanced()
            size = "".join(x.value for x in self.toks[start + 1 : self.pos - 1])
            return f"[{size}]" + self.parse_type()
        if self.at("map"):
            self.take()
            self.expect("[")
            key = self.parse_type()
            self.expect("]")
            return f"map[{key}]" + self.parse_type()
        if self.at("chan"):
            self.take()
            return "chan " + self.parse_type()
        if self.at("func"):
            self.take()
            self.parse_signature()
            return "func"
        if self.at("struct") or self.at("interface"):
            word = self.take().value
            self.skip_balanced()
            return word + "{}"
        if self.at("..."):
            self.take()
            return "..." + self.parse_type()
        if self.at("("):
            self.take()
            inner = self.parse_type()
            self.expect(")")
            return inner
        if t.kind != "ident":
            raise SchemaError(f"{self.where}: expected a type, found {t.value!r}")
        name = self.take().value
        if self.at("."):
            self.take()
            name += "." + self.take().value
        if self.at("["):  # type arguments
            self.skip_balanced()
        return name

    def parse_signature(self) -> list[str]:
        """``(params) results``: the parameter names ("" for unnamed ones)."""
        params = self.parse_params()
        if self.at("("):
            self.parse_params()
        elif not (self.at("{") or self.at(";") or self.at(",") or self.at(")")):
            if self.peek().kind == "ident" or self.peek().value in ("*", "[", "map", "func"):
                self.parse_type()
        return params

    def parse_params(self) -> list[str]:
        self.expect("(")
        entries: list[list[Tok]] = [[]]
        depth = 0
        while True:
            t = self.take()
            if t.kind == "eof":
                raise SchemaError(f"{self.where}: unterminated parameter list")
            if t.kind == "op" and t.value in _CLOSERS:
                depth += 1
            elif t.kind == "op" and t.value in (")", "]", "}"):
                if depth == 0:
                    break
                depth -= 1
            if depth == 0 and t.kind == "op" and t.value == ",":
                entries.append([])
                continue
            entries[-1].append(t)
        entries = [e for e in entries if e]

        def named(entry: list[Tok]) -> bool:
            return (
                len(entry) > 1
                and entry[0].kind == "ident"
                and not (entry[1].kind == "op" and entry[1].value in (".", "["))
            )

        if any(named(e) for e in entries):
            return [e[0].value for e in entries]
        return ["" for _ in entries]

    # -- expressions
    def parse_expr(self, min_prec: int = 1) -> Node:
        left = self.parse_unary()
        while True:
            t = self.peek()
            prec = _PRECEDENCE.get(t.value) if t.kind == "op" else None
            if prec is None or prec < min_prec:
                return left
            self.take()
            right = self.parse_expr(prec + 1)
            left = Binary(t.value, left, right)

    def parse_unary(self) -> Node:
        t = self.peek()
        if t.kind == "op" and t.value in ("&", "-", "+", "!", "^", "*", "<-"):
            self.take()
            return Unary(t.value, self.parse_unary())
        return self.parse_primary()

    def parse_operand(self) -> Node:
        t = self.peek()
        if t.kind == "str":
            self.take()
            return Lit(t.value)
        if t.kind == "num":
            self.take()
            text = t.value.replace("_", "")
            try:
                return Lit(int(text, 0))
            except ValueError:
                try:
                    return Lit(float(text))
                except ValueError:
                    return Opaque(text)
        if t.kind == "char":
            self.take()
            return Opaque(t.value)
        if self.at("("):
            self.take()
            self.no_composite, saved = 0, self.no_composite
            inner = self.parse_expr()
            self.no_composite = saved
            self.expect(")")
            return inner
        if self.at("func"):
            self.take()
            params = self.parse_signature()
            if not self.at("{"):
                return TypeExpr("func", "")
            start = self.pos
            self.skip_balanced()
            return FuncLit(params, self.toks[start + 1 : self.pos - 1], self.file)
        if self.at("[") or self.at("map") or self.at("struct") or self.at("chan"):
            text = self.parse_type()
            elem = ""
            if text.startswith("[") or text.startswith("map["):
                elem = _element_type(text)
            return TypeExpr(text, elem)
        if t.kind == "ident":
            self.take()
            return Name(t.value)
        raise SchemaError(f"{self.where}: unexpected {t.value!r}")

    def parse_primary(self) -> Node:
        node = self.parse_operand()
        while True:
            if self.at("."):
                self.take()
                if self.at("("):  # type assertion x.(T)
                    self.skip_balanced()
                    node = Opaque("type assertion")
                    continue
                node = Selector(node, self.take().value)
            elif self.at("("):
                self.take()
                args: list[Node] = []
                spread = False
                saved, self.no_composite = self.no_composite, 0
                while not self.at(")"):
                    args.append(self.parse_arg())
                    if self.at("..."):
                        self.take()
                        spread = True
                    if not self.at(")"):
                        self.expect(",")
                self.no_composite = saved
                self.take()
                node = Call(node, args, spread)
            elif self.at("["):
                self.take()
                saved, self.no_composite = self.no_composite, 0
                items: list[Node] = []
                sliced = False
                while not self.at("]"):
                    if self.at(":"):
                        self.take()
                        sliced = True
                        continue
                    items.append(self.parse_arg())
                    if self.at(","):
                        self.take()
                self.no_composite = saved
                self.take()
                node = Opaque("slice expression") if sliced else Index(node, items)
            elif self.at("{") and not self.no_composite and _can_be_type(node):
                node = Composite(node, self.parse_elements())
            else:
                return node

    def parse_arg(self) -> Node:
        """A call argument or index: an expression, or a type (``make(map[string]int)``)."""
        if self.at("*") and self.peek(1).kind == "ident" and self.peek(2).value in (")", ","):
            self.take()
            return TypeExpr("*" + self.take().value, "")
        return self.parse_expr()

    def parse_elements(self) -> list[tuple[Node | None, Node]]:
        self.expect("{")
        saved, self.no_composite = self.no_composite, 0
        elements: list[tuple[Node | None, Node]] = []
        while not self.at("}"):
            key: Node | None = None
            value = self.parse_element()
            if self.at(":"):
                self.take()
                key, value = value, self.parse_element()
            elements.append((key, value))
            if not self.at("}"):
                self.expect(",")
        self.take()
        self.no_composite = saved
        return elements

    def parse_element(self) -> Node:
        if self.at("{"):
            return Composite(None, self.parse_elements())
        return self.parse_expr()

    # -- statements
    def parse_block_statements(self) -> list[Node]:
        """Statements until the end of the token list; unsupported ones become Opaque."""
        stmts: list[Node] = []
        while self.peek().kind != "eof":
            if self.at(";"):
                self.take()
                continue
            stmts.append(self.parse_statement())
        return stmts

    def skip_statement(self) -> None:
        """Skip tokens to the end of the statement (a ; at bracket depth 0)."""
        while not (self.at(";") or self.peek().kind == "eof"):
            if self.peek().kind == "op" and self.peek().value in _CLOSERS:
                self.skip_balanced()
            else:
                self.take()

    def parse_statement(self) -> Node:
        t = self.peek()
        if t.kind == "ident" and t.value == "return":
            self.take()
            values = [] if self.at(";") or self.peek().kind == "eof" else self.parse_expr_list()
            return Return(values)
        if t.kind == "ident" and t.value in ("if", "for", "switch", "select"):
            # Conditional schema changes are not followed: skip the header and every body.
            self.take()
            self.no_composite += 1
            while not self.at("{"):
                if self.peek().kind == "eof":
                    raise SchemaError(f"{self.where}: unterminated {t.value}")
                if self.peek().value in ("(", "["):
                    self.skip_balanced()
                else:
                    self.take()
            self.no_composite -= 1
            self.skip_balanced()
            while self.at("else"):
                self.take()
                while not self.at("{"):
                    self.take()
                self.skip_balanced()
            return Opaque(t.value)
        if t.kind == "ident" and t.value in ("var", "const"):
            self.take()
            if self.at("("):
                self.skip_balanced()
                return Opaque("var group")
            names = [self.take().value]
            while self.at(","):
                self.take()
                names.append(self.take().value)
            if not self.at("="):
                self.parse_type()
            if self.at("="):
                self.take()
                return Assign([Name(n) for n in names], self.parse_expr_list(), define=True)
            return Assign([Name(n) for n in names], [Lit(None)] * len(names), define=True)
        if t.kind == "ident" and t.value in ("go", "defer", "type", "goto", "break", "continue"):
            self.skip_statement()
            return Opaque(t.value)
        if self.at("{"):
            self.skip_balanced()
            return Opaque("block")
        lhs = self.parse_expr_list()
        if self.at(":=") or self.at("="):
            define = self.take().value == ":="
            return Assign(lhs, self.parse_expr_list(), define)
        if (
            self.peek().kind == "op"
            and self.peek().value.endswith("=")
            and self.peek().value
            not in (
                "==",
                "!=",
                "<=",
                ">=",
            )
        ):
            self.skip_statement()
            return Opaque("op-assign")
        if self.at("++") or self.at("--"):
            self.take()
            return Opaque("incdec")
        if self.at(":"):  # a label
            self.take()
            return Opaque("label")
        return ExprStmt(lhs[0])

    def parse_expr_list(self) -> list[Node]:
        items = [self.parse_expr()]
        while self.at(","):
            self.take()
            items.append(self.parse_expr())
        return items


@dataclass
class Return(Node):
    values: list[Node]


@dataclass
class Assign(Node):
    targets: list[Node]
    values: list[Node]
    define: bool


@dataclass
class ExprStmt(Node):
    expr: Node


def _can_be_type(node: Node) -> bool:
    if isinstance(node, Name | TypeExpr):
        return True
    if isinstance(node, Selector):
        return isinstance(node.target, Name)
    if isinstance(node, Index):  # a generic type
        return _can_be_type(node.target)
    return False


def _element_type(text: str) -> str:
    """``[]*schema.Schema`` -> ``schema.Schema``; ``map[string]schema.Attribute`` -> that."""
    if text.startswith("map["):
        depth = 0
        for i, ch in enumerate(text):
            if ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
                if depth == 0:
                    return text[i + 1 :].lstrip("*")
    if text.startswith("["):
        return text[text.index("]") + 1 :].lstrip("*")
    return ""


# --------------------------------------------------------------------------- Go packages


@dataclass
class GoFile:
    package: str  # import path
    imports: dict[str, str]  # alias -> import path


@dataclass
class Decl:
    """A top-level func, method or var/const, parsed on first use."""

    kind: str  # func, var
    name: str  # "F", "Type.Method", "V"
    file: GoFile
    tokens: list[Tok]
    where: str
    _parsed: Any = None

    def parsed(self) -> Any:
        if self._parsed is None:
            p = Parser(self.tokens, self.file, self.where)
            if self.kind == "func":
                p.expect("func")
                receiver = ""
                if p.at("("):
                    receiver_params = p.parse_params()
                    receiver = receiver_params[0] if receiver_params else ""
                p.take()  # name
                if p.at("["):  # type parameters
                    p.skip_balanced()
                params = p.parse_signature()
                body: list[Tok] = []
                if p.at("{"):
                    start = p.pos
                    p.skip_balanced()
                    body = p.toks[start + 1 : p.pos - 1]
                self._parsed = (receiver, FuncLit(params, body, self.file))
            else:
                if p.at("var") or p.at("const"):
                    p.take()
                p.take()  # name
                if not p.at("="):
                    if p.at(";") or p.peek().kind == "eof":
                        self._parsed = Opaque(f"iota {self.name}")
                        return self._parsed
                    p.parse_type()
                if not p.at("="):
                    self._parsed = Opaque(f"iota {self.name}")
                else:
                    p.take()
                    self._parsed = p.parse_expr()
        return self._parsed


def default_alias(path: str) -> str:
    parts = path.split("/")
    last = parts[-1]
    if re.fullmatch(r"v\d+", last) and len(parts) > 1:
        last = parts[-2]
    return last.replace("-", "_").removeprefix("go_")


def parse_header(tokens: list[Tok], where: str) -> tuple[str, dict[str, str], int]:
    """``package X`` and the imports: (package clause text, alias -> path, index after them)."""
    p = Parser(tokens, GoFile("", {}), where)
    p.expect("package")
    begin = p.pos
    p.skip_statement()  # the index layout writes the import path here, not the name
    package = "".join(t.value for t in tokens[begin : p.pos])
    imports: dict[str, str] = {}

    def spec() -> None:
        alias = None
        if p.peek().kind == "ident" or p.at("."):
            alias = p.take().value
        path = p.take().value
        imports[alias or default_alias(path)] = path

    while p.at(";"):
        p.take()
    while p.at("import"):
        p.take()
        if p.at("("):
            p.take()
            while not p.at(")"):
                if p.at(";"):
                    p.take()
                    continue
                spec()
            p.take()
        else:
            spec()
        while p.at(";"):
            p.take()
    return package, imports, p.pos


def _receiver_type(tokens: list[Tok]) -> str:
    """``r *bucketResource[T]`` -> ``bucketResource``."""
    if len(tokens) > 1 and tokens[0].kind == "ident" and tokens[1].value not in (".", "["):
        tokens = tokens[1:]  # the receiver's name
    return next((t.value for t in tokens if t.kind == "ident"), "")


def split_decls(tokens: list[Tok], start: int, file: GoFile, where: str) -> Iterator[Decl]:
    """The top-level declarations of a .go file (or of one index fragment)."""
    p = Parser(tokens, file, where)
    p.pos = start
    while p.peek().kind != "eof":
        if p.at(";"):
            p.take()
            continue
        begin = p.pos
        if p.at("func"):
            p.take()
            receiver_type = ""
            if p.at("("):
                inner_start = p.pos
                p.skip_balanced()
                receiver_type = _receiver_type(tokens[inner_start + 1 : p.pos - 1])
            name = p.take().value
            if p.at("["):  # type parameters
                p.skip_balanced()
            p.parse_signature()
            if p.at("{"):
                p.skip_balanced()
            full = f"{receiver_type}.{name}" if receiver_type else name
            yield Decl("func", full, file, tokens[begin : p.pos], where)
        elif p.at("type"):
            p.take()
            if p.at("("):
                p.skip_balanced()
            else:
                p.skip_statement()
                if tokens[begin + 1].kind == "ident":
                    yield Decl(
                        "type",
                        "type " + tokens[begin + 1].value,
                        file,
                        tokens[begin : p.pos],
                        where,
                    )
        elif p.at("import"):
            p.take()
            if p.at("("):
                p.skip_balanced()
            else:
                p.skip_statement()
        elif p.at("var") or p.at("const"):
            p.take()
            if p.at("("):
                p.take()
                while not p.at(")"):
                    if p.at(";"):
                        p.take()
                        continue
                    spec_start = p.pos
                    p.skip_statement()
                    spec = tokens[spec_start : p.pos]
                    if spec and spec[0].kind == "ident":
                        yield Decl("var", spec[0].value, file, spec, where)
                p.take()
            else:
                spec_start = p.pos
                p.skip_statement()
                spec = tokens[spec_start : p.pos]
                if spec and spec[0].kind == "ident":
                    yield Decl("var", spec[0].value, file, spec, where)
        elif p.peek().kind == "ident":  # an index fragment: one spec of a var/const group
            spec_start = p.pos
            p.skip_statement()
            spec = tokens[spec_start : p.pos]
            yield Decl("var", spec[0].value, file, spec, where)
        else:
            raise SchemaError(f"{where}: unexpected top-level {p.peek().value!r}")


class Package:
    def __init__(self, path: str):
        self.path = path
        self.decls: dict[str, Decl] = {}
        self.pending: list[str] = []  # index layout: files not yet read, by declared name
        self.loaded = False


class SourceTree:
    """Go packages of one snapshot, in the module layout or the provider index's layout."""

    def __init__(self, snapshot: Snapshot, module: str, layout: str, prefix: str = ""):
        self.snapshot = snapshot
        self.module = module
        self.layout = layout  # "module" (a go module checkout) or "index" (*.goindex fragments)
        self.prefix = prefix
        self.packages: dict[str, Package] = {}
        self.dirs: dict[str, list[str]] = {}
        suffix = ".goindex" if layout == "index" else ".go"
        for path in snapshot.blobs:
            if not path.startswith(prefix) or not path.endswith(suffix):
                continue
            if layout == "module" and (path.endswith("_test.go") or "/testdata/" in path):
                continue
            directory = path[len(prefix) :].rsplit("/", 1)[0] if "/" in path[len(prefix) :] else ""
            self.dirs.setdefault(directory, []).append(path)

    def package(self, import_path: str) -> Package | None:
        if import_path in self.packages:
            return self.packages[import_path]
        if import_path != self.module and not import_path.startswith(self.module + "/"):
            return None
        directory = import_path[len(self.module) + 1 :] if import_path != self.module else ""
        if directory not in self.dirs:
            return None
        package = Package(import_path)
        self.packages[import_path] = package
        return package

    def decl(self, package: Package, name: str) -> Decl | None:
        if not package.loaded:
            self._load(package)
        return package.decls.get(name)

    def _load(self, package: Package) -> None:
        package.loaded = True
        directory = package.path[len(self.module) + 1 :] if package.path != self.module else ""
        for path in self.dirs[directory]:
            text = self.snapshot.read(path)
            tokens = tokenize(text, path)
            _, imports, start = parse_header(tokens, path)
            file = GoFile(package.path, imports)
            for decl in split_decls(tokens, start, file, path):
                package.decls.setdefault(decl.name, decl)


# --------------------------------------------------------------------------- interpreter


@dataclass(eq=False)
class Struct:
    type: str  # import path + "." + name
    fields: dict[str, Any] = field(default_factory=dict)


class GoMap(dict):
    def __init__(self, type_: str = "", *args: Any):
        super().__init__(*args)
        self.type = type_


class GoSlice(list):
    def __init__(self, type_: str = "", *args: Any):
        super().__init__(*args)
        self.type = type_


@dataclass(eq=False)
class Closure:
    func: FuncLit
    env: Env
    receiver: str = ""


@dataclass(eq=False)
class Unknown:
    """A value from outside the snapshot (an SDK call, a stdlib function): its name and args."""

    name: str
    args: list[Any] = field(default_factory=list)

    def __hash__(self) -> int:
        return id(self)


@dataclass(eq=False)
class PackageRef:
    package: Package


class Env:
    def __init__(self, file: GoFile, parent: Env | None = None):
        self.file = file
        self.vars: dict[str, Any] = {}
        self.parent = parent

    def lookup(self, name: str) -> tuple[bool, Any]:
        env: Env | None = self
        while env is not None:
            if name in env.vars:
                return True, env.vars[name]
            env = env.parent
        return False, None

    def set(self, name: str, value: Any) -> None:
        env: Env | None = self
        while env is not None:
            if name in env.vars:
                env.vars[name] = value
                return
            env = env.parent
        self.vars[name] = value


class _Returned(Exception):
    def __init__(self, value: Any):
        self.value = value


_BUILTIN_TYPES = {
    "string",
    "int",
    "int32",
    "int64",
    "float64",
    "float32",
    "bool",
    "byte",
    "rune",
    "uint",
    "any",
}


class Interpreter:
    def __init__(self, tree: SourceTree, names_fallback: bool):
        self.tree = tree
        self.names_fallback = names_fallback
        self.depth = 0
        self.var_cache: dict[tuple[str, str], Any] = {}

    # -- resolution
    def package_scope(self, path: str, name: str) -> tuple[bool, Any]:
        package = self.tree.package(path)
        if package is None:
            return False, None
        decl = self.tree.decl(package, name)
        if decl is None:
            return False, None
        if decl.kind == "func":
            receiver, func = decl.parsed()
            return True, Closure(func, Env(decl.file))
        key = (path, name)
        if key not in self.var_cache:
            self.var_cache[key] = Unknown(f"{path}.{name} (cycle)")
            self.var_cache[key] = self.eval(decl.parsed(), Env(decl.file))
        return True, self.var_cache[key]

    def qualified(self, env: Env, alias: str, name: str) -> Any:
        path = env.file.imports.get(alias)
        if path is None:
            return None
        found, value = self.package_scope(path, name)
        if found:
            return value
        if path == AWS_NAMES and self.names_fallback and name.startswith("Attr"):
            return attr_constant(name)
        return Unknown(f"{path}.{name}")

    def type_name(self, env: Env, node: Node | None) -> str:
        """The full name of a (named) type expression."""
        if node is None:
            return ""
        if isinstance(node, Index):
            return self.type_name(env, node.target)
        if isinstance(node, Name):
            if node.name in _BUILTIN_TYPES:
                return node.name
            return f"{env.file.package}.{node.name}"
        if isinstance(node, Selector) and isinstance(node.target, Name):
            path = env.file.imports.get(node.target.name, node.target.name)
            return f"{path}.{node.name}"
        if isinstance(node, TypeExpr):
            return node.text
        return ""

    def full_type(self, env: Env, text: str) -> str:
        """``schema.Schema`` (as written in a file) -> its import path + name."""
        text = text.lstrip("*")
        if "." in text and not text.startswith(("[", "map[")):
            alias, name = text.split(".", 1)
            return f"{env.file.imports.get(alias, alias)}.{name}"
        if text and text not in _BUILTIN_TYPES and not text.startswith(("[", "map[")):
            return f"{env.file.package}.{text}"
        return text

    # -- evaluation
    def eval(self, node: Node, env: Env, elided: str = "") -> Any:
        if isinstance(node, Lit):
            return node.value
        if isinstance(node, Name):
            found, value = env.lookup(node.name)
            if found:
                return value
            if node.name in ("true", "false"):
                return node.name == "true"
            if node.name == "nil":
                return None
            found, value = self.package_scope(env.file.package, node.name)
            if found:
                return value
            if node.name in env.file.imports:
                package = self.tree.package(env.file.imports[node.name])
                return PackageRef(package) if package else Unknown(env.file.imports[node.name])
            return Unknown(node.name)
        if isinstance(node, Selector):
            if isinstance(node.target, Name):
                found, _ = env.lookup(node.target.name)
                if not found and node.target.name in env.file.imports:
                    return self.qualified(env, node.target.name, node.name)
            target = self.eval(node.target, env)
            return self.select(target, node.name)
        if isinstance(node, Composite):
            return self.composite(node, env, elided)
        if isinstance(node, Unary):
            value = self.eval(node.operand, env, elided)
            if node.op in ("&", "*", "+"):
                return value
            if node.op == "!" and isinstance(value, bool):
                return not value
            if node.op == "-" and isinstance(value, int | float):
                return -value
            return Unknown(f"{node.op}expr", [value])
        if isinstance(node, Binary):
            left = self.eval(node.left, env)
            right = self.eval(node.right, env)
            if node.op == "+" and isinstance(left, str) and isinstance(right, str):
                return left + right
            if isinstance(left, int | float) and isinstance(right, int | float):
                if node.op in ("+", "-", "*"):
                    return {"+": left + right, "-": left - right, "*": left * right}[node.op]
            return Unknown(f"binary {node.op}", [left, right])
        if isinstance(node, FuncLit):
            return Closure(node, env)
        if isinstance(node, Call):
            return self.call(node, env)
        if isinstance(node, Index):
            target = self.eval(node.target, env)
            if isinstance(target, Closure):  # generic instantiation f[T]
                return target
            if isinstance(target, GoMap) and node.index:
                key = self.eval(node.index[0], env)
                return target.get(key, Unknown("missing key"))
            if isinstance(target, list) and node.index:
                idx = self.eval(node.index[0], env)
                if isinstance(idx, int) and 0 <= idx < len(target):
                    return target[idx]
            return Unknown("index", [target])
        if isinstance(node, TypeExpr):
            return node
        if isinstance(node, Opaque):
            return Unknown(node.text)
        raise SchemaError(f"cannot evaluate {type(node).__name__}")

    def select(self, target: Any, name: str) -> Any:
        if isinstance(target, Struct):
            if name in target.fields:
                return target.fields[name]
            method = self.method(target.type, name)
            if method is not None:
                method.env.vars[method.receiver] = target
                return method
            return Unknown(f"{target.type}.{name}")
        if isinstance(target, PackageRef):
            found, value = self.package_scope(target.package.path, name)
            return value if found else Unknown(f"{target.package.path}.{name}")
        if isinstance(target, Unknown):
            return Unknown(f"{target.name}.{name}", [target])
        return Unknown(f"?.{name}", [target])

    def method(self, type_: str, name: str, depth: int = 0) -> Closure | None:
        """The method of a named type, or of a struct type it embeds (promoted methods)."""
        if "." not in type_ or depth > 5:
            return None
        path, type_name = type_.rsplit(".", 1)
        package = self.tree.package(path)
        if package is None:
            return None
        decl = self.tree.decl(package, f"{type_name}.{name}")
        if decl is not None:
            receiver, func = decl.parsed()
            return Closure(func, Env(decl.file), receiver)
        type_decl = self.tree.decl(package, f"type {type_name}")
        for embedded in _embedded_types(type_decl) if type_decl else []:
            found = self.method(self.full_type(Env(type_decl.file), embedded), name, depth + 1)
            if found is not None:
                return found
        return None

    def composite(self, node: Composite, env: Env, elided: str) -> Any:
        if node.type is None:
            type_text = elided
        elif isinstance(node.type, TypeExpr):
            type_text = node.type.text
        else:
            type_text = self.type_name(env, node.type)
        if type_text.startswith("map["):
            elem = _element_type(type_text)
            result = GoMap(type_text)
            for key, value in node.elements:
                k = self.eval(key, env, _map_key_type(type_text)) if key is not None else None
                if isinstance(k, Unknown | str | int | bool | float):
                    result[k] = self.eval(value, env, elem)
            return result
        if type_text.startswith("["):
            elem = _element_type(type_text)
            return GoSlice(type_text, [self.eval(v, env, elem) for _, v in node.elements])
        full = self.full_type(env, type_text) if node.type is None else type_text
        struct = Struct(full)
        for key, value in node.elements:
            if isinstance(key, Name):
                struct.fields[key.name] = self.eval(value, env)
        return struct

    def call(self, node: Call, env: Env) -> Any:
        func_node = node.func
        if isinstance(func_node, Name) and not env.lookup(func_node.name)[0]:
            builtin = func_node.name
            if builtin == "make" and node.args and isinstance(node.args[0], TypeExpr):
                text = node.args[0].text
                return GoMap(text) if text.startswith("map[") else GoSlice(text)
            if builtin == "append" and node.args:
                base = self.eval(node.args[0], env)
                items = [self.eval(a, env) for a in node.args[1:]]
                if node.spread and items and isinstance(items[-1], list):
                    items = items[:-1] + list(items[-1])
                return GoSlice(getattr(base, "type", ""), [*_items(base), *items])
            if builtin in _BUILTIN_TYPES and len(node.args) == 1:
                return self.eval(node.args[0], env)
        if isinstance(func_node, TypeExpr):  # a conversion: []string(x)
            return self.eval(node.args[0], env) if node.args else None
        func = self.eval(func_node, env)
        args = [self.eval(a, env) for a in node.args]
        if node.spread and args and isinstance(args[-1], list):
            args = args[:-1] + list(args[-1])
        if isinstance(func, Closure):
            return self.invoke(func, args)
        if isinstance(func, Unknown):
            if func.name in ("sync.OnceValue", "sync.OnceValues") and args:
                return args[0]  # calling the result calls the function
            if func.name == "maps.Clone" and args and isinstance(args[0], dict):
                return GoMap(getattr(args[0], "type", ""), args[0])
            if func.name in ("maps.Copy",) and len(args) == 2:
                if isinstance(args[0], dict) and isinstance(args[1], dict):
                    args[0].update(args[1])
            return Unknown(func.name, args)
        return Unknown("call", args)

    def invoke(self, closure: Closure, args: list[Any]) -> Any:
        if self.depth > 40:
            return Unknown("recursion")
        self.depth += 1
        try:
            env = Env(closure.func.file, closure.env)
            for i, name in enumerate(closure.func.params):
                if name and name != "_":
                    env.vars[name] = args[i] if i < len(args) else None
            parser = Parser(closure.func.body, closure.func.file, "function body")
            try:
                statements = parser.parse_block_statements()
            except SchemaError as error:
                return Unknown(f"unparsed function: {error}")
            try:
                for stmt in statements:
                    self.execute(stmt, env)
            except _Returned as returned:
                return returned.value
            return None
        finally:
            self.depth -= 1

    def execute(self, stmt: Node, env: Env) -> None:
        if isinstance(stmt, Return):
            values = [self.eval(v, env) for v in stmt.values]
            raise _Returned(values[0] if len(values) == 1 else tuple(values))
        if isinstance(stmt, Assign):
            if len(stmt.values) == 1 and len(stmt.targets) > 1:
                result = self.eval(stmt.values[0], env)
                values = list(result) if isinstance(result, tuple) else [result]
                values += [None] * (len(stmt.targets) - len(values))
            else:
                values = [self.eval(v, env) for v in stmt.values]
            for target, value in zip(stmt.targets, values, strict=False):
                self.assign(target, value, env, stmt.define)
            return
        if isinstance(stmt, ExprStmt):
            self.eval(stmt.expr, env)

    def assign(self, target: Node, value: Any, env: Env, define: bool) -> None:
        if isinstance(target, Name):
            if target.name == "_":
                return
            if define:
                env.vars[target.name] = value
            else:
                env.set(target.name, value)
        elif isinstance(target, Selector):
            owner = self.eval(target.target, env)
            if isinstance(owner, Struct):
                owner.fields[target.name] = value
        elif isinstance(target, Index) and target.index:
            owner = self.eval(target.target, env)
            key = self.eval(target.index[0], env)
            if isinstance(owner, dict) and isinstance(key, str):
                owner[key] = value


def _embedded_types(decl: Decl) -> list[str]:
    """The embedded fields of ``type T struct { ... }`` (lines holding only a type)."""
    toks = decl.tokens
    try:
        start = next(i for i, t in enumerate(toks) if t.value == "struct") + 2
    except StopIteration:
        return []
    found: list[str] = []
    line: list[Tok] = []
    depth = 0
    for t in toks[start:]:
        if t.value in _CLOSERS:
            depth += 1
        elif t.value in (")", "]", "}"):
            if depth == 0:
                break
            depth -= 1
        if depth == 0 and t.value == ";":
            words = [x for x in line if x.value != "*"]
            if words and words[0].kind == "ident" and (len(words) == 1 or words[1].value == "."):
                if len(words) in (1, 3) or (len(words) > 3 and words[3].value == "["):
                    found.append("".join(x.value for x in words[:3]))
            line = []
        elif not (depth == 0 and t.kind == "str"):  # a field tag
            line.append(t)
    return found


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _map_key_type(type_text: str) -> str:
    return type_text[4 : type_text.index("]")] if type_text.startswith("map[") else ""


_ACRONYMS = ("JSON", "IOPS", "CIDR", "ARN", "AWS", "DNS", "IAM", "KMS", "SNS", "URI", "URL", "VPC")
_ACRONYMS += ("ID", "IP", "S3")


def attr_constant(go_name: str) -> str:
    """``names.AttrKMSKeyARN`` -> ``kms_key_arn``: how the provider names its attribute constants
    (names/attr_constants.csv: snake_case of the name, acronyms as words, CloudWatch as one word),
    for snapshots that do not hold the names package."""
    text = go_name.removeprefix("Attr").replace("CloudWatch", "Cloudwatch")
    words: list[str] = []
    for word in re.findall(r"[A-Z]{2,}s?(?![a-z])|[A-Z][a-z0-9]*|[a-z0-9]+", text):
        plural = word.endswith("s") and word[:-1].isupper()
        run = word[:-1] if plural else word
        parts: list[str] = []
        while run:
            known = next((a for a in _ACRONYMS if run.startswith(a)), None)
            if known is None or not run.isupper():
                parts.append(run)
                break
            parts.append(known)
            run = run[len(known) :]
        if plural:
            parts[-1] += "s"
        words.extend(parts)
    return "_".join(w.lower() for w in words)


# --------------------------------------------------------------------------- schema conversion


def _suffix(type_: str) -> str:
    return type_.rsplit("/", 1)[-1]


def _mode(required: Any, optional: Any, computed: Any) -> str:
    if required is True:
        return "required"
    if optional is True and computed is True:
        return "optional+computed"
    if optional is True:
        return "optional"
    if computed is True:
        return "computed"
    return "unknown"


@dataclass
class Block:
    attributes: dict[str, str] = field(default_factory=dict)
    blocks: dict[str, Block] = field(default_factory=dict)
    min: int = 0
    max: int = 0  # 0: no limit
    # kind -> groups of sibling names: "conflicts" (at most one set), "exactly_one_of",
    # "at_least_one_of", "required_with" (when the first is set, the others must be too).
    constraints: dict[str, list[list[str]]] = field(default_factory=dict)
    deprecated: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.min:
            out["min"] = self.min
        if self.max:
            out["max"] = self.max
        out["attributes"] = dict(sorted(self.attributes.items()))
        if self.blocks:
            out["blocks"] = {k: v.as_json() for k, v in sorted(self.blocks.items())}
        for kind, groups in sorted(self.constraints.items()):
            out[kind] = sorted(groups)
        if self.deprecated:
            out["deprecated"] = sorted(self.deprecated)
        return out

    def constrain(self, kind: str, key: str, others: list[str]) -> None:
        """Record that ``key`` and ``others`` (siblings) form a constraint group."""
        others = [o for o in dict.fromkeys(others) if o != key]
        if not others:
            return
        if kind == "conflicts":
            groups = [sorted([key, other]) for other in others]
        elif kind == "required_with":
            groups = [[key, *sorted(others)]]
        else:
            groups = [sorted([key, *others])]
        existing = self.constraints.setdefault(kind, [])
        existing += [g for g in groups if g not in existing]

    def problems(self, where: str) -> list[str]:
        found = [f"{where}: {u}" for u in self.unresolved]
        for name, mode in self.attributes.items():
            if mode == "unknown":
                found.append(f"{where}.{name}: neither required, optional nor computed")
        for name, block in self.blocks.items():
            found += block.problems(f"{where}.{name}")
        return found


_SDK_CONSTRAINTS = {
    "ConflictsWith": "conflicts",
    "ExactlyOneOf": "exactly_one_of",
    "AtLeastOneOf": "at_least_one_of",
    "RequiredWith": "required_with",
}


def sdk_block(resource: Any, where: str, path: str = "") -> Block:
    """A block from an SDKv2 ``*schema.Resource`` (its Schema or SchemaFunc)."""
    block = Block()
    if not isinstance(resource, Struct):
        block.unresolved.append(f"not a schema.Resource: {resource!r:.80}")
        return block
    schema_map = resource.fields.get("Schema")
    if schema_map is None and isinstance(resource.fields.get("SchemaFunc"), Closure):
        schema_map = INTERPRETER.invoke(resource.fields["SchemaFunc"], [])
    if not isinstance(schema_map, dict):
        block.unresolved.append(f"schema map not resolved: {schema_map!r:.80}")
        return block
    for key, value in schema_map.items():
        if not isinstance(key, str):
            block.unresolved.append(f"key not resolved: {key!r:.80}")
            continue
        if not (isinstance(value, Struct) and value.type == f"{SDK_SCHEMA}.Schema"):
            block.unresolved.append(f"{key}: schema not resolved: {value!r:.80}")
            continue
        f = value.fields
        mode = _mode(f.get("Required"), f.get("Optional"), f.get("Computed"))
        elem = f.get("Elem")
        kind = _suffix(str(getattr(f.get("Type"), "name", "")))
        config_mode = _suffix(str(getattr(f.get("ConfigMode"), "name", "")))
        nested = (
            isinstance(elem, Struct)
            and elem.type == f"{SDK_SCHEMA}.Resource"
            and kind in ("schema.TypeList", "schema.TypeSet")
            and config_mode != "schema.SchemaConfigModeAttr"
            and mode != "computed"
        )
        if nested:
            child = sdk_block(elem, where, f"{path}{key}.0.")
            child.max = f.get("MaxItems") if isinstance(f.get("MaxItems"), int) else 0
            min_items = f.get("MinItems") if isinstance(f.get("MinItems"), int) else 0
            child.min = max(min_items, 1) if mode == "required" else min_items
            block.blocks[key] = child
        else:
            block.attributes[key] = mode
        if isinstance(f.get("Deprecated"), str) and f["Deprecated"]:
            block.deprecated.append(key)
        for go_field, kind_name in _SDK_CONSTRAINTS.items():
            others = f.get(go_field)
            if isinstance(others, list):
                # Paths are absolute ("a.0.b"): keep the siblings of this level.
                siblings = [
                    o[len(path) :]
                    for o in others
                    if isinstance(o, str) and o.startswith(path) and "." not in o[len(path) :]
                ]
                block.constrain(kind_name, key, siblings)
    timeouts = resource.fields.get("Timeouts")
    if isinstance(timeouts, Struct) and "timeouts" not in block.blocks:
        names = [n.lower() for n in ("Create", "Read", "Update", "Delete") if n in timeouts.fields]
        if "Default" in timeouts.fields:
            names = ["create", "read", "update", "delete", "default"]
        block.blocks["timeouts"] = Block(attributes=dict.fromkeys(names, "optional"), max=1)
    return block


_FW_BLOCKS = ("ListNestedBlock", "SetNestedBlock", "SingleNestedBlock")
_FW_CONSTRAINTS = {
    "ConflictsWith": "conflicts",
    "Conflicting": "conflicts",
    "ExactlyOneOf": "exactly_one_of",
    "AtLeastOneOf": "at_least_one_of",
    "AlsoRequires": "required_with",
    "RequiredTogether": "required_with",
}


def _sibling(expression: Any, top_level: bool) -> str | None:
    """The sibling a path expression names: ``path.MatchRoot("x")`` at the top level, or
    ``path.MatchRelative().AtParent().AtName("x")``."""
    if not isinstance(expression, Unknown) or not expression.args:
        return None
    name = expression.name.rsplit("/", 1)[-1]
    arg = expression.args[-1]
    if not isinstance(arg, str):
        return None
    if (name == "path.MatchRoot" and top_level) or name.endswith("MatchRelative.AtParent.AtName"):
        return arg
    return None


def _validator_limits(validators: Any) -> tuple[int, int]:
    low, high = 0, 0
    for v in validators if isinstance(validators, list) else []:
        if not isinstance(v, Unknown):
            continue
        name = v.name.rsplit(".", 1)[-1]
        ints = [a for a in v.args if isinstance(a, int)]
        if name == "SizeAtLeast" and ints:
            low = ints[0]
        elif name == "SizeAtMost" and ints:
            high = ints[0]
        elif name == "SizeBetween" and len(ints) == 2:
            low, high = ints
        elif name == "IsRequired":
            low = max(low, 1)
    return low, high


def _fw_constraints(block: Block, key: str | None, validators: Any, top_level: bool) -> None:
    """Constraints from ``xvalidator.ConflictsWith(path...)`` on attribute ``key``, or from
    ``resourcevalidator.Conflicting(path...)`` and the like (``key`` None) on the schema."""
    for v in validators if isinstance(validators, list) else []:
        if not isinstance(v, Unknown):
            continue
        name = v.name.rsplit(".", 1)[-1]
        kind = _FW_CONSTRAINTS.get(name)
        if kind is None:
            continue
        names = [s for s in (_sibling(a, top_level) for a in v.args) if s]
        if key is not None:
            block.constrain(kind, key, names)
        elif kind == "conflicts" and names:  # Conflicting: at most one of the group
            block.constraints.setdefault(kind, []).append(sorted(names))
        elif kind == "required_with":  # RequiredTogether: each needs the others
            for each in names:
                block.constrain(kind, each, names)
        elif names:
            block.constrain(kind, names[0], names[1:])


def fw_block(obj: Any, where: str, top_level: bool = False) -> Block:
    """A block from a Plugin Framework schema.Schema, NestedBlockObject or SingleNestedBlock."""
    block = Block()
    if not isinstance(obj, Struct):
        block.unresolved.append(f"not a framework schema: {obj!r:.80}")
        return block
    attributes = obj.fields.get("Attributes") or {}
    blocks = obj.fields.get("Blocks") or {}
    for key, value in attributes.items() if isinstance(attributes, dict) else []:
        if not isinstance(key, str):
            block.unresolved.append(f"key not resolved: {key!r:.80}")
            continue
        if not (isinstance(value, Struct) and value.type.rsplit(".", 1)[-1].endswith("Attribute")):
            block.unresolved.append(f"{key}: attribute not resolved: {value!r:.80}")
            continue
        f = value.fields
        block.attributes[key] = _mode(f.get("Required"), f.get("Optional"), f.get("Computed"))
        if isinstance(f.get("DeprecationMessage"), str) and f["DeprecationMessage"]:
            block.deprecated.append(key)
        _fw_constraints(block, key, f.get("Validators"), top_level)
    for key, value in blocks.items() if isinstance(blocks, dict) else []:
        if not isinstance(key, str):
            block.unresolved.append(f"key not resolved: {key!r:.80}")
            continue
        if isinstance(value, Unknown) and value.name.rsplit("/", 1)[-1].startswith("timeouts."):
            opts = next((a for a in value.args if isinstance(a, Struct)), None)
            names = [n.lower() for n, on in (opts.fields.items() if opts else []) if on is True]
            if value.name.endswith(".BlockAll"):
                names = ["create", "read", "update", "delete"]
            block.blocks[key] = Block(attributes=dict.fromkeys(names, "optional"), max=1)
            continue
        kind = value.type.rsplit(".", 1)[-1] if isinstance(value, Struct) else ""
        if kind not in _FW_BLOCKS:
            block.unresolved.append(f"{key}: block not resolved: {value!r:.80}")
            continue
        inner = value if kind == "SingleNestedBlock" else value.fields.get("NestedObject")
        child = fw_block(inner, where)
        low, high = _validator_limits(value.fields.get("Validators"))
        child.min = low
        child.max = 1 if kind == "SingleNestedBlock" else high
        block.blocks[key] = child
        if (
            isinstance(value.fields.get("DeprecationMessage"), str)
            and value.fields["DeprecationMessage"]
        ):
            block.deprecated.append(key)
        _fw_constraints(block, key, value.fields.get("Validators"), top_level)
    return block


def _region_override(registration: Struct) -> bool:
    """Whether the provider adds a ``region`` argument to the type (AWS provider 6)."""
    stack = [registration.fields.get("Region")]
    while stack:
        value = stack.pop()
        if isinstance(value, Struct):
            if value.fields.get("IsOverrideEnabled") is True:
                return True
            stack.extend(value.fields.values())
        elif isinstance(value, Unknown):
            stack.extend(value.args)
    return False


# --------------------------------------------------------------------------- providers

INTERPRETER: Interpreter  # set per provider (the converters call back into it)


@dataclass
class ProviderSchema:
    resources: dict[str, Block] = field(default_factory=dict)
    data_sources: dict[str, Block] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def framework_schema(instance: Any, kind: str, where: str) -> Block:
    """Call the type's Schema method the way the framework does and read the schema it sets."""
    if isinstance(instance, tuple):
        instance = instance[0]
    if not isinstance(instance, Struct):
        return Block(unresolved=[f"factory did not return a struct: {instance!r:.80}"])
    method = INTERPRETER.method(instance.type, "Schema")
    if method is None:
        return Block(unresolved=[f"no Schema method on {instance.type}"])
    method.env.vars[method.receiver] = instance
    response = Struct(f"{kind}.SchemaResponse")
    INTERPRETER.invoke(method, [Unknown("ctx"), Struct(f"{kind}.SchemaRequest"), response])
    block = fw_block(response.fields.get("Schema"), where, top_level=True)
    validators = INTERPRETER.method(instance.type, "ConfigValidators")
    if validators is not None:
        validators.env.vars[validators.receiver] = instance
        _fw_constraints(block, None, INTERPRETER.invoke(validators, [Unknown("ctx")]), True)
    return block


def add_region(block: Block) -> None:
    block.attributes.setdefault("region", "optional+computed")


def aws_provider(tree: SourceTree) -> ProviderSchema:
    """Every resource and data source the servicePackage registration methods list."""
    result = ProviderSchema()
    services = sorted(
        {
            d.split("/")[2]
            for d in tree.dirs
            if d.startswith("internal/service/") and d.count("/") == 2
        }
    )
    for service in services:
        package = tree.package(f"{tree.module}/internal/service/{service}")
        if package is None:
            continue
        for method, target, sdk in (
            ("SDKResources", result.resources, True),
            ("SDKDataSources", result.data_sources, True),
            ("FrameworkResources", result.resources, False),
            ("FrameworkDataSources", result.data_sources, False),
        ):
            registration = INTERPRETER.method(f"{package.path}.servicePackage", method)
            if registration is None:
                continue
            registration.env.vars[registration.receiver] = Struct(f"{package.path}.servicePackage")
            entries = INTERPRETER.invoke(registration, [Unknown("ctx")])
            is_resource = target is result.resources
            for entry in entries if isinstance(entries, list) else []:
                try:
                    type_name, block = _registered_type(entry, sdk, is_resource)
                except (SchemaError, RecursionError) as error:
                    result.problems.append(f"{service}.{method}: {error}")
                    continue
                if _region_override(entry):
                    add_region(block)
                target[type_name] = block
    return result


def _registered_type(entry: Any, sdk: bool, is_resource: bool) -> tuple[str, Block]:
    """(type name, schema) of one servicePackage registration."""
    if not isinstance(entry, Struct):
        raise SchemaError(f"unreadable registration {entry!r:.80}")
    type_name = entry.fields.get("TypeName")
    factory = entry.fields.get("Factory")
    if not isinstance(factory, Closure):
        raise SchemaError(f"{type_name}: factory not resolved: {factory!r:.80}")
    if sdk:
        if not isinstance(type_name, str):
            raise SchemaError(f"registration without a TypeName: {entry!r:.80}")
        block = sdk_block(INTERPRETER.invoke(factory, []), type_name)
        # terraform-plugin-sdk adds an optional+computed "id" to every resource and data source.
        block.attributes.setdefault("id", "optional+computed")
        return type_name, block
    kind = "resource" if is_resource else "datasource"
    instance = INTERPRETER.invoke(factory, [Unknown("ctx")])
    if isinstance(instance, tuple):
        instance = instance[0]
    if not isinstance(type_name, str):  # older providers: the type's Metadata method names it
        type_name = framework_type_name(instance, kind, "aws")
    return type_name, framework_schema(instance, kind, type_name)


def framework_type_name(instance: Any, kind: str, provider_name: Any) -> str:
    """The type name a framework resource's Metadata method sets."""
    method = INTERPRETER.method(getattr(instance, "type", ""), "Metadata")
    if method is None:
        raise SchemaError(f"no Metadata method on {instance!r:.80}")
    method.env.vars[method.receiver] = instance
    request = Struct(f"{kind}.MetadataRequest", {"ProviderTypeName": provider_name})
    response = Struct(f"{kind}.MetadataResponse")
    INTERPRETER.invoke(method, [Unknown("ctx"), request, response])
    type_name = response.fields.get("TypeName")
    if not isinstance(type_name, str):
        raise SchemaError(f"type name of {instance!r:.80} not resolved: {type_name!r:.80}")
    return type_name


def framework_provider(tree: SourceTree) -> ProviderSchema:
    """A Plugin Framework provider: its Resources/DataSources factories, named by Metadata."""
    result = ProviderSchema()
    for directory in sorted(tree.dirs):
        package = tree.package(f"{tree.module}/{directory}" if directory else tree.module)
        if package is None:
            continue
        tree.decl(package, "")  # load
        for name in list(package.decls):
            if not name.endswith(".DataSources") and not name.endswith(".Resources"):
                continue
            type_name = name.split(".")[0]
            provider = Struct(f"{package.path}.{type_name}")
            meta = INTERPRETER.method(provider.type, "Metadata")
            if meta is None:
                continue
            meta.env.vars[meta.receiver] = provider
            response = Struct("provider.MetadataResponse")
            INTERPRETER.invoke(meta, [Unknown("ctx"), Struct("provider.MetadataRequest"), response])
            provider_name = response.fields.get("TypeName")
            method = INTERPRETER.method(provider.type, name.split(".")[1])
            assert method is not None
            method.env.vars[method.receiver] = provider
            factories = INTERPRETER.invoke(method, [Unknown("ctx")])
            is_resource = name.endswith(".Resources")
            kind = "resource" if is_resource else "datasource"
            target = result.resources if is_resource else result.data_sources
            for factory in factories if isinstance(factories, list) else []:
                if not isinstance(factory, Closure):
                    result.problems.append(f"{name}: factory not resolved: {factory!r:.80}")
                    continue
                instance = INTERPRETER.invoke(factory, [])
                try:
                    type_name = framework_type_name(instance, kind, provider_name)
                except SchemaError as error:
                    result.problems.append(f"{name}: {error}")
                    continue
                target[type_name] = framework_schema(instance, kind, type_name)
    return result


# --------------------------------------------------------------------------- terraform/ usage


def used_types(trees: tuple[Path, ...] = (TERRAFORM,)) -> dict[str, set[str]]:
    """Resource and data source types terraform/ declares, by block kind."""
    found: dict[str, set[str]] = {"resource": set(), "data": set()}
    pattern = re.compile(r'^(resource|data)\s+"([A-Za-z0-9_]+)"', re.MULTILINE)
    for path in (p for tree in trees for p in tree.rglob("*.tf")):
        if ".terraform" in path.parts or "node_modules" in path.parts:
            continue
        for kind, type_name in pattern.findall(path.read_text(encoding="utf-8")):
            found[kind].add(type_name)
    return found


# --------------------------------------------------------------------------- main


def _version(snapshot: Snapshot, tree: SourceTree, changelog: str) -> str:
    if tree.layout == "index" and snapshot.exists("index/terraform-provider-aws-index.json"):
        return json.loads(snapshot.read("index/terraform-provider-aws-index.json"))["version"]
    tags = [t for t in snapshot.tags() if re.fullmatch(r"v\d+\.\d+\.\d+", t)]
    if tags:
        return tags[0]
    if snapshot.exists(changelog):
        for line in snapshot.read(changelog).splitlines():
            m = re.match(r"## (\d+\.\d+\.\d+) \((?!Unreleased)", line)
            if m:
                return f"after v{m.group(1)} (untagged commit)"
    return "unknown"


def load_aws(git_dir: Path, rev: str) -> tuple[dict[str, Any], ProviderSchema]:
    global INTERPRETER
    snapshot = Snapshot(git_dir, rev)
    index_layout = snapshot.exists("index/terraform-provider-aws-index.json")
    module = "github.com/hashicorp/terraform-provider-aws"
    if index_layout:
        tree = SourceTree(snapshot, module, "index", prefix="index/")
    else:
        tree = SourceTree(snapshot, module, "module")
    INTERPRETER = Interpreter(tree, names_fallback=index_layout)
    schema = aws_provider(tree)
    version = _version(snapshot, tree, "CHANGELOG.md")
    provenance = {
        "provider": "registry.terraform.io/hashicorp/aws",
        "version": version.removeprefix("v"),
        "source": (
            f"hashicorp/terraform-provider-aws tag {version}, Go source as indexed by "
            f"lonegunmanb/terraform-provider-aws-index (commit {snapshot.commit}, "
            f"{snapshot.commit_date()}; tag {version})"
            if index_layout
            else f"hashicorp/terraform-provider-aws commit {snapshot.commit} "
            f"({snapshot.commit_date()}; tag {version})"
        ),
        "read_from": "internal/service/*: servicePackage registrations (TypeName, Factory, "
        "Region), SDKv2 schema maps and Plugin Framework Schema methods",
    }
    if index_layout:
        provenance["names_constants"] = (
            "names.Attr* (the names package is not in the index) resolved by the provider's "
            "naming rule: snake_case, acronyms as words, CloudWatch as one word"
        )
    return provenance, schema


def load_archive(git_dir: Path, rev: str) -> tuple[dict[str, Any], ProviderSchema]:
    global INTERPRETER
    snapshot = Snapshot(git_dir, rev)
    module = "github.com/hashicorp/terraform-provider-archive"
    tree = SourceTree(snapshot, module, "module")
    INTERPRETER = Interpreter(tree, names_fallback=False)
    schema = framework_provider(tree)
    version = _version(snapshot, tree, "CHANGELOG.md")
    provenance = {
        "provider": "registry.terraform.io/hashicorp/archive",
        "version": version.removeprefix("v"),
        "source": f"hashicorp/terraform-provider-archive commit {snapshot.commit} "
        f"({snapshot.commit_date()}; tag {version})",
        "read_from": "internal/provider: Resources/DataSources factories, Metadata and Schema "
        "methods",
    }
    return provenance, schema


Loaded = tuple[dict[str, Any], ProviderSchema]


def render(
    providers: dict[str, list[Loaded]], types: str, trees: tuple[Path, ...] = (TERRAFORM,)
) -> str:
    """The data file: JSON with one type per line."""
    used = used_types(trees)
    provider_chunks = []
    for name, versions in providers.items():
        version_chunks = []
        for provenance, schema in versions:
            sections = [f'"provenance": {json.dumps(provenance)}']
            for section, kind, blocks in (
                ("resources", "resource", schema.resources),
                ("data_sources", "data", schema.data_sources),
            ):
                wanted = sorted(blocks) if types == "all" else sorted(used[kind] & set(blocks))
                entries = [f"{json.dumps(t)}: {json.dumps(blocks[t].as_json())}" for t in wanted]
                sections.append(f'"{section}": {{\n' + ",\n".join(entries) + "\n}")
            version_chunks.append(
                f"{json.dumps(provenance['version'])}: {{\n" + ",\n".join(sections) + "\n}"
            )
        provider_chunks.append(
            f'{json.dumps(name)}: {{"versions": {{\n' + ",\n".join(version_chunks) + "\n}}"
        )
    header = {
        "generated_by": "scripts/terraform_schema.py (do not edit: regenerate it from the "
        "providers' source snapshots, see the script)",
        "versions": "per provider, the lowest and the newest version of the range terraform/ "
        "pins: a configuration must hold for both",
        "modes": "required | optional | computed (read-only) | optional+computed",
        "blocks": "min/max: how many of a nested block (max 0: no limit); conflicts: at most "
        "one of a group; required_with: the first needs the others",
    }
    lines = ["{"]
    lines += [f"{json.dumps(k)}: {json.dumps(v)}," for k, v in header.items()]
    lines += ['"providers": {', ",\n".join(provider_chunks), "}", "}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--aws", type=Path, required=True, help="git dir of the AWS provider")
    parser.add_argument(
        "--aws-rev", action="append", help="a commit or tag to read (repeat for several)"
    )
    parser.add_argument("--archive", type=Path, required=True, help="git dir of archive")
    parser.add_argument("--archive-rev", action="append")
    parser.add_argument("--types", choices=("used", "all"), default="used")
    parser.add_argument(
        "--terraform",
        type=Path,
        action="append",
        help="with --types used: the trees whose types to write (default terraform/; repeat to "
        "add another checkout's, e.g. a branch about to be merged)",
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--verbose", action="store_true", help="list every unresolved part")
    args = parser.parse_args(argv)

    providers = {
        "aws": [load_aws(args.aws, rev) for rev in args.aws_rev or ["HEAD"]],
        "archive": [load_archive(args.archive, rev) for rev in args.archive_rev or ["HEAD"]],
    }
    trees = tuple(args.terraform or [TERRAFORM])
    used = used_types(trees)
    failures = []
    for name, versions in providers.items():
        for provenance, schema in versions:
            label = f"{name} {provenance['version']}"
            everything = {**schema.resources, **schema.data_sources}
            broken = [t for t, b in everything.items() if b.problems(t)]
            if args.verbose:
                for t in broken:
                    print("  " + "\n  ".join(everything[t].problems(t)), file=sys.stderr)
            print(
                f"{label}: {len(schema.resources)} resources, {len(schema.data_sources)} data "
                f"sources; {len(broken)} with unresolved parts",
                file=sys.stderr,
            )
            for kind, blocks in (("resource", schema.resources), ("data", schema.data_sources)):
                for type_name in sorted(used[kind]):
                    if not type_name.startswith(name + "_"):
                        continue
                    if type_name not in blocks:
                        failures.append(f"{label}: {kind} {type_name}: not in the provider")
                    else:
                        failures += blocks[type_name].problems(f"{label}: {kind} {type_name}")
            failures += [f"{label}: {p}" for p in schema.problems]
    args.output.write_text(render(providers, args.types, trees), encoding="utf-8")
    print(f"wrote {args.output}", file=sys.stderr)
    if failures:
        print("unresolved (types terraform/ uses):\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.setrecursionlimit(20000)
    sys.exit(main())
