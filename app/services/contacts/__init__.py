"""Contact sync: a company's Microsoft 365 users kept as its PSA contacts (docs/contacts.md)."""
