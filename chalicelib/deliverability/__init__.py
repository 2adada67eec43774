"""Deliverability: SES's bounce, complaint, delivery and reject events, and the addresses that
no email may go to (bounced or complained) until the address changes or an admin clears it."""
