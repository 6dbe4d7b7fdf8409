"""Accounts: sign-up, log in, log out, and personal API tokens for the JSON API."""
