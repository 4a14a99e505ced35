"""``getResolvedOptions``: a job's arguments by name, as AWS Glue hands them to scripts."""

from __future__ import annotations

from collections.abc import Sequence


class GlueArgumentError(ValueError):
    """A required job argument is missing or has no value."""


def _arguments(argv: Sequence[str]) -> dict[str, str]:
    """``--key value`` and ``--key=value`` pairs of ``argv`` (the last occurrence wins)."""
    found: dict[str, str] = {}
    index = 0
    while index < len(argv):
        item = argv[index]
        if item.startswith("--") and len(item) > 2:
            name, equals, value = item[2:].partition("=")
            if equals:
                found[name] = value
            elif index + 1 < len(argv) and not argv[index + 1].startswith("--"):
                found[name] = argv[index + 1]
                index += 1
            else:
                found[name] = ""
        index += 1
    return found


def getResolvedOptions(args: Sequence[str], options: Sequence[str]) -> dict[str, str]:  # noqa: N802 (AWS's name)
    """The values of the job arguments named in ``options``.

    Args:
        args: the script's ``sys.argv`` (its first item, the script, is skipped).
        options: argument names without the leading ``--`` (for example ``["JOB_NAME", "input"]``).

    Returns:
        name -> value for every name in ``options``.

    Raises:
        GlueArgumentError: a named argument is not among ``args``.
    """
    given = _arguments(list(args)[1:])
    missing = [name for name in options if name not in given]
    if missing:
        raise GlueArgumentError("the following arguments are required: " + ", ".join(f"--{m}" for m in missing))
    return {name: given[name] for name in options}
