"""NB501 on saved outputs: long HTML full of base64 (where the markers of secrets occur by
chance, glued inside words) hides nothing and invents nothing."""

import random
import string

from nb2pipe.lint.runner import lint_notebook
from nb2pipe.notebook import notebook_from_percent
from nb2pipe.notebook.reader import notebook_from_dict


def _with_html_output(html: str):
    output = {"output_type": "display_data", "metadata": {},
              "data": {"text/html": html, "text/plain": "<Figure>"}}
    raw = notebook_from_percent("# %%\nshow()\n").raw
    raw["cells"][0]["outputs"] = [output]
    return notebook_from_dict(raw)


def _base64_blob(size: int) -> str:
    rng = random.Random(5)
    alphabet = string.ascii_letters + string.digits + "+/"
    # the markers of several secrets, glued inside the blob as they are in real images
    decoys = ["eyJ", "xoxb", "AKIA", "sk-", "hf_", "AIza", "ghp_"]
    parts = []
    while sum(map(len, parts)) < size:
        parts.append("".join(rng.choice(alphabet) for _ in range(200)))
        parts.append("Q" + rng.choice(decoys))
    return "".join(parts)


def test_markers_inside_an_image_are_not_secrets():
    html = f'<img src="data:image/png;base64,{_base64_blob(300_000)}"/>'
    assert lint_notebook(_with_html_output(html), {"NB501"}, with_project=False) == []


def test_a_key_after_a_long_image_is_found():
    html = (f'<img src="data:image/png;base64,{_base64_blob(300_000)}"/>'
            "<pre>aws_access_key_id = AKIAIOSFODNN7EXAMPL3</pre>")
    found = lint_notebook(_with_html_output(html), {"NB501"}, with_project=False)
    assert [d.code for d in found] == ["NB501"]
    assert "an AWS access key" in found[0].message and "AKIAIOSFODNN7EXAMPL3" not in \
        found[0].message  # masked
