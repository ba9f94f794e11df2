import os

from nb2pipe.lint.folder import FolderContext
from nb2pipe.lint.rule import Invalid, Rule

#: Files (or folders) whose presence means something runs the project automatically.
CI_FILES = (".gitlab-ci.yml", ".travis.yml", "azure-pipelines.yml", "Jenkinsfile",
            "bitbucket-pipelines.yml", ".circleci/config.yml", ".drone.yml",
            ".woodpecker.yml", ".woodpecker", "cloudbuild.yaml", "cloudbuild.yml", ".buildkite",
            ".pre-commit-config.yaml", "appveyor.yml", ".ci")


class NoCi(Rule):
    """No CI configuration runs anything for this project.

    ## What it does
    Runs when `nb2pipe check` is given a folder that holds notebooks. Flags it when the project
    (the repository, or the folder outside one) has no continuous-integration configuration:
    no GitHub Actions workflow (`.github/workflows/*.yml`), `.gitlab-ci.yml`, Jenkins, Azure,
    CircleCI, Bitbucket, Travis, Buildkite or Cloud Build file, and no pre-commit configuration.

    ## Why is this bad?
    Without CI nothing checks a change before it lands: a notebook that no longer runs top to
    bottom, a secret in an output, a broken pipeline are found by the next person to open it.
    Level 1 automates the pipeline; CI is where that automation starts.

    ## Example
    ```text
    project/
        train.ipynb
        requirements.txt
    ```

    ## Use instead
    ```text
    project/
        train.ipynb
        requirements.txt
        .pre-commit-config.yaml      # runs nb2pipe check on every commit
        .github/workflows/ci.yml     # nb2pipe check --output-format github; nb2pipe run
    ```

    ## Fix safety
    No automatic fix. docs/cli.md shows the pre-commit hook and a GitHub Actions job.
    """

    code = "NB703"
    name = "no-ci"
    severity = "info"
    category = "pipeline-ready"
    scope = "folder"
    VALID = (
        "# file: train.ipynb\n# %%\nx = 1\n# file: .github/workflows/ci.yml\non: push\n",
        "# file: train.ipynb\n# %%\nx = 1\n# file: .pre-commit-config.yaml\nrepos: []\n",
    )
    INVALID = (Invalid("# file: train.ipynb\n# %%\nx = 1\n# file: requirements.txt\nnumpy\n"
                       "# git\n", count=1),)

    def check(self, ctx: FolderContext):
        if not ctx.notebooks:
            return
        root = ctx.root
        if any(os.path.exists(os.path.join(root, name)) for name in CI_FILES):
            return
        workflows = os.path.join(root, ".github", "workflows")
        if os.path.isdir(workflows) and any(name.endswith((".yml", ".yaml"))
                                            for name in os.listdir(workflows)):
            return
        yield self.report(
            ctx, None, "no CI configuration runs anything for this project (GitHub Actions, "
                       "GitLab CI, pre-commit…)",
            help="add a pre-commit hook or a CI job that runs `nb2pipe check` and the pipeline "
                 "(docs/cli.md has both)")
