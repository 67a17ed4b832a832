"""A realistic typed Python project and 8 candidate versions of one of its modules, for bench/speed.py.

`generate(dest)` writes the package `inventory/` (models, utils, parsing, pricing, stock, reports),
a `tests/` folder of about 40 pytest tests (test_pricing.py and test_reports.py import the target
module, the others do not) and a pyproject.toml that configures ruff (E,F,B,I), mypy (strict) and
pytest. Everything is fixed text: the same files every time.

The candidates rewrite `bulk_discount` in `inventory/pricing.py`: three correct refactors written
differently, and one each with a new type error, a new lint error, a broken test, a syntax error and
a new bandit issue. `EXPECTED_FAILS` names the tools each one should fail.

Run `python bench/project_gen.py DIR` to write the project, with `--check` to verify with the venv's
tools that the project is clean and that every candidate fails exactly the tools it should.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import speedlib

TARGET = "inventory/pricing.py"
PACKAGE = "inventory"

PYPROJECT = r"""[project]
name = "inventory"
version = "1.4.2"
requires-python = ">=3.11"

[tool.ruff]
line-length = 100
target-version = "py311"

[tool.ruff.lint]
select = ["E", "F", "B", "I"]

[tool.ruff.lint.isort]
known-first-party = ["inventory"]

[tool.mypy]
python_version = "3.11"
strict = true
files = ["inventory", "tests"]

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["."]
"""

INIT = r'''"""A small inventory and order-pricing library."""

from inventory.models import (
    Category,
    Customer,
    Order,
    OrderLine,
    Product,
    StockItem,
    Tier,
    Warehouse,
)

__all__ = [
    "Category",
    "Customer",
    "Order",
    "OrderLine",
    "Product",
    "StockItem",
    "Tier",
    "Warehouse",
]
__version__ = "1.4.2"
'''

MODELS = r'''"""Records for products, stock, customers and orders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum


class Category(Enum):
    HARDWARE = "hardware"
    GARDEN = "garden"
    KITCHEN = "kitchen"
    OFFICE = "office"
    TOYS = "toys"

    @classmethod
    def from_label(cls, label: str) -> Category:
        key = label.strip().lower()
        for member in cls:
            if member.value == key:
                return member
        raise ValueError(f"unknown category: {label!r}")


class Tier(Enum):
    STANDARD = "standard"
    SILVER = "silver"
    GOLD = "gold"

    @property
    def rank(self) -> int:
        return [Tier.STANDARD, Tier.SILVER, Tier.GOLD].index(self)


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    category: Category
    price: Decimal
    weight_kg: Decimal = Decimal("0")
    taxable: bool = True

    def __post_init__(self) -> None:
        if not self.sku:
            raise ValueError("a product needs a SKU")
        if self.price < 0:
            raise ValueError(f"{self.sku}: price must not be negative")
        if self.weight_kg < 0:
            raise ValueError(f"{self.sku}: weight must not be negative")

    @property
    def label(self) -> str:
        return f"{self.sku} {self.name}"


@dataclass
class StockItem:
    product: Product
    on_hand: int = 0
    reserved: int = 0
    reorder_level: int = 5

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def needs_reorder(self) -> bool:
        return self.available <= self.reorder_level


@dataclass
class Warehouse:
    code: str
    name: str
    items: dict[str, StockItem] = field(default_factory=dict)

    def add(self, item: StockItem) -> None:
        if item.product.sku in self.items:
            raise ValueError(f"{self.code}: duplicate SKU {item.product.sku}")
        self.items[item.product.sku] = item

    def get(self, sku: str) -> StockItem:
        try:
            return self.items[sku]
        except KeyError:
            raise KeyError(f"{self.code}: no SKU {sku}") from None

    def __contains__(self, sku: object) -> bool:
        return sku in self.items

    def total_units(self) -> int:
        return sum(item.on_hand for item in self.items.values())

    def by_category(self, category: Category) -> list[StockItem]:
        return [i for i in self.items.values() if i.product.category is category]


@dataclass(frozen=True)
class Customer:
    ident: str
    name: str
    tier: Tier = Tier.STANDARD
    region: str = "EU"
    tax_exempt: bool = False


@dataclass(frozen=True)
class OrderLine:
    sku: str
    quantity: int
    unit_price: Decimal

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"{self.sku}: quantity must be positive")
        if self.unit_price < 0:
            raise ValueError(f"{self.sku}: unit price must not be negative")


@dataclass
class Order:
    number: str
    customer: Customer
    placed: date
    lines: list[OrderLine] = field(default_factory=list)
    coupon: str | None = None

    def add_line(self, line: OrderLine) -> None:
        self.lines.append(line)

    @property
    def units(self) -> int:
        return sum(line.quantity for line in self.lines)

    def skus(self) -> list[str]:
        return sorted({line.sku for line in self.lines})

    def quantity_of(self, sku: str) -> int:
        return sum(line.quantity for line in self.lines if line.sku == sku)
'''

UTILS = r'''"""Small helpers: money rounding and formatting, text and sequence utilities."""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Iterator, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TypeVar

T = TypeVar("T")
H = TypeVar("H", bound=Hashable)

CENT = Decimal("0.01")
_SLUG_STRIP = re.compile(r"[^a-z0-9]+")
_CURRENCIES = ("EUR", "USD", "GBP", "CHF")


