"""The sync-rule tree admins write: Salesforce field conditions joined by all/any."""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

Op = Literal[
    "equals",
    "not_equals",
    "contains",
    "does_not_contain",
    "starts_with",
    "greater_than",
    "less_than",
    "greater_or_equal",
    "less_or_equal",
    "in",
    "not_in",
    "is_empty",
    "is_not_empty",
]
LIST_OPS = frozenset({"in", "not_in"})
UNARY_OPS = frozenset({"is_empty", "is_not_empty"})


class Condition(BaseModel):
    """One comparison of a Salesforce field with a value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(min_length=1)
    op: Op
    value: Any = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> Condition:
        if self.op in UNARY_OPS:
            if self.value is not None:
                raise ValueError(f"'{self.op}' takes no value")
        elif self.op in LIST_OPS:
            if not isinstance(self.value, list) or not self.value:
                raise ValueError(f"'{self.op}' takes a non-empty list of values")
            if any(isinstance(v, list | dict) for v in self.value):
                raise ValueError(f"'{self.op}' takes a list of plain values")
        elif self.value is None or isinstance(self.value, list | dict):
            raise ValueError(f"'{self.op}' takes one value")
        return self


class Group(BaseModel):
    """`all` (AND) or `any` (OR) of conditions and nested groups; never both or none."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    all_: list[Node] | None = Field(None, alias="all")
    any_: list[Node] | None = Field(None, alias="any")

    @model_validator(mode="after")
    def _exactly_one(self) -> Group:
        if (self.all_ is None) == (self.any_ is None):
            raise ValueError("a rule group has exactly one of 'all' or 'any'")
        if not (self.all_ or self.any_):
            raise ValueError("a rule group needs at least one condition")
        return self

    @property
    def combinator(self) -> Literal["all", "any"]:
        return "all" if self.all_ is not None else "any"

    @property
    def children(self) -> list[Node]:
        return list(self.all_ if self.all_ is not None else self.any_ or [])

    def fields(self) -> set[str]:
        """Every Salesforce field the tree reads."""
        out: set[str] = set()
        for child in self.children:
            out |= child.fields() if isinstance(child, Group) else {child.field}
        return out


Node = Union[Condition, Group]  # noqa: UP007 - pydantic needs the runtime Union here
Group.model_rebuild()
