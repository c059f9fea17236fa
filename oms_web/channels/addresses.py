"""A channel's address and names as the order keeps them: text trimmed, countries as two-letter codes,
the ship-to dict (name, line1, line2, city, region, postal_code, country [, phone])."""
from __future__ import annotations

from typing import Any

_COUNTRIES = {
    "united states": "US", "united states of america": "US", "usa": "US", "united kingdom": "GB",
    "great britain": "GB", "uk": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "australia": "AU", "canada": "CA", "germany": "DE", "deutschland": "DE", "france": "FR", "italy": "IT",
    "italia": "IT", "spain": "ES", "españa": "ES", "ireland": "IE", "netherlands": "NL", "austria": "AT",
    "belgium": "BE", "switzerland": "CH", "poland": "PL", "sweden": "SE", "new zealand": "NZ", "japan": "JP",
    "mexico": "MX",
}


def country_code(value: Any) -> str | None:
    """A two-letter country code from a code or a country's English name; anything else as written."""
    text = clean(value)
    if text is None:
        return None
    if len(text) == 2 and text.isalpha():
        return text.upper()
    return _COUNTRIES.get(text.lower(), text)


def clean(value: Any, limit: int = 200) -> str | None:
    text = "" if value is None else str(value).strip()
    return text[:limit] or None


def ship_to(*, name: Any = None, line1: Any = None, line2: Any = None, line3: Any = None, city: Any = None,
            region: Any = None, postal_code: Any = None, country: Any = None, phone: Any = None,
            company: Any = None) -> dict[str, Any] | None:
    """The order's ship-to dict (name, line1, line2, city, region, postal_code, country [, phone]) from
    a channel's address parts; a third address line and a company name are folded into line2 and the
    name. None when the channel gave no address at all (Amazon hides it until an order is paid)."""
    extra = ", ".join(part for part in (clean(line2), clean(line3)) if part) or None
    person = clean(name)
    if clean(company) and clean(company) != person:
        person = f"{person}, {clean(company)}" if person else clean(company)
    address = {"name": person, "line1": clean(line1), "line2": extra, "city": clean(city, 100),
               "region": clean(region, 100), "postal_code": clean(postal_code, 20), "country": country_code(country)}
    if not any(address.values()):
        return None
    if clean(phone):
        address["phone"] = clean(phone, 40)
    return address