def round_money(amount: Decimal) -> Decimal:
    """Round to whole cents, halves away from zero, as invoices do."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(amount: Decimal, currency: str = "EUR") -> str:
    """`1234.5` as `1,234.50 EUR`."""
    value = round_money(amount)
    sign = "-" if value < 0 else ""
    whole, _, cents = f"{abs(value):.2f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return f"{sign}{','.join(groups)}.{cents} {currency}"


def parse_money(text: str) -> Decimal:
    """Read an amount written by `format_money` or as a plain number."""
    cleaned = text.strip().replace(",", "")
    for currency in _CURRENCIES:
        if cleaned.endswith(" " + currency):
            cleaned = cleaned[: -len(currency) - 1]
    try:
        return round_money(Decimal(cleaned))
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None


def slugify(text: str) -> str:
    return _SLUG_STRIP.sub("-", text.lower()).strip("-")


def clamp(value: int, low: int, high: int) -> int:
    if low > high:
        raise ValueError("low must not exceed high")
    return max(low, min(high, value))


def chunked(items: Sequence[T], size: int) -> Iterator[list[T]]:
    if size < 1:
        raise ValueError("size must be at least 1")
    for start in range(0, len(items), size):
        end = start + size
        yield list(items[start:end])


def unique(items: Iterable[H]) -> list[H]:
    """The items in first-seen order, without repeats."""
    seen: set[H] = set()
    out: list[H] = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def percent(part: Decimal, whole: Decimal) -> Decimal:
    """`part` as a percentage of `whole`, to one decimal; 0 when `whole` is 0."""
    if whole == 0:
        return Decimal("0.0")
    return (part * 100 / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def pad_table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns two spaces apart."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
'''

PARSING = r'''"""Read products, stock levels, customers and orders from CSV text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation

from inventory.models import (
    Category,
    Customer,
    Order,
    OrderLine,
    Product,
    StockItem,
    Tier,
    Warehouse,
)
from inventory.utils import parse_money

PRODUCT_FIELDS = ("sku", "name", "category", "price", "weight_kg", "taxable")
STOCK_FIELDS = ("sku", "on_hand", "reorder_level")
ORDER_FIELDS = ("number", "date", "sku", "quantity")


class ParseError(ValueError):
    """Input that cannot be read, with the line it is on."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def _rows(text: str, fields: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text.strip()))
    if reader.fieldnames is None:
        return
    missing = [f for f in fields if f not in reader.fieldnames]
    if missing:
        raise ParseError(1, f"missing columns: {', '.join(missing)}")
    for row in reader:
        cells: dict[str, str] = {}
        for key, value in row.items():
            if isinstance(key, str):
                cells[key] = value.strip() if isinstance(value, str) else ""
        yield reader.line_num, cells


def _bool(value: str, line: int) -> bool:
    lowered = value.lower()
    if lowered in ("1", "yes", "true", "y"):
        return True
    if lowered in ("0", "no", "false", "n", ""):
        return False
    raise ParseError(line, f"not a yes/no value: {value!r}")


def _int(value: str, line: int, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ParseError(line, f"{name} is not a whole number: {value!r}") from None


def _date(value: str, line: int) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ParseError(line, f"not an ISO date: {value!r}") from None


def parse_products(text: str) -> list[Product]:
    products: list[Product] = []
    seen: set[str] = set()
    for line, row in _rows(text, PRODUCT_FIELDS):
        sku = row["sku"].upper()
        if sku in seen:
            raise ParseError(line, f"duplicate SKU {sku}")
        seen.add(sku)
        try:
            product = Product(
                sku=sku,
                name=row["name"],
                category=Category.from_label(row["category"]),
                price=parse_money(row["price"]),
                weight_kg=Decimal(row["weight_kg"] or "0"),
                taxable=_bool(row["taxable"], line),
            )
        except ParseError:
            raise
        except (ValueError, InvalidOperation) as exc:
            raise ParseError(line, str(exc)) from exc
        products.append(product)
    return products


def parse_stock(text: str, products: list[Product], code: str = "MAIN") -> Warehouse:
    by_sku = {p.sku: p for p in products}
    warehouse = Warehouse(code=code, name=f"Warehouse {code}")
    for line, row in _rows(text, STOCK_FIELDS):
        sku = row["sku"].upper()
        if sku not in by_sku:
            raise ParseError(line, f"unknown SKU {sku}")
        on_hand = _int(row["on_hand"], line, "on_hand")
        if on_hand < 0:
            raise ParseError(line, "on_hand must not be negative")
        level = _int(row["reorder_level"], line, "reorder_level")
        try:
            warehouse.add(StockItem(by_sku[sku], on_hand=on_hand, reorder_level=level))
        except ValueError as exc:
            raise ParseError(line, str(exc)) from exc
    return warehouse


def parse_customer(text: str) -> Customer:
    """One line `ident;name;tier;region;tax_exempt`."""
    parts = [part.strip() for part in text.split(";")]
    if len(parts) != 5:
        raise ParseError(1, f"expected 5 fields, got {len(parts)}")
    ident, name, tier, region, exempt = parts
    try:
        tier_value = Tier(tier.lower())
    except ValueError:
        raise ParseError(1, f"unknown tier {tier!r}") from None
    return Customer(
        ident=ident,
        name=name,
        tier=tier_value,
        region=region.upper(),
        tax_exempt=_bool(exempt, 1),
    )


def parse_order(text: str, customer: Customer, catalogue: Mapping[str, Product]) -> Order:
    """Rows `number,date,sku,quantity[,coupon]`; every row belongs to the same order."""
    order: Order | None = None
    for line, row in _rows(text, ORDER_FIELDS):
        placed = _date(row["date"], line)
        if order is None:
            order = Order(
                number=row["number"],
                customer=customer,
                placed=placed,
                coupon=row.get("coupon") or None,
            )
        elif row["number"] != order.number:
            raise ParseError(line, f"mixed order numbers {order.number} and {row['number']}")
        sku = row["sku"].upper()
        product = catalogue.get(sku)
        if product is None:
            raise ParseError(line, f"unknown SKU {sku}")
        quantity = _int(row["quantity"], line, "quantity")
        if quantity <= 0:
            raise ParseError(line, "quantity must be positive")
        order.add_line(OrderLine(sku=sku, quantity=quantity, unit_price=product.price))
    if order is None:
        raise ParseError(1, "the order has no lines")
    return order
'''

BULK_ORIGINAL = r'''def bulk_discount(quantity: int, unit_price: Decimal) -> Decimal:
    """The discount per unit for buying `quantity` units at once."""
    if quantity < 0:
        raise PricingError(f"quantity must not be negative: {quantity}")
    rate = Decimal("0")
    for threshold, tier_rate in BULK_TIERS:
        if quantity >= threshold:
            rate = tier_rate
    return round_money(unit_price * rate)
'''

PRICING = r'''"""Prices for order lines and orders: bulk and tier discounts, coupons, shipping and tax."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from inventory.models import Customer, Order, OrderLine, Product, Tier
from inventory.utils import round_money

