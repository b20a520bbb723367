"""seatsync: keeps MSP customers' PSA agreements in step with Microsoft 365."""

__version__ = "0.1.0"
