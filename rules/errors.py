"""Errors raised by the rules package.

```
ValueError
├── RulesFileError      the rules file is unreadable or invalid (file, line, column, problem)
├── CsvInputError       an input CSV is unreadable or has a bad row (file, line, problem)
└── TextFileError       a text file cannot be read as written (file, line or 0, problem)
    └── NotANumber      a value where a number is expected is none
```
"""

from __future__ import annotations


class RulesFileError(ValueError):
    """A problem in a rules file, located to the line and column (1-based).

    Attributes:
        path: The file (or source label) that was read.
        line: 1-based line of the offending node.
        column: 1-based column of the offending node.
        problem: What is wrong and what to do about it.
    """

    def __init__(self, path: str, line: int, column: int, problem: str) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.problem = problem
        super().__init__(f"{path}:{line}:{column}: {problem}")


class CsvInputError(ValueError):
    """A problem in an input CSV file, located to the line (1-based, header = line 1).

    Attributes:
        path: The file.
        line: Line of the offending row (1 = header).
        problem: What is wrong and what to do about it.
    """

    def __init__(self, path: str, line: int, problem: str) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        super().__init__(f"{path}: row {line}: {problem}")


class TextFileError(ValueError):
    """A file that cannot be read as written. Attributes: ``path``, ``line`` (1-based; 0 when
    the whole file is meant) and ``problem`` (what is wrong and what to do)."""

    def __init__(self, path: str, line: int, problem: str) -> None:
        self.path, self.line, self.problem = path, line, problem
        super().__init__(f"{path}, line {line}: {problem}" if line else f"{path}: {problem}")


class NotANumber(TextFileError):
    """A value where a number is expected that is none (in the given ``decimal`` style)."""