# (minimum quantity, discount rate), ascending.
BULK_TIERS: tuple[tuple[int, Decimal], ...] = (
    (10, Decimal("0.05")),
    (50, Decimal("0.10")),
    (100, Decimal("0.15")),
)
TIER_RATES: Mapping[Tier, Decimal] = {
    Tier.STANDARD: Decimal("0"),
    Tier.SILVER: Decimal("0.03"),
    Tier.GOLD: Decimal("0.06"),
}
TAX_RATES: Mapping[str, Decimal] = {
    "EU": Decimal("0.20"),
    "UK": Decimal("0.20"),
    "US": Decimal("0.07"),
    "CH": Decimal("0.081"),
}
COUPONS: Mapping[str, Decimal] = {"WELCOME10": Decimal("0.10"), "SPRING5": Decimal("0.05")}
FREE_SHIPPING_OVER = Decimal("150.00")
SHIPPING_PER_KG = Decimal("1.20")
SHIPPING_MINIMUM = Decimal("4.90")


class PricingError(ValueError):
    """An order that cannot be priced."""


@dataclass(frozen=True)
class Quote:
    subtotal: Decimal
    discount: Decimal
    shipping: Decimal
    tax: Decimal

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount + self.shipping + self.tax


@@BULK@@


def line_total(line: OrderLine) -> Decimal:
    per_unit = line.unit_price - bulk_discount(line.quantity, line.unit_price)
    return round_money(per_unit * line.quantity)


def subtotal(order: Order) -> Decimal:
    return round_money(sum((line_total(line) for line in order.lines), Decimal("0")))


def tier_discount(customer: Customer, amount: Decimal) -> Decimal:
    return round_money(amount * TIER_RATES.get(customer.tier, Decimal("0")))


def coupon_discount(code: str | None, amount: Decimal) -> Decimal:
    if code is None:
        return Decimal("0.00")
    rate = COUPONS.get(code.strip().upper())
    if rate is None:
        raise PricingError(f"unknown coupon {code!r}")
    return round_money(amount * rate)


def order_weight(order: Order, catalogue: Mapping[str, Product]) -> Decimal:
    weight = Decimal("0")
    for line in order.lines:
        product = catalogue.get(line.sku)
        if product is None:
            raise PricingError(f"unknown SKU {line.sku}")
        weight += product.weight_kg * line.quantity
    return weight


def shipping_cost(
    order: Order, catalogue: Mapping[str, Product], after_discount: Decimal
) -> Decimal:
    if after_discount >= FREE_SHIPPING_OVER:
        return Decimal("0.00")
    return max(SHIPPING_MINIMUM, round_money(order_weight(order, catalogue) * SHIPPING_PER_KG))


def tax_rate(customer: Customer) -> Decimal:
    if customer.tax_exempt:
        return Decimal("0")
    try:
        return TAX_RATES[customer.region]
    except KeyError:
        raise PricingError(f"no tax rate for region {customer.region}") from None


def taxable_share(order: Order, catalogue: Mapping[str, Product]) -> Decimal:
    """The fraction of the subtotal that is taxable."""
    total = subtotal(order)
    if total == 0:
        return Decimal("0")
    taxable = sum(
        (line_total(line) for line in order.lines if catalogue[line.sku].taxable),
        Decimal("0"),
    )
    return taxable / total


def quote(order: Order, catalogue: Mapping[str, Product]) -> Quote:
    if not order.lines:
        raise PricingError(f"order {order.number} has no lines")
    sub = subtotal(order)
    discount = tier_discount(order.customer, sub)
    discount += coupon_discount(order.coupon, sub - discount)
    after = sub - discount
    shipping = shipping_cost(order, catalogue, after)
    base = after * taxable_share(order, catalogue) + shipping
    tax = round_money(base * tax_rate(order.customer))
    return Quote(subtotal=sub, discount=discount, shipping=shipping, tax=tax)


def price_table(product: Product, quantities: Sequence[int]) -> list[tuple[int, Decimal]]:
    """What `quantity` units of `product` cost, for each quantity."""
    rows: list[tuple[int, Decimal]] = []
    for quantity in quantities:
        per_unit = product.price - bulk_discount(quantity, product.price)
        rows.append((quantity, round_money(per_unit * quantity)))
    return rows


