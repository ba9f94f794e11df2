import math
import re
from functools import lru_cache

from nb2pipe.lint.rule import Context, Invalid, Rule

#: Secrets recognisable by their shape: (kind, markers, pattern, the environment variable they
#: usually live in). Every match starts with one of its markers: the pattern is only tried
#: where a marker occurs (a search from the start would scan a whole long output, since a
#: pattern that begins with ``\b`` gives the regex engine no literal to skip ahead to).
PATTERNS = (
    ("an AWS access key", ("AKIA", "ASIA"), re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
     "AWS_ACCESS_KEY_ID"),
    ("a GitHub token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
     re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})"),
     "GITHUB_TOKEN"),
    ("a Slack token", ("xox",), re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "SLACK_TOKEN"),
    ("an Anthropic API key", ("sk-ant-",), re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}"),
     "ANTHROPIC_API_KEY"),
    ("an OpenAI API key", ("sk-",), re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}"),
     "OPENAI_API_KEY"),
    ("a Google API key", ("AIza",), re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), "GOOGLE_API_KEY"),
    ("a Stripe key", ("rk_live_", "sk_live_"), re.compile(r"\b[rs]k_live_[0-9A-Za-z]{16,}"),
     "STRIPE_API_KEY"),
    ("a Hugging Face token", ("hf_",), re.compile(r"\bhf_[A-Za-z]{34,}\b"), "HF_TOKEN"),
    ("a private key", ("-----BEGIN",),
     re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP )?PRIVATE KEY"), "PRIVATE_KEY"),
    ("a JSON Web Token", ("eyJ",),
     re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"), "JWT"),
    ("a password in a connection string", ("://",),
     re.compile(r"://[^\s:/@'\"<>]+:([^\s@/'\"<>]{4,})@[\w.-]+"), "DATABASE_URL"),
)
#: Names that say "this value is a secret".
_SECRET_NAME = re.compile(
    r"(?:^|_)(pass(?:word|wd)?|pwd|secret|api_?key|apikey|access_?key|secret_?key|private_?key|"
    r"client_?secret|auth_?token|access_?token|refresh_?token|bearer|credentials?|token)s?$",
    re.IGNORECASE)
_PLACEHOLDER = re.compile(
    r"your|xxx|\*\*\*|<|>|\{|\}|example|placeholder|insert|replace|change|dummy|sample|"
    r"here|todo|fixme|redacted|fake|test|none|null|\.\.\.|^secret$|^password$|^token$|"
    r"^[x*._\- ]+$|environ|getenv", re.IGNORECASE)


_FILE_NAME = re.compile(r"^[\w./\\~-]+\.(?:json|txt|pem|key|p12|cfg|ini|yaml|yml|env|csv|crt)$",
                        re.IGNORECASE)


def entropy(value: str) -> float:
    counts: dict[str, int] = {}
    for char in value:
        counts[char] = counts.get(char, 0) + 1
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


# Every pattern above contains one of its markers: one search for any of them rejects almost
# every string (and every long output) before the patterns themselves run.
_ANY_MARKER = re.compile("|".join(re.escape(m) for _, markers, _, _ in PATTERNS for m in markers))


def by_shape(value: str):
    """``(kind, env_name, match)`` for the first secret pattern ``value`` contains, or None."""
    if len(value) < 12 or not _ANY_MARKER.search(value):
        return None
    for kind, markers, pattern, env in PATTERNS:
        match = _leftmost_match(pattern, markers, value)
        if match and not _PLACEHOLDER.search(match.group(match.lastindex or 0)):
            return kind, env, match
    return None


def _leftmost_match(pattern, markers, value: str):
    """``pattern.search(value)``, trying the pattern only where one of ``markers`` starts."""
    found = None
    for marker in markers:
        at = value.find(marker)
        while at != -1 and (found is None or at < found.start()):
            match = pattern.match(value, at)  # `\b` still sees the character before `at`
            if match:
                found = match
                break
            at = value.find(marker, at + 1)
    return found


@lru_cache(maxsize=4096)
def _secret_word(name: str) -> str | None:
    match = _SECRET_NAME.search(name)
    return match.group(1).lower() if match else None


