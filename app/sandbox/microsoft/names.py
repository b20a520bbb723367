"""Word lists the scenario draws realistic-looking tenants and people from."""

from __future__ import annotations

from app.sandbox.microsoft.model import Office

PREFIXES = (
    "Blue", "Maple", "Harbor", "Summit", "Cedar", "Granite", "Silver", "Northwind", "Oak", "Pine", "River",
    "Stone", "Golden", "Iron", "Lakeside", "Bright", "Evergreen", "Copper", "Prairie", "Coastal", "Red",
    "Willow", "Falcon", "Eagle", "Aspen", "Crystal", "Sunrise", "Pioneer", "Liberty", "Heritage", "Fabrikam",
    "Contoso", "Tailspin", "Litware", "Adatum", "Proseware", "Woodgrove", "Alpine", "Meridian", "Keystone",
)
NOUNS = (
    "Ridge", "Valley", "Creek", "Point", "Bridge", "Field", "Park", "Grove", "Hill", "Bay", "Peak", "Rock",
    "Crest", "Gate", "Haven", "Mill", "Forge", "Works", "Lane", "Springs", "Meadow", "Harbour", "Port",
    "Brook", "Shore", "Wood", "Cross", "Square", "Stream", "Hollow",
)
TRADES = (
    "Dental", "Logistics", "Accounting", "Law Group", "Engineering", "Construction", "Medical", "Realty",
    "Consulting", "Insurance", "Architects", "Foods", "Manufacturing", "Marketing", "Veterinary", "Wealth",
    "Partners", "Labs", "Design", "Health", "Legal", "Solutions", "Energy", "Motors", "Capital",
)
#: Legal suffix -> the country-code domain such a company often holds too.
SUFFIXES = (
    ("Inc", ".com"), ("Inc.", ".com"), ("LLC", ".com"), ("Ltd", ".co.uk"), ("Limited", ".co.uk"),
    ("GmbH", ".de"), ("BV", ".nl"), ("B.V.", ".nl"), ("Pty Ltd", ".com.au"), ("Corp.", ".com"), ("", ".com"),
    ("& Co", ".com"), ("and Sons", ".com"),
)

OFFICES = (
    Office(name="Headquarters", city="Chicago", state="IL"), Office(name="Denver Office", city="Denver", state="CO"),
    Office(name="Austin Office", city="Austin", state="TX"), Office(name="Seattle Office", city="Seattle", state="WA"),
    Office(name="Boston Office", city="Boston", state="MA"), Office(name="Atlanta Office", city="Atlanta", state="GA"),
    Office(name="Phoenix Office", city="Phoenix", state="AZ"), Office(name="Miami Office", city="Miami", state="FL"),
    Office(name="Portland Office", city="Portland", state="OR"),
    Office(name="Columbus Office", city="Columbus", state="OH"),
    Office(name="Nashville Office", city="Nashville", state="TN"),
    Office(name="Raleigh Office", city="Raleigh", state="NC"),
    Office(name="Manchester Office", city="Manchester", state="Greater Manchester", country="GB"),
    Office(name="Utrecht Office", city="Utrecht", state="Utrecht", country="NL"),
    Office(name="Munich Office", city="Munich", state="Bavaria", country="DE"),
)
DEPARTMENTS = ("Sales", "Finance", "Operations", "IT", "Human Resources", "Marketing", "Engineering", "Support",
               "Legal", "Management")
TITLES = ("Manager", "Analyst", "Coordinator", "Specialist", "Director", "Associate", "Technician", "Consultant")
GIVEN = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Sandra", "Paul", "Ashley", "Steven",
    "Emily", "Andrew", "Donna", "Joshua", "Michelle", "Kevin", "Carol", "Brian", "Amanda", "Priya", "Wei",
    "Fatima", "Lars", "Sofia", "Mateo", "Aisha", "Noah", "Chloé", "Jürgen",
)
SURNAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker",
    "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Patel", "Chen",
    "O'Brien", "van Dijk", "Müller", "Schmidt", "Kowalski", "Rossi", "Novak", "Larsen",
)
