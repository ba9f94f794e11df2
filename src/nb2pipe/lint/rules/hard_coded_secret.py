from nb2pipe.analysis.secrets import by_name, by_shape, env_name, mask_secret
from nb2pipe.lint.rule import Context, Invalid, Rule


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
