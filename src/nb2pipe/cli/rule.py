"""``nb2pipe rule``: a rule's documentation, or the list of rules."""

from __future__ import annotations

from nb2pipe.cli.console import EXIT_OK, UsageError


def add_parser(commands) -> None:
    rule = commands.add_parser("rule", help="explain a rule",
                               description="Print a rule's documentation.")
    rule.add_argument("code", nargs="?", help="a rule code or name, e.g. NB105")
    rule.add_argument("--all", action="store_true", help="list every rule")


def run(args) -> int:
    from nb2pipe.lint.registry import RULES, SelectionError, rule_for

    if args.all or not args.code:
        width = max(len(r.name) for r in RULES.values())
        for code, rule in sorted(RULES.items()):
            fix = "fix" if rule.fix_safety else "   "
            print(f"{code}  {rule.name:<{width}}  {fix}  {rule.summary()}")
        return EXIT_OK
    try:
        rule = rule_for(args.code)
    except SelectionError as error:
        raise UsageError(str(error)) from None
    print(rule.markdown(), end="")
    return EXIT_OK