def by_name(name: str | None, value: str) -> bool:
    """Whether ``value``, given to ``name``, looks like a real secret rather than a stand-in."""
    if name is not None and name.lower() == "key":
        # `wandb.login(key=…)`, Kaggle's {"key": …}: a key only by its long random value
        # (`key="sepal_length"` is a column)
        digits = sum(c.isdigit() for c in value)
        return len(value) >= 32 and value.isalnum() and 6 <= digits <= len(value) - 6 and \
            entropy(value) >= 3.3 and not _PLACEHOLDER.search(value)
    if not name or len(value) < 4 or _secret_word(name) is None or _PLACEHOLDER.search(value):
        return False
    if any(c.isspace() for c in value) or value.startswith(("http://", "https://", "/", "./")):
        return False
    if _FILE_NAME.match(value):
        return False  # a path to a key file, not the key
    word = _secret_word(name)
    if word.startswith(("pass", "pwd")):
        return len(value) >= 6 and entropy(value) >= 2.3
    if word in ("token", "tokens", "credential", "credentials"):
        return len(value) >= 20 and entropy(value) >= 3.5
    return len(value) >= 12 and entropy(value) >= 3.0


def mask_secret(value: str) -> str:
    return value[:4] + "…" if len(value) > 8 else "…"


def env_name(context: str | None, default: str) -> str:
    if context and context.lower() == "key":
        return "API_KEY"  # `login(key=…)`: a variable called KEY would say nothing
    if context and context.isidentifier():
        return re.sub(r"[^A-Z0-9]+", "_", context.upper()).strip("_") or default
    return default


class HardCodedSecret(Rule):
    """API keys, tokens and passwords written in code or saved in outputs.

    ## What it does
    Flags string literals that look like secrets, found two ways: by their shape (AWS keys,
    GitHub, Slack, OpenAI, Anthropic, Google, Stripe and Hugging Face tokens, private keys, JSON
    Web Tokens, passwords in connection URLs) and by the name they are given (`api_key = "…"`,
    `password="…"`, `{"token": "…"}`) when the value is random enough to be real. A plain
    `key` (`wandb.login(key=…)`, Kaggle's `{"key": …}`) counts only with a long value of letters
    and digits. Placeholders such as `"your_key_here"` or `"<TOKEN>"` are not secrets. Cell
    outputs are searched by shape.

    ## Why is this bad?
    Anyone who can read the notebook (the repository, a shared drive, a pipeline's artifact
    store) can use the key. Notebooks are copied and shared more than any other code, and a
    secret in git history stays there after it is deleted.

    ## Example
    ```python
    # %%
    client = OpenAI(api_key="sk-proj-9f3Kq2LzR8vT1xYb7Wm4Nc6Hd0Je5Ug3")
    ```

    ## Use instead
    ```python
    # %%
    import os
    client = OpenAI(api_key=os.environ["API_KEY"])
    ```
    Then revoke the key that was in the notebook: it is compromised.

    ## Fix safety
    Safe as an edit of the code: the fix replaces the literal with `os.environ["NAME"]` (and adds
    `import os` to the imports at the top). The notebook then needs that environment variable set. Secrets in outputs are
    reported without a fix: clear the outputs.
    """

    code = "NB501"
    name = "hard-coded-secret"
    severity = "error"
    category = "no-secrets"
    fix_safety = "safe"
    fix_title = "Read the secret from an environment variable"
    VALID = (
        '# %%\nimport os\napi_key = os.environ["API_KEY"]\n',
        '# %%\napi_key = "your_key_here"\npassword = "<PASSWORD>"\ntoken = "the"\n',
        '# %%\ntokens = ["hello", "world"]\nkey = "sepal_length"\n',
        '# %%\ndf.sort_values(key="AVeryLongColumnNameWithoutAnySpaces")\n',
        # an image embedded in HTML: its base64 may take the shape of a key by chance
        '# %% outputs=[{"output_type": "display_data", "metadata": {}, "data": {"text/html": '
        '"<style>p{background:url(data:image/png;base64,iVBORw0KGgo/AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3'
        'n4O5p6Q+AAAA)}</style>"}}]\nshow(animation)\n',
    )
    INVALID = (
        Invalid('# %%\nclient = OpenAI(api_key="sk-proj-9f3Kq2LzR8vT1xYb7Wm4Nc6Hd0Je5Ug3aa")\n',
                count=1,
                fixed='# %%\nimport os\nclient = OpenAI(api_key=os.environ["API_KEY"])\n'),
        Invalid('# %%\ndb_password = "Tr0ub4dor&3"\nurl = "postgres://ana:s3cr3tpw@db:5432/x"\n',
                count=2),
        Invalid('# %%\nwandb.login(key="3f9a1c07be42d85e6a0b7c19f2e84d5a6c0b3e71")\n'
                'kaggle = {"username": "ana", "key": "7d2c5e1f0a9b8c7d6e5f4a3b2c1d0e9f"}\n',
                count=2),
        Invalid('# %% outputs=[{"output_type": "stream", "name": "stdout", '
                '"text": "AKIAIOSFODNN7EXAMPL3\\n"}]\nprint(os.environ["AWS_KEY"])\n', count=1),
    )

    def check(self, ctx: Context):
        for cell, facts in ctx.analysis.cells_with_facts():
            for string in facts.strings:
                if string.docstring or len(string.value) > 5000:
                    continue
                shape = by_shape(string.value)
                if shape is not None:
                    kind, _env, match = shape
                    yield self.report(
                        ctx, cell, f"{kind} (`{mask_secret(match.group(0))}`) is written in the "
                                   f"code", node=string.node,
                        help="read it from an environment variable, and revoke this one",
                        fix=string.value == match.group(0) or string.context is not None)
                elif by_name(string.context, string.value):
                    yield self.report(
                        ctx, cell, f"`{string.context}` is set to a literal secret "
                                   f"(`{mask_secret(string.value)}`)", node=string.node,
                        help=f"use `os.environ[\"{env_name(string.context, 'SECRET')}\"]`, and "
                             f"revoke this one")
        for cell in ctx.notebook.code_cells:
            for text in _output_texts(cell.outputs):
                shape = by_shape(text)
                if shape is not None:
                    kind, _env, match = shape
                    yield self.report(
                        ctx, cell, f"the saved output contains {kind} "
                                   f"(`{mask_secret(match.group(0))}`)",
                        help="clear the outputs (Edit › Clear All Outputs), save, and revoke it",
                        fix=False)
                    break

    def fix(self, editor, diagnostics):
        from nb2pipe.analysis import NotebookAnalysis

        notebook = editor.notebook()
        analysis = NotebookAnalysis(notebook)
        wanted: dict[int, set] = {}
        for diagnostic in diagnostics:
            if diagnostic.fix:
                wanted.setdefault(diagnostic.cell, set()).add((diagnostic.line, diagnostic.col))
        for index, positions in wanted.items():
            facts = analysis.facts.get(index)
            if facts is None:
                continue
            names = {}
            for string in facts.strings:
                key = (string.node.lineno, string.node.col_offset + 1)
                if key in positions:
                    shape = by_shape(string.value)
                    default = shape[1] if shape else "SECRET"
                    names[key] = env_name(string.context, default)

            editor.rewrite(index, _environ_strings(names))
        editor.ensure_import("os")


