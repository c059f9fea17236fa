"""The demo shop's fixed facts: logins, sales channels, an outdoor-gear catalogue, names and places.

Every person, address and phone number here is invented: emails use the reserved example.* domains
and phone numbers the fictional 555-01xx range.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..models import ChannelKind, Role

DEMO_URL = "http://127.0.0.1:5000/"

# Demo-only passwords, printed by seed-demo: never use this data on a reachable server.
DEMO_USERS = [
    ("admin@example.com", "Avery Admin", Role.ADMIN, "admin-demo"),
    ("manager@example.com", "Morgan Manager", Role.MANAGER, "manager-demo"),
    ("staff@example.com", "Sam Staff", Role.STAFF, "staff-demo"),
]

# (name, kind, share of orders)
CHANNELS = [
    ("Phone & email", ChannelKind.MANUAL, 0.10),
    ("Web store", ChannelKind.API, 0.45),
    ("Amazon", ChannelKind.AMAZON, 0.30),
    ("eBay", ChannelKind.EBAY, 0.15),
]
# Each demo channel's shipping defaults: (handling days, default carrier, default service). Amazon's
# orders come with their own ship-by date, and the shop promises its marketplace buyers a quick one.
CHANNEL_SHIPPING = {
    "Phone & email": (3, "UPS", "Ground"),
    "Web store": (2, "UPS", "Ground"),
    "Amazon": (1, "USPS", "Priority Mail"),
    "eBay": (1, "USPS", "Ground Advantage"),
}


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name: str
    price_cents: int
    weight_grams: int
    tax_rate_bp: int | None = None  # None: the shop's default rate
    popularity: float = 1.0
    scarce: bool = False  # restocked rarely and in small batches: orders for it backorder
    consumable: bool = False  # bought several at a time
    bulky: bool = False  # packed on its own: orders with it often ship in two parcels


FOOD_TAX_BP = 500  # reduced rate on food; printed maps carry none

PRODUCTS = [
    DemoProduct("TNT-1P-GRN", "Trailhead 1P Ultralight Tent, Forest Green", 24900, 1150, popularity=1.4, scarce=True),
    DemoProduct("TNT-2P-GRN", "Trailhead 2P Backpacking Tent, Forest Green", 32900, 1690, popularity=1.5),
    DemoProduct("TNT-2P-ORG", "Trailhead 2P Backpacking Tent, Canyon Orange", 32900, 1690),
    DemoProduct("TNT-4P-GRY", "Basecamp 4P Family Tent, Slate Grey", 44900, 5200, popularity=0.6, bulky=True),
    DemoProduct("BAG-DWN-REG", "Summit Down Sleeping Bag -7 °C, Regular", 28900, 980),
    DemoProduct("BAG-DWN-LNG", "Summit Down Sleeping Bag -7 °C, Long", 30900, 1040, popularity=0.7, scarce=True),
    DemoProduct("BAG-SYN-REG", "Valley Synthetic Sleeping Bag 2 °C, Regular", 11900, 1450),
    DemoProduct("PAD-AIR-REG", "Cloudrest Insulated Air Pad, Regular", 14900, 480, popularity=1.3),
    DemoProduct("PAD-FOAM-REG", "Closed-Cell Foam Pad, Regular", 4900, 410),
    DemoProduct("PIL-AIR", "Inflatable Camp Pillow", 2900, 90, popularity=1.2),
    DemoProduct("PCK-28L-BLU", "Ridge 28 L Daypack, Glacier Blue", 8900, 820, popularity=1.3),
    DemoProduct("PCK-45L-GRN", "Ridge 45 L Trekking Pack, Moss", 17900, 1480),
    DemoProduct("PCK-65L-BLK", "Expedition 65 L Pack, Black", 25900, 2100, popularity=0.8, scarce=True),
    DemoProduct("STV-CAN-TI", "Titanium Canister Stove", 5900, 73, popularity=1.5),
    DemoProduct("GAS-230", "Isobutane Fuel Canister 230 g", 699, 380, popularity=3.0, consumable=True),
    DemoProduct("GAS-450", "Isobutane Fuel Canister 450 g", 1099, 650, popularity=1.5, consumable=True),
    DemoProduct("POT-TI-750", "Titanium Pot 750 ml", 4900, 105),
    DemoProduct("MUG-TI-450", "Titanium Mug 450 ml", 2900, 75, popularity=1.2),
    DemoProduct("SPK-TI", "Titanium Spork", 1299, 18, popularity=2.0),
    DemoProduct("FLT-SQZ", "Squeeze Water Filter", 3999, 85, popularity=1.8),
    DemoProduct("BTL-1L-CLR", "Tritan Water Bottle 1 L, Clear", 1599, 180, popularity=1.6),
    DemoProduct("BLD-2L", "Hydration Bladder 2 L", 3499, 190),
    DemoProduct("HLP-400", "Beam 400 Rechargeable Headlamp", 4499, 86, popularity=2.0),
    DemoProduct("BAT-AAA-8", "AAA Lithium Batteries, 8-pack", 1799, 95, popularity=1.5, consumable=True),
    DemoProduct("LAN-SOL", "Solar Camp Lantern", 3299, 240),
    DemoProduct("KNF-FLD-75", "Folding Knife 75 mm", 3999, 110),
    DemoProduct("MTL-TL-18", "18-in-1 Multi-tool", 6999, 240),
    DemoProduct("POL-AL-PR", "Aluminium Trekking Poles (pair)", 6999, 520),
    DemoProduct("POL-CF-PR", "Carbon Trekking Poles (pair)", 13999, 390, popularity=0.8, scarce=True),
    DemoProduct("JKT-RN-M-M", "Stormline Rain Jacket, Men's M", 14900, 380),
    DemoProduct("JKT-RN-M-L", "Stormline Rain Jacket, Men's L", 14900, 395),
    DemoProduct("JKT-RN-W-S", "Stormline Rain Jacket, Women's S", 14900, 340, popularity=0.8, scarce=True),
    DemoProduct("JKT-RN-W-M", "Stormline Rain Jacket, Women's M", 14900, 355),
    DemoProduct("FLC-M-L", "Grid Fleece Pullover, Men's L", 7900, 310),
    DemoProduct("SCK-MER-M", "Merino Hiking Socks, M", 2199, 80, popularity=2.5, consumable=True),
    DemoProduct("SCK-MER-L", "Merino Hiking Socks, L", 2199, 85, popularity=2.0, consumable=True),
    DemoProduct("GLV-LNR-M", "Liner Gloves, M", 2499, 45),
    DemoProduct("HAT-SUN-OS", "Wide-Brim Sun Hat", 3499, 95),
    DemoProduct("HMK-SGL", "Parachute Nylon Hammock, Single", 5999, 480),
    DemoProduct("TRP-3X3", "Silnylon Tarp 3 x 3 m", 8900, 560),
    DemoProduct("CRD-PARA-30", "Paracord 550, 30 m", 1299, 210),
    DemoProduct("CMP-BASE", "Baseplate Compass", 2999, 35),
    DemoProduct("MAP-YOS", "Yosemite Trail Map, waterproof", 1495, 60, tax_rate_bp=0, popularity=0.6),
    DemoProduct("FAK-TRAIL", "Trail First Aid Kit", 3499, 260, popularity=1.4),
    DemoProduct("SPF-50", "Mineral Sunscreen SPF 50, 100 ml", 1499, 120, popularity=1.5),
    DemoProduct("DEET-30", "Insect Repellent 30% DEET, 100 ml", 999, 110, popularity=1.5),
    DemoProduct("TWL-MF-L", "Microfibre Travel Towel, L", 2499, 190),
    DemoProduct("CHR-CMP", "Packable Camp Chair", 9900, 980, popularity=1.2, scarce=True, bulky=True),
    DemoProduct("TBL-CMP", "Roll-Top Camp Table", 8900, 1900, popularity=0.6, bulky=True),
    DemoProduct("CLR-25L", "Hard Cooler 25 L", 17900, 5400, popularity=0.5, bulky=True),
    DemoProduct("DRY-10L", "Roll-Top Dry Bag 10 L", 1999, 110),
    DemoProduct("DRY-20L", "Roll-Top Dry Bag 20 L", 2499, 150),
    DemoProduct("FD-CHILI", "Freeze-Dried Meal, Three-Bean Chili", 1099, 140, tax_rate_bp=FOOD_TAX_BP,
                popularity=2.5, consumable=True),
    DemoProduct("FD-PADTHAI", "Freeze-Dried Meal, Pad Thai", 1199, 150, tax_rate_bp=FOOD_TAX_BP,
                popularity=2.0, consumable=True),
    DemoProduct("BAR-ENR-12", "Energy Bars, Peanut (12-pack)", 2399, 720, tax_rate_bp=FOOD_TAX_BP,
                popularity=1.2, consumable=True),
]

# What marketplaces send for listings that were never mapped to a product: the "needs attention" orders.
UNKNOWN_CHANNEL_SKUS = [
    ("TENT-2P-GREEN-NEW", "Trailhead 2P Tent Green (new listing)", 32900),
    ("B0CX7Q2KLM", "Camp Chair Packable - Black", 9900),
    ("SOCKS-MERINO-3PK", "Merino Hiking Socks 3-Pack", 5999),
    ("HEADLAMP-400-RED", "Beam 400 Headlamp, Red", 4499),
    ("GIFT-WRAP", "Gift wrapping", 499),
]

FIRST_NAMES = [
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Oliver", "Sophia", "Elijah", "Isabella", "James", "Mia", "William",
    "Amelia", "Benjamin", "Harper", "Lucas", "Evelyn", "Henry", "Abigail", "Theodore", "Emily", "Jack", "Ella",
    "Levi", "Elizabeth", "Alexander", "Camila", "Jackson", "Luna", "Mateo", "Sofia", "Daniel", "Avery", "Michael",
    "Mila", "Mason", "Aria", "Sebastian", "Scarlett", "Ethan", "Penelope", "Logan", "Layla", "Owen", "Chloe",
    "Samuel", "Victoria", "Jacob", "Madison", "Asher", "Eleanor", "Aiden", "Grace", "John", "Nora", "Joseph",
    "Riley", "Wyatt", "Zoey", "David", "Hannah", "Leo", "Hazel", "Luke", "Lily", "Julian", "Ellie", "Hudson",
    "Violet", "Grayson", "Lillian", "Matthew", "Zoe", "Ezra", "Stella", "Gabriel", "Aurora", "Carter", "Natalie",
    "Priya", "Arjun", "Mei", "Hiroshi", "Fatima", "Omar", "Chiara", "Lars", "Ingrid", "Kwame", "Amara", "Diego",
]
LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker",
    "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson",
    "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Patel", "Kim", "Chen", "Okafor",
    "Schmidt", "Rossi", "Novak", "Larsen", "Murphy", "O'Brien", "Fischer", "Yamamoto", "Haddad", "Silva",
]
EMAIL_DOMAINS = ["example.com", "example.net", "example.org", "mail.example.com"]

# (city, state, ZIP prefix, phone area code)
CITIES = [
    ("Denver", "CO", "802", "303"), ("Boulder", "CO", "803", "720"), ("Salt Lake City", "UT", "841", "801"),
    ("Seattle", "WA", "981", "206"), ("Spokane", "WA", "992", "509"), ("Portland", "OR", "972", "503"),
    ("Bend", "OR", "977", "541"), ("Boise", "ID", "837", "208"), ("Missoula", "MT", "598", "406"),
    ("Bozeman", "MT", "597", "406"), ("Flagstaff", "AZ", "860", "928"), ("Phoenix", "AZ", "850", "602"),
    ("Albuquerque", "NM", "871", "505"), ("Sacramento", "CA", "958", "916"), ("San Diego", "CA", "921", "619"),
    ("Oakland", "CA", "946", "510"), ("Fresno", "CA", "937", "559"), ("Reno", "NV", "895", "775"),
    ("Austin", "TX", "787", "512"), ("Houston", "TX", "770", "713"), ("Minneapolis", "MN", "554", "612"),
    ("Duluth", "MN", "558", "218"), ("Madison", "WI", "537", "608"), ("Chicago", "IL", "606", "312"),
    ("Springfield", "IL", "627", "217"), ("Ann Arbor", "MI", "481", "734"), ("Asheville", "NC", "288", "828"),
    ("Raleigh", "NC", "276", "919"), ("Chattanooga", "TN", "374", "423"), ("Knoxville", "TN", "379", "865"),
    ("Burlington", "VT", "054", "802"), ("Portland", "ME", "041", "207"), ("Boston", "MA", "021", "617"),
    ("Albany", "NY", "122", "518"), ("Pittsburgh", "PA", "152", "412"), ("Richmond", "VA", "232", "804"),
    ("Atlanta", "GA", "303", "404"), ("Anchorage", "AK", "995", "907"), ("Honolulu", "HI", "968", "808"),
    ("Jackson", "WY", "830", "307"),
]
STREETS = [
    "Maple", "Oak", "Pine", "Cedar", "Aspen", "Willow", "Spruce", "Birch", "Juniper", "Sycamore", "Elm", "Hickory",
    "Lakeview", "Ridge", "Summit", "Canyon", "River", "Meadow", "Forest", "Valley", "Highland", "Park", "Main",
    "Mill", "Church", "Washington", "Lincoln", "Jefferson", "Franklin", "Madison",
]
STREET_KINDS = ["St", "Ave", "Rd", "Dr", "Ln", "Way", "Ct", "Blvd", "Trail"]

SERVICE_LEVELS = [("Standard", 0.80), ("Expedited", 0.15), ("Overnight", 0.05)]
# Carriers by service level, with their share.
CARRIERS = {
    "Standard": [("USPS", 0.50), ("UPS", 0.35), ("FedEx", 0.15)],
    "Expedited": [("UPS", 0.60), ("FedEx", 0.40)],
    "Overnight": [("FedEx", 0.65), ("UPS", 0.35)],
}

VOID_REASONS = [
    "Customer cancelled before dispatch",
    "Payment declined by the card issuer",
    "Duplicate order: customer placed it twice",
    "Address could not be verified; customer did not reply",
    "Fraud check failed",
    "Customer found a cheaper option and cancelled",
]
NOTES = [
    "Customer asked to leave the parcel at the side door.",
    "Called the customer to confirm the apartment number.",
    "Gift order: please leave the prices off the packing slip.",
    "Customer asked whether the tent comes with a footprint. Told them it is sold separately.",
    "Repeat customer, add a sample sachet of the chili meal.",
    "Customer requested delivery after the 15th (travelling).",
    "Checked the box for dents before sealing, as the customer asked.",
    "Customer emailed: please use the billing name on the label.",
    "Marketplace message: buyer asked for the tracking number. Sent it.",
    "Double-checked the size with the customer on the phone.",
]
