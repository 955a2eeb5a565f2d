"""Kubernetes resource quantities (``100m``, ``64Mi``, ``1e3``), read as the API server reads them.

Shared by the container-resources fixer, which writes them, and the workload guard, which compares
requests with limits.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal
from typing import Any, NamedTuple

from remediate.yaml.document import Node, Scalar

_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_QUANTITY = re.compile(rf"({_NUMBER})([KMGTPE]i|[eE][+-]?[0-9]{{1,3}}|[numkMGTPE]?)")
"""Kubernetes' quantity syntax (apimachinery's ``resource.ParseQuantity``): a decimal number and a
binary suffix (``Ki``..``Ei``), a decimal exponent (``e3``, ``E-2``) or a decimal SI suffix
(``n``, ``u``, ``m``, none, ``k``, ``M``..``E``). ``1E`` is an exabyte, ``1E3`` a thousand.
Exponents longer than three digits are refused: no resource is that large or that small."""

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


class Quantity(NamedTuple):
    """A Kubernetes quantity as written: ``number`` in the unit ``suffix`` (``64Mi`` is 64, "Mi").

    ``numeric`` is true when YAML reads the value as a number (``cpu: 1``) rather than a string.
    """

    number: Decimal
    suffix: str
    numeric: bool = False

    @classmethod
    def parse(cls, value: Any, *, numeric: bool = False) -> Quantity | None:
        """The quantity ``value`` (a YAML string or number; with ``numeric``, the text of a number)
        stands for, or None if it is none."""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            return None
        match = _QUANTITY.fullmatch(str(value))
        if match is None:
            return None
        return cls(Decimal(match.group(1)), match.group(2), numeric=numeric or not isinstance(value, str))

    @property
    def unit(self) -> Decimal:
        """What the suffix multiplies the number by: 1048576 for ``Mi``, 0.001 for ``m``."""
        if self.suffix in _BINARY:
            return Decimal(1024 ** _BINARY[self.suffix])
        exponent = _DECIMAL.get(self.suffix)
        if exponent is None:  # a decimal exponent: "e3", "E-2" (a lone "E" is exa, in _DECIMAL)
            exponent = int(self.suffix[1:])
        return Decimal(1).scaleb(exponent)

    @property
    def amount(self) -> Decimal:
        """The value in base units (cores, bytes): ``64Mi`` is 67108864, ``100m`` is 0.1."""
        return self.number * self.unit

    def times(self, ratio: Decimal, finest: Decimal | None = None) -> Quantity:
        """``ratio`` times this quantity, in the same unit (``64Mi`` times 2 is ``128Mi``).

        ``finest`` is the smallest amount Kubernetes counts, in base units (0.001 for CPU): the
        result is rounded up to a whole number of it (``33m`` times 1.5 is ``50m``).
        """
        number = self.number * ratio
        if finest is not None and self.suffix not in _BINARY:
            step = finest / self.unit  # exact: both are powers of ten
            number = (number / step).to_integral_value(rounding=ROUND_CEILING) * step
        return Quantity(number, self.suffix, self.numeric)

    def value(self) -> str | int | float:
        """What to write in YAML: the text (``128Mi``), or a number where the original was one."""
        number = self.number.normalize()
        if number == number.to_integral_value():
            number = number.quantize(Decimal(1))
        if self.numeric and not self.suffix:
            return int(number) if number == number.to_integral_value() else float(number)
        return f"{number:f}{self.suffix}"


def amount_of(text: str) -> Decimal:
    """The amount of a quantity known to be valid (an option's)."""
    quantity = Quantity.parse(text)
    assert quantity is not None
    return quantity.amount


def quantity_of(node: Node | None) -> Quantity | None:
    """The resource quantity a YAML value holds (numbers too: ``cpu: 1``), or None for anything else.

    Negative quantities are None too: Kubernetes refuses them for resources.
    """
    if not isinstance(node, Scalar) or node.is_null:
        return None
    quantity = Quantity.parse(node.data)
    if quantity is not None and quantity.numeric and not node.style:  # a number, as written: 1e9
        quantity = Quantity.parse(node.value, numeric=True) or quantity
    return quantity if quantity is not None and quantity.amount >= 0 else None