def affordable_quantity(unit_price: Decimal, budget: Decimal) -> int:
    """The most units `budget` buys, bulk discounts included."""
    if unit_price <= 0:
        raise PricingError("unit price must be positive")
    quantity = int(budget // unit_price)
    while True:
        per_unit = unit_price - bulk_discount(quantity + 1, unit_price)
        if per_unit * (quantity + 1) > budget:
            return quantity
        quantity += 1
'''

STOCK = r'''"""Stock movements: reserving stock for orders, shipping, restocking and transfers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from inventory.models import Order, StockItem, Warehouse
from inventory.utils import clamp

MovementKind = Literal["reserve", "release", "ship", "restock", "transfer-out", "transfer-in"]
_ON_HAND_SIGN: dict[str, int] = {"ship": -1, "restock": 1, "transfer-out": -1, "transfer-in": 1}


class StockError(RuntimeError):
    """A movement that the stock levels do not allow."""


@dataclass(frozen=True)
class Movement:
    sku: str
    quantity: int
    kind: MovementKind
    day: date
    reference: str = ""


@dataclass
class Ledger:
    movements: list[Movement] = field(default_factory=list)

    def record(
        self, sku: str, quantity: int, kind: MovementKind, day: date, reference: str = ""
    ) -> Movement:
        movement = Movement(sku, quantity, kind, day, reference)
        self.movements.append(movement)
        return movement

    def for_sku(self, sku: str) -> list[Movement]:
        return [m for m in self.movements if m.sku == sku]

    def net_change(self, sku: str) -> int:
        """Units added to (positive) or taken from (negative) the on-hand stock of `sku`."""
        return sum(_ON_HAND_SIGN.get(m.kind, 0) * m.quantity for m in self.for_sku(sku))


def reserve(warehouse: Warehouse, order: Order, ledger: Ledger) -> None:
    """Reserve every line of `order`, or nothing when any line is short."""
    needed = {sku: order.quantity_of(sku) for sku in order.skus()}
    short = [sku for sku, qty in needed.items() if warehouse.get(sku).available < qty]
    if short:
        raise StockError(f"order {order.number}: not enough stock of {', '.join(short)}")
    for sku, qty in needed.items():
        warehouse.get(sku).reserved += qty
        ledger.record(sku, qty, "reserve", order.placed, order.number)


def release(warehouse: Warehouse, order: Order, ledger: Ledger) -> None:
    for sku in order.skus():
        item = warehouse.get(sku)
        qty = min(item.reserved, order.quantity_of(sku))
        item.reserved -= qty
        ledger.record(sku, qty, "release", order.placed, order.number)


def ship(warehouse: Warehouse, order: Order, ledger: Ledger, day: date) -> None:
    for sku in order.skus():
        item = warehouse.get(sku)
        if item.reserved < order.quantity_of(sku):
            raise StockError(f"{sku}: {order.quantity_of(sku)} to ship, {item.reserved} reserved")
    for sku in order.skus():
        item = warehouse.get(sku)
        qty = order.quantity_of(sku)
        item.reserved -= qty
        item.on_hand -= qty
        ledger.record(sku, qty, "ship", day, order.number)


def restock(warehouse: Warehouse, sku: str, quantity: int, ledger: Ledger, day: date) -> int:
    if quantity <= 0:
        raise StockError(f"{sku}: restock quantity must be positive")
    item = warehouse.get(sku)
    item.on_hand += quantity
    ledger.record(sku, quantity, "restock", day)
    return item.on_hand


def transfer(
    source: Warehouse, target: Warehouse, sku: str, quantity: int, ledger: Ledger, day: date
) -> None:
    if quantity <= 0:
        raise StockError(f"{sku}: transfer quantity must be positive")
    if source.code == target.code:
        raise StockError("source and target are the same warehouse")
    item = source.get(sku)
    if item.available < quantity:
        raise StockError(f"{sku}: {quantity} to transfer, {item.available} available")
    if sku not in target:
        target.add(StockItem(item.product, reorder_level=item.reorder_level))
    item.on_hand -= quantity
    target.get(sku).on_hand += quantity
    ledger.record(sku, quantity, "transfer-out", day, target.code)
    ledger.record(sku, quantity, "transfer-in", day, source.code)


def reorder_suggestions(warehouse: Warehouse, cover: int = 2) -> list[tuple[str, int]]:
    """SKUs at or below their reorder level, with how many to order to reach `cover` levels."""
    out: list[tuple[str, int]] = []
    for sku in sorted(warehouse.items):
        item = warehouse.items[sku]
        if item.needs_reorder:
            wanted = max(item.reorder_level * cover, 1)
            out.append((sku, clamp(wanted - item.available, 1, 10_000)))
    return out
'''

REPORTS = r'''"""Plain-text reports on stock and orders."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from decimal import Decimal

from inventory.models import Category, Order, Product, StockItem, Warehouse
from inventory.pricing import line_total, quote
from inventory.utils import format_money, pad_table, percent, round_money


def stock_value(warehouse: Warehouse) -> Decimal:
    values = (item.product.price * item.on_hand for item in warehouse.items.values())
    return round_money(sum(values, Decimal("0")))


def value_by_category(warehouse: Warehouse) -> dict[Category, Decimal]:
    totals: dict[Category, Decimal] = {}
    for item in warehouse.items.values():
        category = item.product.category
        totals[category] = totals.get(category, Decimal("0")) + item.product.price * item.on_hand
    return {c: round_money(v) for c, v in sorted(totals.items(), key=lambda kv: kv[0].value)}


def low_stock(warehouse: Warehouse) -> list[StockItem]:
    items = [i for i in warehouse.items.values() if i.needs_reorder]
    return sorted(items, key=lambda i: (i.available, i.product.sku))


def stock_report(warehouse: Warehouse) -> str:
    total = stock_value(warehouse)
    rows = [["SKU", "Name", "On hand", "Value", "Share"]]
    for sku in sorted(warehouse.items):
        item = warehouse.items[sku]
        value = round_money(item.product.price * item.on_hand)
        share = f"{percent(value, total)}%"
        rows.append([sku, item.product.name, str(item.on_hand), format_money(value), share])
    lines = pad_table(rows)
    lines.append(f"Total: {format_money(total)}")
    return "\n".join(lines)


def invoice(order: Order, catalogue: Mapping[str, Product]) -> str:
    q = quote(order, catalogue)
    rows = [["SKU", "Qty", "Unit", "Line"]]
    for line in order.lines:
        unit = format_money(line.unit_price)
        rows.append([line.sku, str(line.quantity), unit, format_money(line_total(line))])
    placed = order.placed.isoformat()
    out = [f"Invoice {order.number} for {order.customer.name} ({placed})", *pad_table(rows)]
    out.append(f"Subtotal {format_money(q.subtotal)}")
    if q.discount:
        out.append(f"Discount -{format_money(q.discount)}")
    out.append(f"Shipping {format_money(q.shipping)}")
    out.append(f"Tax {format_money(q.tax)}")
    out.append(f"Total {format_money(q.total)}")
    return "\n".join(out)


def top_products(orders: Iterable[Order], n: int = 3) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    for order in orders:
        for line in order.lines:
            counts[line.sku] += line.quantity
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def revenue_by_month(
    orders: Iterable[Order], catalogue: Mapping[str, Product]
) -> dict[str, Decimal]:
    """Order totals (after discounts, before tax and shipping) per `YYYY-MM`."""
    months: dict[str, Decimal] = {}
    for order in orders:
        q = quote(order, catalogue)
        key = f"{order.placed.year:04d}-{order.placed.month:02d}"
        months[key] = months.get(key, Decimal("0")) + q.subtotal - q.discount
    return dict(sorted(months.items()))
'''

CONFTEST = r'''from datetime import date
from decimal import Decimal

import pytest

from inventory.models import Customer, Order, OrderLine, Product, Tier, Warehouse
from inventory.parsing import parse_products, parse_stock

PRODUCTS_CSV = """sku,name,category,price,weight_kg,taxable
HAM-01,Claw hammer,hardware,19.90,0.8,yes
SCR-10,Screws (100),hardware,4.50,0.3,yes
HOS-25,Garden hose 25m,garden,34.00,2.5,yes
SEE-03,Tomato seeds,garden,2.20,0.05,no
PAN-28,Frying pan,kitchen,27.50,1.4,yes
KNI-20,Chef knife,kitchen,45.00,0.3,yes
PAP-A4,Copy paper A4,office,5.99,2.5,yes
PEN-12,Gel pens (12),office,8.40,0.2,yes
BLK-50,Building blocks,toys,39.99,1.1,yes
BOK-01,Picture book,toys,12.00,0.4,no
"""

STOCK_CSV = """sku,on_hand,reorder_level
HAM-01,25,5
SCR-10,400,50
HOS-25,3,4
SEE-03,120,20
PAN-28,8,3
KNI-20,2,2
PAP-A4,60,10
PEN-12,0,5
BLK-50,14,3
BOK-01,9,2
"""


@pytest.fixture
def products() -> list[Product]:
    return parse_products(PRODUCTS_CSV)


@pytest.fixture
def catalogue(products: list[Product]) -> dict[str, Product]:
    return {p.sku: p for p in products}


@pytest.fixture
def warehouse(products: list[Product]) -> Warehouse:
    return parse_stock(STOCK_CSV, products)


@pytest.fixture
def customer() -> Customer:
    return Customer(ident="C-100", name="Ada Ltd", tier=Tier.STANDARD, region="EU")


@pytest.fixture
def order(customer: Customer) -> Order:
    o = Order(number="SO-1", customer=customer, placed=date(2024, 3, 14))
    o.add_line(OrderLine("HAM-01", 2, Decimal("19.90")))
    o.add_line(OrderLine("SCR-10", 12, Decimal("4.50")))
    o.add_line(OrderLine("SEE-03", 5, Decimal("2.20")))
    return o
'''

TEST_UTILS = r"""from decimal import Decimal

import pytest

from inventory.utils import (
    chunked,
    clamp,
    format_money,
    pad_table,
    parse_money,
    percent,
    round_money,
    slugify,
    unique,
)


def test_round_money_half_up() -> None:
    assert round_money(Decimal("2.675")) == Decimal("2.68")
    assert round_money(Decimal("-2.675")) == Decimal("-2.68")


def test_format_money_groups_thousands() -> None:
    assert format_money(Decimal("1234567.5")) == "1,234,567.50 EUR"
    assert format_money(Decimal("-12"), "USD") == "-12.00 USD"


def test_parse_money_round_trip() -> None:
    for text in ("0.00 EUR", "1,234.50 EUR", "99.99 USD"):
        assert format_money(parse_money(text), text[-3:]) == text


def test_parse_money_rejects_words() -> None:
    with pytest.raises(ValueError, match="not an amount"):
        parse_money("twelve")


def test_slugify() -> None:
    assert slugify("  Garden hose, 25m!") == "garden-hose-25m"


def test_clamp() -> None:
    assert [clamp(v, 0, 10) for v in (-5, 5, 15)] == [0, 5, 10]
    with pytest.raises(ValueError):
        clamp(1, 5, 0)


def test_chunked_and_unique() -> None:
    assert list(chunked([1, 2, 3, 4, 5], 2)) == [[1, 2], [3, 4], [5]]
    assert unique(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]


def test_percent_and_table() -> None:
    assert percent(Decimal("1"), Decimal("3")) == Decimal("33.3")
    assert percent(Decimal("1"), Decimal("0")) == Decimal("0")
    assert pad_table([["a", "bbb"], ["cc", "d"]]) == ["a   bbb", "cc  d"]
"""

TEST_MODELS = r"""from datetime import date
from decimal import Decimal

import pytest

from inventory.models import Category, Customer, Order, OrderLine, Product, StockItem, Tier


def test_category_from_label() -> None:
    assert Category.from_label(" Garden ") is Category.GARDEN
    with pytest.raises(ValueError, match="unknown category"):
        Category.from_label("food")


def test_tier_rank_orders_tiers() -> None:
    assert sorted(Tier, key=lambda t: t.rank) == [Tier.STANDARD, Tier.SILVER, Tier.GOLD]


def test_product_validates_price() -> None:
    with pytest.raises(ValueError, match="price"):
        Product("X-1", "Broken", Category.TOYS, Decimal("-1"))
    assert Product("X-2", "Ball", Category.TOYS, Decimal("3")).label == "X-2 Ball"


def test_stock_item_available_and_reorder(products: list[Product]) -> None:
    item = StockItem(products[0], on_hand=10, reserved=4, reorder_level=6)
    assert item.available == 6
    assert item.needs_reorder


def test_order_line_needs_positive_quantity() -> None:
    with pytest.raises(ValueError, match="quantity"):
        OrderLine("HAM-01", 0, Decimal("1"))


def test_order_units_and_skus(customer: Customer) -> None:
    order = Order("SO-9", customer, date(2024, 1, 2))
    order.add_line(OrderLine("B", 2, Decimal("1")))
    order.add_line(OrderLine("A", 3, Decimal("1")))
    order.add_line(OrderLine("B", 1, Decimal("1")))
    assert order.units == 6
    assert order.skus() == ["A", "B"]
    assert order.quantity_of("B") == 3
"""

TEST_PARSING = r"""from decimal import Decimal

import pytest

from inventory.models import Category, Customer, Product, Tier, Warehouse
from inventory.parsing import ParseError, parse_customer, parse_order, parse_products, parse_stock


def test_parse_products(products: list[Product]) -> None:
    assert len(products) == 10
    seeds = next(p for p in products if p.sku == "SEE-03")
    assert seeds.category is Category.GARDEN
    assert seeds.price == Decimal("2.20")
    assert not seeds.taxable


def test_parse_products_rejects_duplicates() -> None:
    text = "sku,name,category,price,weight_kg,taxable\na,A,toys,1,0,yes\nA,B,toys,2,0,yes\n"
    with pytest.raises(ParseError, match="line 3: duplicate SKU A"):
        parse_products(text)


def test_parse_products_reports_missing_columns() -> None:
    with pytest.raises(ParseError, match="missing columns: weight_kg, taxable"):
        parse_products("sku,name,category,price\nA,B,toys,1\n")


def test_parse_stock(warehouse: Warehouse) -> None:
    assert warehouse.get("SCR-10").on_hand == 400
    assert warehouse.total_units() == 641


def test_parse_stock_unknown_sku(products: list[Product]) -> None:
    with pytest.raises(ParseError, match="unknown SKU NOPE"):
        parse_stock("sku,on_hand,reorder_level\nnope,1,1\n", products)


def test_parse_customer() -> None:
    c = parse_customer("C-7; Bo Inc ; Gold ; us ; no")
    assert c == Customer("C-7", "Bo Inc", Tier.GOLD, "US", False)
    with pytest.raises(ParseError, match="unknown tier"):
        parse_customer("C-7;Bo;platinum;US;no")


def test_parse_order(customer: Customer, catalogue: dict[str, Product]) -> None:
    text = (
        "number,date,sku,quantity,coupon\n"
        "SO-5,2024-05-01,ham-01,2,SPRING5\n"
        "SO-5,2024-05-01,PEN-12,3,\n"
    )
    order = parse_order(text, customer, catalogue)
    assert order.coupon == "SPRING5"
    assert [(line.sku, line.quantity) for line in order.lines] == [("HAM-01", 2), ("PEN-12", 3)]


def test_parse_order_rejects_mixed_numbers(
    customer: Customer, catalogue: dict[str, Product]
) -> None:
    text = "number,date,sku,quantity\nSO-5,2024-05-01,HAM-01,2\nSO-6,2024-05-01,PEN-12,3\n"
    with pytest.raises(ParseError, match="line 3: mixed order numbers"):
        parse_order(text, customer, catalogue)
"""

TEST_STOCK = r"""from datetime import date

import pytest

from inventory.models import Order, Warehouse
from inventory.stock import (
    Ledger,
    StockError,
    reorder_suggestions,
    reserve,
    restock,
    ship,
    transfer,
)

DAY = date(2024, 3, 15)


def test_reserve_then_ship(warehouse: Warehouse, order: Order) -> None:
    ledger = Ledger()
    reserve(warehouse, order, ledger)
    assert warehouse.get("HAM-01").available == 23
    ship(warehouse, order, ledger, DAY)
    assert warehouse.get("HAM-01").on_hand == 23
    assert warehouse.get("HAM-01").reserved == 0
    assert ledger.net_change("SCR-10") == -12


def test_reserve_is_all_or_nothing(warehouse: Warehouse, order: Order) -> None:
    warehouse.get("SEE-03").reserved = 118
    with pytest.raises(StockError, match="not enough stock of SEE-03"):
        reserve(warehouse, order, Ledger())
    assert warehouse.get("HAM-01").reserved == 0


def test_ship_needs_reservation(warehouse: Warehouse, order: Order) -> None:
    with pytest.raises(StockError, match="reserved"):
        ship(warehouse, order, Ledger(), DAY)


def test_restock(warehouse: Warehouse) -> None:
    ledger = Ledger()
    assert restock(warehouse, "PEN-12", 20, ledger, DAY) == 20
    with pytest.raises(StockError):
        restock(warehouse, "PEN-12", 0, ledger, DAY)
    assert ledger.net_change("PEN-12") == 20


def test_transfer_creates_item(warehouse: Warehouse) -> None:
    other = Warehouse("EAST", "East depot")
    ledger = Ledger()
    transfer(warehouse, other, "PAP-A4", 15, ledger, DAY)
    assert warehouse.get("PAP-A4").on_hand == 45
    assert other.get("PAP-A4").on_hand == 15
    assert [m.kind for m in ledger.for_sku("PAP-A4")] == ["transfer-out", "transfer-in"]


def test_transfer_checks_availability(warehouse: Warehouse) -> None:
    with pytest.raises(StockError, match="3 available"):
        transfer(warehouse, Warehouse("EAST", "East"), "HOS-25", 5, Ledger(), DAY)
    with pytest.raises(StockError, match="same warehouse"):
        transfer(warehouse, warehouse, "HOS-25", 1, Ledger(), DAY)


def test_reorder_suggestions(warehouse: Warehouse) -> None:
    assert reorder_suggestions(warehouse) == [("HOS-25", 5), ("KNI-20", 2), ("PEN-12", 10)]
"""

TEST_PRICING = r"""from datetime import date
from decimal import Decimal

import pytest

from inventory.models import Customer, Order, OrderLine, Product, Tier
from inventory.pricing import (
    PricingError,
    affordable_quantity,
    bulk_discount,
    coupon_discount,
    line_total,
    price_table,
    quote,
    shipping_cost,
    subtotal,
    tax_rate,
    tier_discount,
)


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        (0, "0.00"),
        (9, "0.00"),
        (10, "1.00"),
        (49, "1.00"),
        (50, "2.00"),
        (100, "3.00"),
        (500, "3.00"),
    ],
)
def test_bulk_discount_tiers(quantity: int, expected: str) -> None:
    assert bulk_discount(quantity, Decimal("20.00")) == Decimal(expected)


def test_bulk_discount_rounds_to_cents() -> None:
    assert bulk_discount(10, Decimal("0.99")) == Decimal("0.05")
    assert bulk_discount(100, Decimal("4.50")) == Decimal("0.68")


def test_bulk_discount_rejects_negative_quantity() -> None:
    with pytest.raises(PricingError, match="negative"):
        bulk_discount(-1, Decimal("1.00"))


def test_line_total_applies_bulk_discount() -> None:
    assert line_total(OrderLine("SCR-10", 100, Decimal("4.50"))) == Decimal("382.00")
    assert line_total(OrderLine("HAM-01", 2, Decimal("19.90"))) == Decimal("39.80")


def test_subtotal(order: Order) -> None:
    # 2 x 19.90 + 12 x (4.50 - 0.23) + 5 x 2.20
    assert subtotal(order) == Decimal("102.04")


def test_tier_and_coupon_discounts(customer: Customer) -> None:
    gold = Customer("C-2", "Gold Co", Tier.GOLD)
    assert tier_discount(customer, Decimal("100")) == Decimal("0.00")
    assert tier_discount(gold, Decimal("100")) == Decimal("6.00")
    assert coupon_discount(None, Decimal("100")) == Decimal("0.00")
    assert coupon_discount(" welcome10 ", Decimal("80")) == Decimal("8.00")
    with pytest.raises(PricingError, match="unknown coupon"):
        coupon_discount("FREE", Decimal("1"))


def test_shipping(order: Order, catalogue: dict[str, Product]) -> None:
    assert shipping_cost(order, catalogue, Decimal("150.00")) == Decimal("0.00")
    # 2 x 0.8 + 12 x 0.3 + 5 x 0.05 = 5.45 kg
    assert shipping_cost(order, catalogue, Decimal("100")) == Decimal("6.54")


def test_tax_rate() -> None:
    assert tax_rate(Customer("C", "N", region="CH")) == Decimal("0.081")
    assert tax_rate(Customer("C", "N", tax_exempt=True)) == Decimal("0")
    with pytest.raises(PricingError, match="region XX"):
        tax_rate(Customer("C", "N", region="XX"))


def test_quote(order: Order, catalogue: dict[str, Product]) -> None:
    q = quote(order, catalogue)
    assert (q.subtotal, q.discount, q.shipping) == (
        Decimal("102.04"),
        Decimal("0.00"),
        Decimal("6.54"),
    )
    assert q.tax == Decimal("19.52")
    assert q.total == Decimal("128.10")


def test_quote_empty_order(customer: Customer, catalogue: dict[str, Product]) -> None:
    with pytest.raises(PricingError, match="no lines"):
        quote(Order("SO-0", customer, date(2024, 1, 1)), catalogue)


def test_price_table(catalogue: dict[str, Product]) -> None:
    rows = price_table(catalogue["PAP-A4"], [1, 10, 50])
    assert rows == [(1, Decimal("5.99")), (10, Decimal("56.90")), (50, Decimal("269.50"))]


def test_affordable_quantity() -> None:
    assert affordable_quantity(Decimal("10.00"), Decimal("95.00")) == 10
    assert affordable_quantity(Decimal("10.00"), Decimal("89.99")) == 8
"""

TEST_REPORTS = r"""from datetime import date
from decimal import Decimal

from inventory.models import Category, Customer, Order, OrderLine, Product, Warehouse
from inventory.pricing import quote
from inventory.reports import (
    invoice,
    low_stock,
    revenue_by_month,
    stock_report,
    stock_value,
    top_products,
    value_by_category,
)


def test_stock_value(warehouse: Warehouse) -> None:
    assert stock_value(warehouse) == Decimal("4000.76")
    assert value_by_category(warehouse)[Category.KITCHEN] == Decimal("310.00")


def test_low_stock(warehouse: Warehouse) -> None:
    assert [i.product.sku for i in low_stock(warehouse)] == ["PEN-12", "KNI-20", "HOS-25"]


def test_stock_report_lists_every_sku(warehouse: Warehouse) -> None:
    text = stock_report(warehouse)
    assert text.splitlines()[0].split() == ["SKU", "Name", "On", "hand", "Value", "Share"]
    assert text.endswith("Total: 4,000.76 EUR")
    assert len(text.splitlines()) == 12


def test_invoice_matches_quote(order: Order, catalogue: dict[str, Product]) -> None:
    text = invoice(order, catalogue)
    assert text.startswith("Invoice SO-1 for Ada Ltd (2024-03-14)")
    assert text.endswith(f"Total {quote(order, catalogue).total:,.2f} EUR")
    assert "Discount" not in text


def test_top_products_and_revenue(customer: Customer, catalogue: dict[str, Product]) -> None:
    first = Order("SO-1", customer, date(2024, 3, 1), [OrderLine("PEN-12", 10, Decimal("8.40"))])
    second = Order("SO-2", customer, date(2024, 4, 2), [OrderLine("HAM-01", 3, Decimal("19.90"))])
    third = Order("SO-3", customer, date(2024, 4, 9), [OrderLine("PEN-12", 1, Decimal("8.40"))])
    assert top_products([first, second, third], 2) == [("PEN-12", 11), ("HAM-01", 3)]
    assert revenue_by_month([first, second, third], catalogue) == {
        "2024-03": Decimal("79.80"),
        "2024-04": Decimal("68.10"),
    }
"""


def _bulk(body: str) -> str:
    """A `bulk_discount` with the original signature and docstring and a new body."""
    head = BULK_ORIGINAL.split("\n", 2)
    return f"{head[0]}\n{head[1]}\n{body}"


def _pricing(bulk: str, imports: str = "", extra: str = "") -> str:
    text = PRICING.replace("@@BULK@@\n", bulk + extra)
    if imports:
        text = text.replace(
            "from collections.abc import", imports + "from collections.abc import", 1
        )
    return text


_CHECK_NEGATIVE = """    if quantity < 0:
        raise PricingError(f"quantity must not be negative: {quantity}")
"""

CANDIDATES: dict[str, str] = {
    # Correct: scan the tiers from the top and stop at the first one reached.
    "refactor_reversed": _pricing(
        _bulk(
            _CHECK_NEGATIVE
            + """    for threshold, rate in reversed(BULK_TIERS):
        if quantity >= threshold:
            return round_money(unit_price * rate)
    return round_money(Decimal("0"))
"""
        )
    ),
    # Correct: the largest rate among the tiers reached.
    "refactor_max": _pricing(
        _bulk(
            _CHECK_NEGATIVE
            + """    rate = max(
        (rate for threshold, rate in BULK_TIERS if quantity >= threshold),
        default=Decimal("0"),
    )
    return round_money(unit_price * rate)
"""
        )
    ),
    # Correct: binary search over the thresholds.
    "refactor_bisect": _pricing(
        _bulk(
            _CHECK_NEGATIVE
            + """    thresholds = [threshold for threshold, _ in BULK_TIERS]
    index = bisect_right(thresholds, quantity)
    rate = BULK_TIERS[index - 1][1] if index else Decimal("0")
    return round_money(unit_price * rate)
"""
        ),
        imports="from bisect import bisect_right\n",
    ),
    # mypy: a fast path returns the int 0 where a Decimal is declared.
    "type_error": _pricing(
        _bulk(
            _CHECK_NEGATIVE
            + """    if quantity < BULK_TIERS[0][0]:
        return 0
    rate = Decimal("0")
    for threshold, tier_rate in BULK_TIERS:
        if quantity >= threshold:
            rate = tier_rate
    return round_money(unit_price * rate)
"""
        )
    ),
    # ruff F841: a leftover local that is never read.
    "lint_error": _pricing(
        _bulk(
            _CHECK_NEGATIVE
            + """    rate = Decimal("0")
    reached = 0
    for threshold, tier_rate in BULK_TIERS:
        if quantity >= threshold:
            rate = tier_rate
    return round_money(unit_price * rate)
"""
        )
    ),
    # pytest: `>` instead of `>=`, so a quantity exactly at a threshold gets the lower tier.
    "breaks_test": _pricing(
        _bulk(
            _CHECK_NEGATIVE
            + """    rate = Decimal("0")
    for threshold, tier_rate in BULK_TIERS:
        if quantity > threshold:
            rate = tier_rate
    return round_money(unit_price * rate)
"""
        )
    ),
    # Every tool: the `for` line lost its colon.
    "syntax_error": _pricing(
        _bulk(
            _CHECK_NEGATIVE
            + """    rate = Decimal("0")
    for threshold, tier_rate in reversed(BULK_TIERS)
        if quantity >= threshold:
            rate = tier_rate
            break
    return round_money(unit_price * rate)
"""
        )
    ),
    # bandit B324 (HIGH): memoised under an MD5 key.
    "bandit_issue": _pricing(
        _bulk(
            _CHECK_NEGATIVE
            + """    key = hashlib.md5(f"{quantity}:{unit_price}".encode()).hexdigest()
    if key not in _DISCOUNTS:
        rate = Decimal("0")
        for threshold, tier_rate in BULK_TIERS:
            if quantity >= threshold:
                rate = tier_rate
        _DISCOUNTS[key] = round_money(unit_price * rate)
    return _DISCOUNTS[key]
"""
        ),
        imports="import hashlib\n",
        extra="\n\n_DISCOUNTS: dict[str, Decimal] = {}\n",
    ),
}

EXPECTED_FAILS: dict[str, frozenset[str]] = {
    "refactor_reversed": frozenset(),
    "refactor_max": frozenset(),
    "refactor_bisect": frozenset(),
    "type_error": frozenset({"mypy"}),
    "lint_error": frozenset({"ruff"}),
    "breaks_test": frozenset({"pytest"}),
    # bandit skips a file it cannot parse and still exits 0 or 1 by version: not part of the check.
    "syntax_error": frozenset({"ruff", "mypy", "pytest"}),
    "bandit_issue": frozenset({"bandit"}),
}
IGNORED_IN_CHECK: dict[str, frozenset[str]] = {"syntax_error": frozenset({"bandit"})}

FILES: dict[str, str] = {
    "pyproject.toml": PYPROJECT,
    "inventory/__init__.py": INIT,
    "inventory/models.py": MODELS,
    "inventory/utils.py": UTILS,
    "inventory/parsing.py": PARSING,
    TARGET: _pricing(BULK_ORIGINAL),
    "inventory/stock.py": STOCK,
    "inventory/reports.py": REPORTS,
    "tests/conftest.py": CONFTEST,
    "tests/test_utils.py": TEST_UTILS,
    "tests/test_models.py": TEST_MODELS,
    "tests/test_parsing.py": TEST_PARSING,
    "tests/test_stock.py": TEST_STOCK,
    "tests/test_pricing.py": TEST_PRICING,
    "tests/test_reports.py": TEST_REPORTS,
}


@dataclass(frozen=True)
class Project:
    """A generated project: where it is, the file the candidates replace, and the candidates."""

    root: Path
    target: str
    candidates: dict[str, str]
    expected_fails: dict[str, frozenset[str]]

    @property
    def source_lines(self) -> int:
        return sum(len(text.splitlines()) for text in FILES.values())


def generate(dest: Path) -> Project:
    """Write the project into `dest` (created; must not hold a project already)."""
    dest.mkdir(parents=True, exist_ok=True)
    for rel, text in FILES.items():
        path = dest / rel
        if path.exists():
            raise FileExistsError(f"{path} exists; generate into an empty directory")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Project(dest, TARGET, dict(CANDIDATES), dict(EXPECTED_FAILS))


def self_check(project: Project) -> list[str]:
    """Problems found: the project must be clean, each candidate must fail exactly its tools."""
    problems: list[str] = []
    base = speedlib.naive_check(project.root, project.target, None)
    if base.failed:
        problems.append(f"the project itself fails {', '.join(base.failed)}: {base.detail()}")
    for cid, text in project.candidates.items():
        run = speedlib.naive_check(project.root, project.target, text)
        ignored = IGNORED_IN_CHECK.get(cid, frozenset())
        got = set(run.failed) - ignored
        want = set(project.expected_fails[cid]) - ignored
        if got != want:
            problems.append(
                f"{cid}: fails {sorted(got) or 'nothing'}, expected {sorted(want) or 'nothing'}"
                f" ({run.detail()})"
            )
        print(f"  {cid:<18} fails {', '.join(run.failed) or '-':<22} {run.total_s:6.2f}s")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("dest", nargs="?", type=Path, help="empty directory (default: a temp dir)")
    ap.add_argument("--check", action="store_true", help="verify with the venv's tools")
    args = ap.parse_args(argv)
    tmp = None
    dest = args.dest
    if dest is None:
        tmp = tempfile.mkdtemp(prefix="gauntlet-proj-")
        dest = Path(tmp)
    try:
        project = generate(dest)
        print(f"wrote {len(FILES)} files, {project.source_lines} lines, into {dest}")
        if not args.check:
            return 0
        problems = self_check(project)
        for p in problems:
            print(f"PROBLEM: {p}")
        print("self-check:", "FAILED" if problems else "ok")
        return 1 if problems else 0
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