def _environ_strings(names: dict):
    """Replace the string literals at the given positions with ``os.environ["NAME"]``."""
    import libcst

    from nb2pipe.lint.cst import edit_at

    return edit_at("SimpleString", {
        position: (lambda node, name=name: libcst.parse_expression(f'os.environ["{name}"]'))
        for position, name in names.items()})


def _output_texts(outputs):
    for output in outputs:
        values = [output.get("text")]
        data = output.get("data")
        if isinstance(data, dict):
            values += [data.get("text/plain"), data.get("application/json"),
                       _without_embedded_files(data.get("text/html"))]
        for value in values:
            if isinstance(value, list):
                try:
                    value = "".join(value)
                except TypeError:  # a damaged output: keep its strings
                    value = "".join(part for part in value if isinstance(part, str))
            if isinstance(value, str):
                yield value


def _without_embedded_files(html):
    """HTML without the images and videos it embeds (``src="data:image/png;base64,iVBOR…"``):
    megabytes of random letters that hold no secret but match the shape of one by chance, and
    take most of the time of searching an animation's output."""
    if isinstance(html, list):
        try:
            html = "".join(html)
        except TypeError:
            return None
    if not isinstance(html, str) or "base64," not in html:
        return html
    kept = []
    start = 0
    while (at := html.find("base64,", start)) != -1:
        ends = [end for end in (html.find('"', at), html.find("'", at), html.find(")", at))
                if end != -1]
        kept.append(html[start:at])
        start = min(ends) if ends else len(html)
    kept.append(html[start:])
    return "".join(kept)
