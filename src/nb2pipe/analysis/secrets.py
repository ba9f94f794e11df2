"""Secrets in strings: recognised by their shape (keys and tokens of known services) or by the
name they are given (``api_key = "…"``) when the value is random enough to be real.

Shared by NB501 (:mod:`nb2pipe.lint.rules.hard_coded_secret`), the parameters it keeps out of
a parameters cell, and the runs, which never log a value that looks like a secret.
"""

import math
import re
from functools import lru_cache

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
